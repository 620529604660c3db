"""The pages that exist so far: home, log in, log out."""

from django.test import Client


def test_home_lists_enabled_models(tiny_text):
    page = Client().get("/")
    assert page.status_code == 200
    assert b"tiny-text" in page.content


def test_log_in_and_out(alice):
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-pass-123"})
    assert response.status_code == 302
    assert b"Log out alice" in client.get("/").content
    client.post("/accounts/logout/")
    assert b"Log in" in client.get("/").content


def test_a_wrong_password_says_so(alice):
    response = Client().post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"do not match" in response.content
