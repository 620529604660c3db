"""The web process never imports torch, transformers or diffusers: they belong to
the workers, which import them inside runner code."""

import json
import subprocess
import sys

from tests.stack import ROOT

PROBE = """
import json, sys
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns            # every view, schema and router
import genhub.asgi                     # the ASGI app, consumers included
import genhub.jobs, genhub.celery          # what the web process imports to enqueue
print(json.dumps(sorted(m for m in ("torch", "transformers", "diffusers", "genhub.worker") if m in sys.modules)))
"""


def test_loading_the_web_app_imports_no_ml_library():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
