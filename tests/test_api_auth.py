"""Who may call the API: a valid key or a logged-in browser session."""

import uuid

import pytest
from django.test import Client

from genhub.models import ApiKey


def test_anonymous_requests_get_401(db):
    client = Client()
    assert client.get("/api/v1/jobs").status_code == 401
    assert client.get("/api/v1/models").status_code == 401
    response = client.post(
        "/api/v1/text/generations", {"prompt": "hi"}, content_type="application/json"
    )
    assert response.status_code == 401


def test_a_wrong_or_revoked_key_gets_401(alice):
    row, key = ApiKey.issue(alice)
    assert (
        Client(headers={"Authorization": f"Bearer {key}x"}).get("/api/v1/jobs").status_code == 401
    )
    assert (
        Client(headers={"Authorization": "Bearer gh_nothing"}).get("/api/v1/jobs").status_code
        == 401
    )
    assert Client(headers={"Authorization": f"Bearer {key}"}).get("/api/v1/jobs").status_code == 200
    row.revoked_at = row.created_at
    row.save()
    assert Client(headers={"Authorization": f"Bearer {key}"}).get("/api/v1/jobs").status_code == 401


def test_keys_are_stored_hashed(alice):
    row, key = ApiKey.issue(alice)
    assert key not in row.hashed_key
    assert key.startswith(f"gh_{row.prefix}_")


def test_the_browser_session_works_and_needs_csrf_for_posts(alice, tiny_text):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/v1/jobs").status_code == 200
    response = client.post(
        "/api/v1/text/generations", {"prompt": "hi"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "X-CSRFToken" in response.json()["detail"]
    client.get("/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/text/generations",
        {"prompt": "hi"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 202, response.content


@pytest.mark.parametrize("authorization", [None, "Bearer gh_nothing", "Bearer gh_1234_wrong"])
@pytest.mark.parametrize("path", ["/api/v1/text/generations", "/api/v1/jobs/{id}/cancel"])
def test_a_post_without_a_valid_key_is_401_not_a_csrf_error(authorization, path, tiny_text):
    headers = {"Authorization": authorization} if authorization else {}
    client = Client(enforce_csrf_checks=True, headers=headers)
    response = client.post(
        path.format(id=uuid.uuid4()), {"prompt": "hi"}, content_type="application/json"
    )
    assert response.status_code == 401
    assert "Authorization: Bearer <key>" in response.json()["detail"]
    assert "log in" in response.json()["detail"]
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_valid_key_needs_no_csrf_token(alice, tiny_text):
    _, key = ApiKey.issue(alice)
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {key}"})
    client.force_login(alice)  # a session beside the key does not bring CSRF back
    response = client.post(
        "/api/v1/text/generations", {"prompt": "hi"}, content_type="application/json"
    )
    assert response.status_code == 202, response.content
    job = response.json()
    assert client.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 202


def test_a_wrong_key_does_not_skip_csrf_for_a_logged_in_browser(alice, tiny_text):
    client = Client(enforce_csrf_checks=True, headers={"Authorization": "Bearer gh_nothing"})
    client.force_login(alice)
    response = client.post(
        "/api/v1/text/generations", {"prompt": "hi"}, content_type="application/json"
    )
    assert response.status_code == 403


def test_the_openapi_docs_are_served(db):
    assert Client().get("/api/v1/docs").status_code == 200
    schema = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/text/generations" in schema["paths"]
