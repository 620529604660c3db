"""The account page: people create, list and revoke their own API keys; a key
may expire and may be limited to some modalities."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from genhub.models import ApiKey

pytestmark = [pytest.mark.unit]


@pytest.fixture
def alice_browser(alice):
    client = Client()
    client.force_login(alice)
    return client


def bearer(key):
    return Client(headers={"Authorization": f"Bearer {key}"})


def shown_key(response):
    match = re.search(r'value="(gh_[^"]+)"', response.content.decode())
    return match.group(1) if match else None


def test_the_account_page_needs_a_login(db):
    response = Client().get("/account/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_nav_links_to_the_account_page(alice_browser):
    page = alice_browser.get("/history/").content.decode()
    assert '<a href="/account/"' in page and ">Account</a>" in page
    own = alice_browser.get("/account/").content.decode()
    assert '<a href="/account/" aria-current="page">Account</a>' in own


def test_a_new_key_is_shown_once_stored_hashed_and_works(alice_browser, alice):
    response = alice_browser.post("/account/", {"name": "laptop"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = shown_key(response)
    row = ApiKey.objects.get(user=alice)
    assert key.startswith(f"gh_{row.prefix}_") and row.name == "laptop"
    assert key not in row.hashed_key
    assert bearer(key).get("/api/v1/jobs").status_code == 200
    # Never again: not on the next page, nor kept in the session.
    again = alice_browser.get("/account/").content.decode()
    assert key not in again and f"gh_{row.prefix}…" in again
    assert key not in str(dict(alice_browser.session))


def test_expiry_and_scopes_are_set_from_the_form(alice_browser, alice):
    alice_browser.post("/account/", {"name": "ci", "expires_in_days": "7", "scopes": ["image"]})
    row = ApiKey.objects.get(user=alice)
    assert row.scopes == ["image"]
    assert timedelta(days=6) < row.expires_at - timezone.now() <= timedelta(days=7)
    page = alice_browser.get("/account/").content.decode()
    assert "image" in page and row.expires_at.strftime("%Y-%m-%d") in page


def test_a_bad_form_makes_no_key(alice_browser, alice):
    response = alice_browser.post("/account/", {"expires_in_days": "0", "scopes": ["nope"]})
    assert response.status_code == 200 and shown_key(response) is None
    assert not ApiKey.objects.filter(user=alice).exists()


def test_the_list_shows_only_ones_own_keys(alice_browser, alice, bob):
    mine, _ = ApiKey.issue(alice, name="alice-laptop")
    theirs, _ = ApiKey.issue(bob, name="bob-server")
    page = alice_browser.get("/account/").content.decode()
    assert "alice-laptop" in page and mine.prefix in page
    assert "bob-server" not in page and theirs.prefix not in page


def test_revoking_a_key_makes_it_401(alice_browser, alice):
    row, key = ApiKey.issue(alice)
    response = alice_browser.post(f"/account/keys/{row.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/account/"
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert bearer(key).get("/api/v1/jobs").status_code == 401
    assert "revoked" in alice_browser.get("/account/").content.decode()


def test_revoke_needs_a_post_with_csrf(alice, bob):
    row, key = ApiKey.issue(alice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get(f"/account/keys/{row.pk}/revoke/").status_code == 405
    assert client.post(f"/account/keys/{row.pk}/revoke/").status_code == 403
    assert bearer(key).get("/api/v1/jobs").status_code == 200


def test_another_users_key_cannot_be_revoked(alice_browser, bob):
    row, key = ApiKey.issue(bob)
    assert alice_browser.post(f"/account/keys/{row.pk}/revoke/").status_code == 404
    row.refresh_from_db()
    assert row.revoked_at is None
    assert bearer(key).get("/api/v1/jobs").status_code == 200


def test_an_expired_key_gets_401(alice):
    row, key = ApiKey.issue(alice, expires_at=timezone.now() + timedelta(hours=1))
    assert bearer(key).get("/api/v1/jobs").status_code == 200
    # Saved, as the admin does: a bare UPDATE counts within the key cache's bound
    # (tests/test_web_tier_costs.py).
    row.expires_at = timezone.now() - timedelta(seconds=1)
    row.save()
    assert bearer(key).get("/api/v1/jobs").status_code == 401


def test_last_use_is_recorded_and_shown(alice_browser, alice):
    row, key = ApiKey.issue(alice)
    assert "never" in alice_browser.get("/account/").content.decode()
    bearer(key).get("/api/v1/jobs")
    row.refresh_from_db()
    assert row.last_used_at is not None
    page = alice_browser.get("/account/").content.decode()
    assert timezone.localtime(row.last_used_at).strftime("%Y-%m-%d %H:%M") in page


def test_a_scoped_key_creates_jobs_of_its_modalities_only(alice, tiny_text):
    _, key = ApiKey.issue(alice, scopes=["text"])
    client = bearer(key)
    text = client.post(
        "/api/v1/text/generations", {"prompt": "hi"}, content_type="application/json"
    )
    assert text.status_code == 202, text.content
    image = client.post(
        "/api/v1/images/generations", {"prompt": "a cat"}, content_type="application/json"
    )
    assert image.status_code == 403
    assert "image" in image.json()["detail"] and "text" in image.json()["detail"]
    # Reading is not limited: the key still lists its jobs.
    assert client.get("/api/v1/jobs").status_code == 200


def test_a_key_for_another_modality_gets_403_naming_it(alice, db):
    _, key = ApiKey.issue(alice, scopes=["image"])
    response = bearer(key).post(
        "/api/v1/text/generations", {"prompt": "hi"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["detail"].startswith("This API key may not create text jobs")
