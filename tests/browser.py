"""Real Chromium for page tests: Debian's package, driven by Playwright, against
the live server. `scripts/ensure-chromium` installs it; Playwright's own
browser download is neither used nor needed."""

import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
ROOT = Path(__file__).resolve().parent.parent
# var/ by default, so `make test` leaves the working tree as it was; `make
# screenshots` points this at docs/screenshots/, which the README shows.
SCREENSHOTS = ROOT / os.environ.get("GENHUB_SCREENSHOTS_DIR", "var/screenshots")


class RequestLog:
    """Every request a page makes, to check that none leaves the server."""

    def __init__(self, server_url: str) -> None:
        self.server = urlparse(server_url).netloc
        self.urls: list[str] = []

    def record(self, request: Any) -> None:
        self.urls.append(request.url)

    def foreign(self) -> list[str]:
        return [
            url
            for url in self.urls
            if not url.startswith(("data:", "blob:")) and urlparse(url).netloc != self.server
        ]


def log_in(page: Any, server_url: str, username: str, password: str) -> None:
    page.goto(f"{server_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(f"{server_url}/")
