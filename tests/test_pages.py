"""The pages as the server renders them: home, log in and out, the generation
forms without JavaScript, the job page and the history."""

import html
import json
import re

import pytest
from django.test import Client

from genhub.models import Artifact, Job, JobStatus

pytestmark = [pytest.mark.unit]


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
    assert "Value error" not in page
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


def test_a_missing_prompt_is_named_beside_its_field(alice_browser, tiny_image):
    response = alice_browser.post("/images/", {"prompt": "", "steps": "3"})
    assert response.status_code == 422
    assert 'data-error-for="prompt">The prompt field is required.' in response.content.decode()


def test_the_api_link_stays_in_the_nav_after_login(alice_browser):
    nav = re.search(r"<nav[^>]*>(.*?)</nav>", alice_browser.get("/").content.decode(), re.S)
    assert nav and 'href="/api/v1/docs"' in nav.group(1)


# --- what the pages hand to their scripts: JSON, never a Python repr ------------


def data_attributes(page, name):
    """Every value of the attribute `name` in `page`, unescaped."""
    return [html.unescape(value) for value in re.findall(rf'{name}="([^"]*)"', page)]


def finish(job, **fields):
    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, progress=1.0, **fields)
    return Job.objects.get(pk=job.pk)


def test_gallery_tiles_carry_their_record_as_json(alice_browser, alice, tiny_image):
    from genhub.jobs import submit_job

    job = finish(submit_job(alice, "image", None, {"prompt": "a fox"}))
    record = {"prompt": "a fox", "model": "tiny-image", "steps": 8, "seed": 7, "width": 64}
    Artifact.objects.create(job=job, file="jobs/x/0.png", mime_type="image/png", record=record)
    page = alice_browser.get("/images/").content.decode()
    assert [json.loads(value) for value in data_attributes(page, "data-record")] == [record]


def test_the_model_picker_carries_defaults_as_json_and_size_limits(alice_browser, tiny_image):
    page = alice_browser.get("/images/").content.decode()
    assert [json.loads(value) for value in data_attributes(page, "data-defaults")] == [
        {"steps": 8, "guidance_scale": 5.0}
    ]
    assert [json.loads(value) for value in data_attributes(page, "data-limits")] == [
        {"width": 256, "height": 256}
    ]
    # Picking another model resets a field to the schema's default unless the model has one.
    assert 'value="8" step="1"\n           data-schema-default="30"' in page


def test_size_presets_offer_only_what_the_model_can_make(alice_browser, tiny_image):
    page = alice_browser.get("/images/").content.decode()
    select = re.search(r"<select data-size-preset.*?</select>", page, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "256x256", "custom"]
    assert [512, 512] in json.loads(data_attributes(select, "data-presets")[0])


def test_the_job_page_names_its_modality_metrics_and_seed(alice_browser, alice, tiny_image):
    from genhub.jobs import submit_job

    job = submit_job(alice, "image", None, {"prompt": "a fox", "num_images": 2})
    finish(
        job,
        result={"images": [], "seeds": [1234, 1235], "width": 64, "height": 64},
        metrics={"queue_seconds": 0.5123, "model_cache_hit": False, "seconds_per_image": 1.25},
    )
    page = alice_browser.get(f"/jobs/{job.pk}/").content.decode()
    assert "<h1>Image job</h1>" in page
    assert "<dt>Time in queue</dt><dd>512 ms</dd>" in page
    assert "<dt>Model already loaded</dt><dd>no</dd>" in page
    assert "<dt>Time per image</dt><dd>1.25 s</dd>" in page
    assert "queue_seconds" not in page
    assert "<dt>Seed</dt><dd>1234, 1235 (picked at random)</dd>" in page


def test_the_job_page_shows_a_chat_as_messages_not_a_repr(alice_browser, alice, tiny_text):
    from genhub.jobs import submit_job

    story = "Once upon a time " * 30
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": story}]
    job = submit_job(alice, "text", None, {"messages": messages, "stop": ["THE END"], "seed": 5})
    finish(job, result={"text": "ok", "seed": 5, "finish_reason": "stop"})
    page = alice_browser.get(f"/jobs/{job.pk}/").content.decode()
    assert "<h1>Text job</h1>" in page
    assert '<span class="who">System prompt</span><div class="said">Be brief.</div>' in page
    assert story.strip() in page  # whole, not cut at 200 characters
    assert '<span class="who">Answer</span><div class="said">ok</div>' in page
    assert "<dt>Stop</dt><dd>“THE END”</dd>" in page
    assert "<dt>Seed</dt><dd>5</dd>" in page
    assert "&#x27;role&#x27;" not in page and "{'role'" not in page


def test_the_audio_form_takes_the_models_longest_clip(alice_browser, tiny_audio):
    from genhub.models import AIModel

    AIModel.objects.filter(name="tiny-audio").update(options={"max_duration": 12})
    page = alice_browser.get("/audio/").content.decode()
    limits = [json.loads(value) for value in data_attributes(page, "data-limits")]
    assert {"duration": 12.0} in limits and {"duration": 30.0} in limits
    duration = re.search(r'<input type="number" name="duration"[^>]*>', page, re.S).group(0)
    assert 'data-schema-max="120"' in duration and 'max="12.0"' in duration
