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


# --- the generation pages without JavaScript ----------------------------------

import pytest  # noqa: E402

from genhub.models import Job  # noqa: E402


@pytest.fixture
def alice_browser(alice):
    client = Client()
    client.force_login(alice)
    return client


@pytest.mark.parametrize("path", ["/text/", "/images/", "/audio/", "/history/"])
def test_pages_need_a_login(path, db):
    response = Client().get(path)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_each_page_shows_its_form_with_the_schemas_bounds(
    alice_browser, tiny_text, tiny_image, tiny_audio
):
    image = alice_browser.get("/images/").content.decode()
    assert 'name="steps"' in image and 'min="1"' in image and 'max="150"' in image
    assert 'value="8"' in image  # the tiny model's default steps
    assert "Euler a" in image and "tiny-image" in image
    text = alice_browser.get("/text/").content.decode()
    assert 'name="max_new_tokens"' in text and 'max="4096"' in text
    audio = alice_browser.get("/audio/").content.decode()
    assert 'name="duration"' in audio and "mp3" in audio


def test_a_form_without_javascript_submits_and_lands_on_the_job(alice_browser, tiny_image):
    response = alice_browser.post("/images/", {"prompt": "a fox", "steps": "3", "width": ""})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.params["steps"] == 3 and job.modality == "image"
    page = alice_browser.get(response["Location"]).content.decode()
    assert "a fox" in page and "queued" in page
    assert '<meta http-equiv="refresh"' in page  # without JavaScript, it reloads itself


def test_a_chat_form_without_javascript_sends_one_turn(alice_browser, tiny_text):
    alice_browser.post("/text/", {"system": "Be brief.", "message": "Hi", "max_new_tokens": "5"})
    job = Job.objects.get()
    assert job.params["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]


def test_form_errors_are_shown_beside_their_fields(alice_browser, tiny_image):
    response = alice_browser.post("/images/", {"prompt": "a fox", "steps": "0", "width": "65"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'data-error-for="steps">Input should be greater than or equal to 1' in page
    assert "not a multiple of 8" in page
    assert not Job.objects.exists()


def test_history_filters_and_pages(alice_browser, alice, bob, tiny_text, tiny_image):
    from genhub.jobs import submit_job

    for number in range(25):
        submit_job(alice, "text", None, {"prompt": f"question {number}"})
    submit_job(alice, "image", None, {"prompt": "a picture"})
    submit_job(bob, "text", None, {"prompt": "bob's secret"})
    page = alice_browser.get("/history/").content.decode()
    assert "Page 1 of 2" in page and "bob&#x27;s secret" not in page
    images = alice_browser.get("/history/?modality=image").content.decode()
    assert "a picture" in images and "question" not in images


def test_someone_elses_job_page_is_404(alice_browser, bob, tiny_text):
    from genhub.jobs import submit_job

    job = submit_job(bob, "text", None, {"prompt": "private"})
    assert alice_browser.get(f"/jobs/{job.pk}/").status_code == 404
