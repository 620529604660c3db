"""Login throttling: repeated wrong passwords lock that account out from that
address for a while, on the site's login page and on the admin's. Other people,
other addresses and API keys carry on."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from axes.models import AccessAttempt
from django.db.models import F
from django.http import HttpResponse
from django.test import AsyncClient, Client

pytestmark = pytest.mark.unit

LOGIN = "/accounts/login/"
LOCKED_OUT = b"Too many failed logins for this account from your address. Try again in 15 minutes."


def fail(client: Client, username: str, times: int, url: str = LOGIN) -> None:
    for _ in range(times):
        response = client.post(url, {"username": username, "password": "not-the-password"})
        assert response.status_code in (200, 429)


def log_in(client: Client, username: str, url: str = LOGIN) -> int:
    response = client.post(url, {"username": username, "password": f"{username}-pass-123"})
    return response.status_code


def test_four_wrong_passwords_still_let_the_right_one_in(alice):
    client = Client()
    fail(client, "alice", 4)
    assert log_in(client, "alice") == 302


def test_after_five_wrong_passwords_the_right_one_is_refused_and_says_for_how_long(alice):
    client = Client()
    fail(client, "alice", 5)
    response = client.post(LOGIN, {"username": "alice", "password": "alice-pass-123"})
    assert response.status_code == 429
    assert LOCKED_OUT in response.content
    assert b'name="password"' in response.content  # the login form, to try again later
    assert "_auth_user_id" not in client.session


def test_another_user_at_the_same_address_can_still_log_in(alice, bob):
    client = Client()
    fail(client, "alice", 5)
    assert log_in(Client(), "bob") == 302


def test_the_same_user_from_another_address_can_still_log_in(alice):
    fail(Client(REMOTE_ADDR="192.0.2.10"), "alice", 5)
    assert log_in(Client(REMOTE_ADDR="192.0.2.10"), "alice") == 429
    assert log_in(Client(REMOTE_ADDR="192.0.2.20"), "alice") == 302


def test_the_lockout_ends_after_the_cool_off(alice):
    client = Client()
    fail(client, "alice", 5)
    assert log_in(client, "alice") == 429
    # Sixteen minutes pass.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))
    assert log_in(client, "alice") == 302


def test_the_admin_login_is_throttled_too(staff):
    client = Client()
    fail(client, "staff", 5, url="/admin/login/")
    response = client.post("/admin/login/", {"username": "staff", "password": "staff-pass-123"})
    assert response.status_code == 429
    assert LOCKED_OUT in response.content
    # The two login pages count together.
    assert log_in(client, "staff") == 429


def test_api_keys_work_during_a_lockout(alice, alice_api):
    fail(Client(), "alice", 5)
    assert alice_api.get("/api/v1/jobs").status_code == 200


def test_the_test_clients_login_and_force_login_still_work(alice):
    client = Client()
    assert client.login(username="alice", password="alice-pass-123")
    assert b"Log out alice" in client.get("/").content
    other = Client()
    other.force_login(alice)
    assert b"Log out alice" in other.get("/").content


def test_the_lockout_page_comes_from_the_asgi_app_too(alice):
    # Production runs under uvicorn, where axes takes its async path.
    client = AsyncClient()

    async def five_wrong_then_right() -> HttpResponse:
        for _ in range(5):
            await client.post(LOGIN, {"username": "alice", "password": "not-the-password"})
        return await client.post(LOGIN, {"username": "alice", "password": "alice-pass-123"})

    response = async_to_sync(five_wrong_then_right)()
    assert response.status_code == 429
    assert LOCKED_OUT in response.content
