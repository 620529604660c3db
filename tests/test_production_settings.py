"""Running it for real: one switch for HTTPS behind a proxy, a clean
`check --deploy`, secret files only their owner can read, and a
Content-Security-Policy that allows no inline script."""

import json
import os
import re
import secrets
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from genhub import settings as genhub_settings
from genhub.api.schemas import job_links
from genhub.models import Job
from tests.stack import ROOT

pytestmark = pytest.mark.unit

PRODUCTION = {
    "DEBUG": "false",
    "GENHUB_HTTPS": "true",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "genhub.example.org",
}
HTTPS_SETTINGS = [
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
]


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    # A deployment's environment: none of the switches the test session sets
    # for itself (the browser tests allow Django's ORM under Playwright's loop).
    leave_out = {"GENHUB_HTTPS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = {k: v for k, v in os.environ.items() if k not in leave_out}
    return subprocess.run(
        args,
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_with(**env: str) -> dict[str, Any]:
    """The values of HTTPS_SETTINGS that genhub/settings.py reads from this environment."""
    code = (
        "import json, genhub.settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {HTTPS_SETTINGS!r}}}))"
    )
    result = run([sys.executable, "-c", code], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- GENHUB_HTTPS and check --deploy ------------------------------------------


def test_https_is_off_by_default():
    values = settings_with(SECRET_KEY=PRODUCTION["SECRET_KEY"])
    assert not values["SESSION_COOKIE_SECURE"] and not values["CSRF_COOKIE_SECURE"]
    assert not values["SECURE_HSTS_SECONDS"] and values["SECURE_PROXY_SSL_HEADER"] is None


def test_the_https_switch_turns_on_secure_cookies_hsts_and_the_proxy_header():
    assert settings_with(**PRODUCTION) == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_check_deploy_finds_nothing_to_warn_about():
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        **PRODUCTION,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in result.stdout, output
    assert "WARNING" not in output


def test_job_links_are_https_and_wss_behind_the_proxy(settings, rf):
    settings.SECURE_PROXY_SSL_HEADER = tuple(settings_with(**PRODUCTION)["SECURE_PROXY_SSL_HEADER"])
    job = Job(id=uuid.uuid4())
    proxied = {"Host": "testserver", "X-Forwarded-Proto": "https"}  # what the proxy passes on
    links = job_links(job, rf.get("/api/v1/jobs", headers=proxied))
    assert links["self"] == f"https://testserver/api/v1/jobs/{job.id}"
    assert links["events"] == f"wss://testserver/ws/jobs/{job.id}/"
    plain = job_links(job, rf.get("/api/v1/jobs", headers={"Host": "testserver"}))
    assert plain["events"] == f"ws://testserver/ws/jobs/{job.id}/"


# --- files only their owner can read ------------------------------------------


def test_the_generated_secret_key_is_readable_by_its_owner_only(tmp_path, monkeypatch):
    monkeypatch.setattr(genhub_settings, "VAR_DIR", tmp_path)
    key = genhub_settings._default_secret_key()
    assert len(key) >= 50
    assert mode(tmp_path / "secret_key") == 0o600
    assert genhub_settings._default_secret_key() == key  # kept, not made again


def test_an_existing_secret_key_file_is_tightened(tmp_path, monkeypatch):
    monkeypatch.setattr(genhub_settings, "VAR_DIR", tmp_path)
    (tmp_path / "secret_key").write_text("an-old-key-" * 5)
    (tmp_path / "secret_key").chmod(0o644)
    assert genhub_settings._default_secret_key() == "an-old-key-" * 5
    assert mode(tmp_path / "secret_key") == 0o600


@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_the_sqlite_database_is_readable_by_its_owner_only(tmp_path, existing):
    database = tmp_path / "genhub.sqlite3"
    if existing:
        database.touch()
        database.chmod(0o644)
    code = (
        "import django; django.setup(); from django.db import connection; "
        "connection.cursor().execute('CREATE TABLE t (x integer)')"
    )
    result = run(
        [sys.executable, "-c", code],
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SETTINGS_MODULE="genhub.settings",
        SECRET_KEY=PRODUCTION["SECRET_KEY"],
    )
    assert result.returncode == 0, result.stderr
    assert mode(database) == 0o600


# --- Content-Security-Policy ----------------------------------------------------

# A <script> that runs code of its own (no src), other than a JSON data block.
INLINE_SCRIPT = re.compile(
    r"<script\b(?![^>]*\bsrc=)(?![^>]*type=[\"']application/json[\"'])[^>]*>", re.IGNORECASE
)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"javascript:", re.IGNORECASE)


def inline_code(html: str) -> list[str]:
    return [
        m.group(0) for p in (INLINE_SCRIPT, EVENT_HANDLER, JAVASCRIPT_URL) for m in p.finditer(html)
    ]


def test_pages_send_a_content_security_policy(db):
    policy = Client().get("/accounts/login/")["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]


def test_no_template_has_inline_script_or_event_handlers():
    assert len(inline_code('<script>go()</script><a href="#" onclick="go()">')) == 2
    templates = sorted((ROOT / "templates").rglob("*.html"))
    assert templates
    found = {str(t.relative_to(ROOT)): inline_code(t.read_text()) for t in templates}
    assert {path: code for path, code in found.items() if code} == {}


def test_the_api_docs_page_runs_no_inline_script(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    html = response.content.decode()
    assert inline_code(html) == []
    assert re.search(r"<script[^>]*src=", html)  # swagger comes from our own static files
