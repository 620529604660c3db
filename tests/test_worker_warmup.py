"""genhub/worker/warmup.py: what a job process does before its first job."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

PROBE = """
import django
django.setup()
from django.urls import get_resolver
before = get_resolver()._populated
from genhub.worker.warmup import build_url_resolver
build_url_resolver()
print(before, get_resolver()._populated)
"""


def test_the_url_resolver_is_built_before_the_first_job_links_a_file(tmp_path):
    """A fresh process has no resolver tables until something reverses a URL; the
    warm-up builds them, so the first result's links do not."""
    env = {
        "DJANGO_SETTINGS_MODULE": "genhub.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
