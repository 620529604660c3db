"""The header's theme switch without JavaScript: a POST that sets the cookie
base.html reads, and comes back to the page it was sent from."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_picking_dark_renders_every_page_dark_from_the_server():
    browser = Client()
    answer = browser.post("/theme/", {"theme": "dark", "next": "/accounts/login/?next=/"})
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/login/?next=/"
    page = browser.get("/accounts/login/").content.decode()
    assert '<html lang="en" data-theme="dark">' in page
    assert '<meta name="color-scheme" content="dark">' in page
    assert 'aria-label="Dark theme" title="Dark theme" aria-pressed="true"' in page


def test_system_forgets_the_choice():
    browser = Client()
    browser.post("/theme/", {"theme": "light", "next": "/"})
    browser.post("/theme/", {"theme": "system", "next": "/"})
    page = browser.get("/accounts/login/").content.decode()
    assert '<html lang="en">' in page
    assert '<meta name="color-scheme" content="light dark">' in page


def test_a_made_up_theme_or_cookie_is_refused_or_ignored():
    browser = Client()
    answer = browser.post("/theme/", {"theme": "purple"})
    assert answer.status_code == 400
    assert answer.content.decode() == "theme: choose system, light or dark."
    browser.cookies["genhub_theme"] = '"><script>'
    assert '<html lang="en">' in browser.get("/accounts/login/").content.decode()


def test_it_never_sends_you_to_another_site():
    answer = Client().post("/theme/", {"theme": "dark", "next": "https://evil.example/"})
    assert answer["Location"] == "/"
