"""The history gallery as the server renders it (no JavaScript): search and
filters that survive paging, cards with thumbnails, waveforms and answers, a
query count that does not grow with the cards, deleting with a confirmation
page, "use these settings", and downloads named from the prompt."""

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from genhub import artifacts
from genhub.jobs import submit_job
from genhub.models import AIModel, Job, JobStatus
from tests.test_waveform_peaks import wav_bytes

pytestmark = [pytest.mark.unit]


@pytest.fixture
def alice_browser(alice):
    client = Client()
    client.force_login(alice)
    return client


def finish(job, status=JobStatus.SUCCEEDED, **fields):
    Job.objects.filter(pk=job.pk).update(status=status, progress=1.0, **fields)
    return Job.objects.get(pk=job.pk)


def text_job(owner, prompt, answer="", **params):
    job = submit_job(owner, "text", None, {"prompt": prompt, **params})
    return finish(job, result={"text": answer, "seed": 5})


def image_job(owner, prompt, images=1, **params):
    job = submit_job(owner, "image", None, {"prompt": prompt, "num_images": images, **params})
    for index in range(images):
        artifacts.save_output(
            job,
            index,
            b"png",
            mime_type="image/png",
            extension="png",
            thumbnail=b"jpg",
            seed=7 + index,
            width=64,
            height=64,
        )
    seeds = [7 + index for index in range(images)]
    return finish(job, result={"seeds": seeds, "images": [], "width": 64, "height": 64})


def audio_job(owner, prompt, **params):
    job = submit_job(owner, "audio", None, {"prompt": prompt, "duration": 1, **params})
    artifacts.save_output(
        job, 0, wav_bytes([0.5, -0.5] * 400), mime_type="audio/wav", extension="wav", seed=42
    )
    return finish(job, result={"clips": [], "seed": 42})


def cards(page):
    """The prompts of the cards on `page`, in order."""
    found = re.findall(r'<p class="card-prompt"><a href="[^"]+">([^<]*)</a>', page)
    return [html.unescape(prompt) for prompt in found]


def get(client, path, **query):
    response = client.get(path, query)
    return response, response.content.decode()


# --- search and filters ---------------------------------------------------------


def test_search_finds_prompts_and_answers_whatever_the_case(alice_browser, alice, bob, tiny_text):
    text_job(alice, "Tell me about Lighthouses", "They guide ships.")
    text_job(alice, "Name a colour", "Teal, like a LIGHTHOUSE at dusk.")
    text_job(alice, "Something else", "Nothing here.")
    text_job(bob, "bob's lighthouse", "secret")
    _, page = get(alice_browser, "/history/", q="lighthouse")
    assert sorted(cards(page)) == ["Name a colour", "Tell me about Lighthouses"]
    assert "2 jobs found" in page
    _, page = get(alice_browser, "/history/", q="nothing at all matches")
    assert cards(page) == [] and "No jobs match these filters." in page
    response, page = get(alice_browser, "/history/", q="nul\x00")
    assert response.status_code == 400 and "Null characters are not allowed." in page


def test_filters_by_kind_status_model_and_dates(alice_browser, alice, tiny_text, tiny_image):
    old = text_job(alice, "an old question", "ok")
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    text_job(alice, "a new question", "ok")
    finish(submit_job(alice, "text", None, {"prompt": "it broke"}), JobStatus.FAILED)
    image_job(alice, "a picture")
    other = AIModel.objects.create(
        name="other-text", modality="text", source_type="local", source="/x"
    )
    elsewhere = text_job(alice, "asked elsewhere", "ok")
    Job.objects.filter(pk=elsewhere.pk).update(model=other)

    assert cards(get(alice_browser, "/history/", modality="image")[1]) == ["a picture"]
    assert cards(get(alice_browser, "/history/", status="failed")[1]) == ["it broke"]
    assert cards(get(alice_browser, "/history/", model="other-text")[1]) == ["asked elsewhere"]
    week_ago = (timezone.now() - timedelta(days=7)).date().isoformat()
    recent = cards(get(alice_browser, "/history/", modality="text", date_from=week_ago)[1])
    assert "an old question" not in recent and "a new question" in recent
    older = cards(get(alice_browser, "/history/", date_to=week_ago)[1])
    assert older == ["an old question"]
    # The form shows what it filters by.
    _, page = get(alice_browser, "/history/", modality="image", status="succeeded")
    assert (
        '<option value="image" selected>' in page and '<option value="succeeded" selected>' in page
    )
    assert '<option value="other-text">other-text</option>' in page  # the models alice used


def test_a_bad_filter_is_400_naming_it_and_the_rest_still_apply(alice_browser, alice, tiny_text):
    text_job(alice, "a question", "ok")
    response, page = get(alice_browser, "/history/", date_from="2026-13-45", q="question")
    assert response.status_code == 400
    assert 'data-error-for="date_from">Enter a valid date.' in page
    assert cards(page) == ["a question"]
    response, page = get(alice_browser, "/history/", date_from="2026-05-02", date_to="2026-05-01")
    assert response.status_code == 400 and "before the “From” date" in html.unescape(page)
    response, page = get(alice_browser, "/history/", status="exploded", modality="sound")
    assert response.status_code == 400 and "Select a valid choice" in page


def test_the_filters_survive_paging(alice_browser, alice, tiny_text):
    for number in range(30):
        text_job(alice, f"question {number}", "ok")
    text_job(alice, "unrelated", "ok")
    _, page = get(alice_browser, "/history/", q="question", status="succeeded")
    assert "Page 1 of 2" in page and len(cards(page)) == 24
    older = re.search(r'<a href="\?([^"]+)" rel="next">', page).group(1)
    assert html.unescape(older) == "q=question&status=succeeded&page=2"
    _, second = get(alice_browser, f"/history/?{html.unescape(older)}")
    assert len(cards(second)) == 6 and "unrelated" not in second
    assert 'value="question"' in second  # the search box still says what it searched


def test_the_gallery_does_not_query_per_card(
    alice_browser, alice, tiny_text, tiny_image, tiny_audio
):
    def queries():
        alice_browser.get("/history/")  # the peaks of new clips are made (and kept) once
        with CaptureQueriesContext(connection) as captured:
            assert alice_browser.get("/history/").status_code == 200
        return len(captured)

    submit_job(alice, "text", None, {"prompt": "waiting"})  # a queued card, with its ETA
    text_job(alice, "q", "a")
    image_job(alice, "i", images=2)
    audio_job(alice, "a")
    few = queries()
    for number in range(5):
        text_job(alice, f"q{number}", "a")
        image_job(alice, f"i{number}", images=3)
        audio_job(alice, f"a{number}")
    assert queries() == few, "each card costs queries of its own"


# --- the cards --------------------------------------------------------------------


def test_cards_show_thumbnails_waveforms_and_answers(
    alice_browser, alice, tiny_text, tiny_image, tiny_audio
):
    text = text_job(alice, "Write a haiku", "Silicon dreaming\nfans hum\nthe night is warm")
    image = image_job(alice, "A lighthouse at dusk", images=2)
    audio = audio_job(alice, "A jazz trio")
    queued = submit_job(alice, "text", None, {"prompt": "still waiting"})
    _, page = get(alice_browser, "/history/")
    thumbnail = image.artifacts.get(index=0)
    assert f'src="/api/v1/artifacts/{thumbnail.pk}/thumbnail"' in page  # small, not the PNG
    assert '<span class="more">+1</span>' in page
    assert '<svg class="waveform-svg"' in page and "<audio controls" in page
    assert "Silicon dreaming\nfans hum" in page
    # Downloads named from the prompt and seed.
    assert 'download="a-lighthouse-at-dusk-7-1.png"' in page
    assert 'download="a-lighthouse-at-dusk-8-2.png"' in page
    assert 'download="a-jazz-trio-42.wav"' in page
    assert 'download="write-a-haiku-5-answer.txt"' in page
    # Only ended jobs can be picked for deleting; a queued one says when it should run.
    assert f'name="ids" value="{text.pk}"' in page and f'name="ids" value="{queued.pk}"' not in page
    card = re.search(rf'<li class="card text" data-job="{queued.pk}".*?</li>', page, re.S).group(0)
    assert '<span class="eta" data-eta data-eta-status="queued"' in card
    # "Use these settings" on each card, to its modality's page.
    for job, path in ((text, "/text/"), (image, "/images/"), (audio, "/audio/")):
        assert f'href="{path}?from={job.pk}" data-use-settings' in page


def test_select_all_without_javascript_ticks_every_ended_card(alice_browser, alice, tiny_text):
    text_job(alice, "one", "a")
    text_job(alice, "two", "b")
    _, page = get(alice_browser, "/history/", q="o", select="all")
    assert page.count('name="ids"') == 2 and page.count(" checked>") == 2
    select_all = re.search(r'href="([^"]+)" data-select-all', page).group(1)
    assert html.unescape(select_all) == "?q=o&page=1&select=all"


# --- deleting without JavaScript --------------------------------------------------


def test_delete_asks_on_a_page_then_deletes_and_says_so(
    alice_browser, alice, bob, tiny_image, django_capture_on_commit_callbacks
):
    mine = [image_job(alice, "first"), image_job(alice, "second")]
    running = submit_job(alice, "image", None, {"prompt": "going"})
    finish(running, JobStatus.RUNNING)
    bobs = image_job(bob, "bob's own")
    files = [Path(settings.MEDIA_ROOT) / a.file.name for job in mine for a in job.artifacts.all()]
    ids = [str(job.pk) for job in [*mine, running, bobs]] + ["not-an-id"]

    asked = alice_browser.post("/history/delete/", {"ids": ids, "next": "/history/?q=s"})
    page = asked.content.decode()
    assert asked.status_code == 200 and "Delete 3 jobs?" in page
    assert "first" in page and "still running: cancel it first" in page and "bob" not in page
    assert Job.objects.count() == 4  # nothing deleted yet

    with django_capture_on_commit_callbacks(execute=True):
        done = alice_browser.post(
            "/history/delete/", {"ids": ids, "next": "/history/?q=s", "confirm": "yes"}
        )
    assert done.status_code == 302 and done["Location"] == "/history/?q=s"
    shown = alice_browser.get(done["Location"]).content.decode()
    assert "Deleted 2 jobs and their files." in shown
    assert "1 job not deleted: still queued or running." in shown
    assert set(Job.objects.values_list("prompt", flat=True)) == {"going", "bob's own"}
    assert not any(path.exists() for path in files)


def test_delete_goes_back_only_to_this_site(alice_browser, alice, tiny_text):
    job = text_job(alice, "x", "y")
    nothing = alice_browser.post("/history/delete/", {"next": "/history/"})
    assert nothing["Location"] == "/history/"
    away = alice_browser.post(
        "/history/delete/", {"ids": [job.pk], "confirm": "yes", "next": "https://evil.example/"}
    )
    assert away["Location"] == "/history/"
    assert alice_browser.get("/history/delete/").status_code == 405


def test_the_job_page_deletes_its_job_for_its_owner_only(alice_browser, alice, operator, tiny_text):
    job = text_job(alice, "delete me", "ok")
    page = alice_browser.get(f"/jobs/{job.pk}/").content.decode()
    assert 'action="/history/delete/"' in page and "data-delete-job>Delete</button>" in page
    operators = Client()
    operators.force_login(operator)
    assert "data-delete-job" not in operators.get(f"/jobs/{job.pk}/").content.decode()
    gone = alice_browser.post(
        "/history/delete/", {"ids": [job.pk], "confirm": "yes", "next": f"/jobs/{job.pk}/"}
    )
    assert gone["Location"] == "/history/"  # its own page is gone
    assert alice_browser.get(f"/jobs/{job.pk}/").status_code == 404


# --- use these settings ------------------------------------------------------------


def field_value(page, name):
    tag = re.search(rf'<(?:input|textarea)[^>]*name="{name}"[^>]*>', page).group(0)
    if tag.startswith("<textarea"):
        return html.unescape(
            re.search(rf'name="{name}"[^>]*>(.*?)</textarea>', page, re.S).group(1)
        )
    found = re.search(r'value="([^"]*)"', tag)
    return html.unescape(found.group(1)) if found else None


def selected(page, name):
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
    chosen = re.search(r'<option value="([^"]*)" [^>]*selected', select)
    return chosen.group(1) if chosen else ""


def test_use_these_settings_fills_the_image_form(alice_browser, alice, bob, tiny_image):
    job = image_job(
        alice, "a lighthouse", negative_prompt="fog", steps=12, guidance_scale=3.5, scheduler="DDIM"
    )
    _, page = get(alice_browser, "/images/", **{"from": str(job.pk)})
    assert field_value(page, "prompt") == "a lighthouse"
    assert field_value(page, "negative_prompt") == "fog"
    assert field_value(page, "steps") == "12" and field_value(page, "guidance_scale") == "3.5"
    assert field_value(page, "seed") == "7"  # the seed it used, not "random"
    assert field_value(page, "width") == "64" and field_value(page, "height") == "64"
    assert selected(page, "scheduler") == "DDIM" and selected(page, "model") == "tiny-image"
    assert f'data-reused-from="{job.pk}"' in page
    # Someone else's job, or a bad id, opens the page as usual.
    theirs = image_job(bob, "bob's secret")
    for wanted in (str(theirs.pk), "nonsense", str(job.pk).replace("-", "")[:-1]):
        response, page = get(alice_browser, "/images/", **{"from": wanted})
        assert response.status_code == 200 and field_value(page, "prompt") == ""
        assert "bob" not in page


def test_use_these_settings_fills_the_audio_and_the_chat_forms(
    alice_browser, alice, tiny_audio, tiny_text
):
    clip = audio_job(alice, "a jazz trio", temperature=0.9, format="wav")
    _, page = get(alice_browser, "/audio/", **{"from": str(clip.pk)})
    assert field_value(page, "prompt") == "a jazz trio"
    assert field_value(page, "duration") == "1.0" and field_value(page, "temperature") == "0.9"
    assert field_value(page, "seed") == "42"
    chat = submit_job(
        alice,
        "text",
        None,
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"},
                {"role": "user", "content": "Name a colour"},
            ],
            "max_new_tokens": 33,
            "temperature": 0.2,
        },
    )
    finish(chat, result={"text": "Teal", "seed": 99})
    _, page = get(alice_browser, "/text/", **{"from": str(chat.pk)})
    assert field_value(page, "system") == "Be brief."
    assert field_value(page, "message") == "Name a colour"
    assert field_value(page, "max_new_tokens") == "33" and field_value(page, "temperature") == "0.2"
    assert field_value(page, "seed") == "99"
    # A job of another modality does not fill a page.
    _, page = get(alice_browser, "/audio/", **{"from": str(chat.pk)})
    assert field_value(page, "prompt") == ""


# --- the job page -----------------------------------------------------------------


def test_a_text_answer_downloads_as_a_named_file(alice_browser, alice, bob, tiny_text, tiny_image):
    job = text_job(alice, "Write a haiku about GPUs", "Fans hum all night")
    response = alice_browser.get(f"/jobs/{job.pk}/answer.txt")
    assert response.status_code == 200 and response.content == b"Fans hum all night"
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="write-a-haiku-about-gpus-5-answer.txt"; '
        "filename*=UTF-8''write-a-haiku-about-gpus-5-answer.txt"
    )
    page = alice_browser.get(f"/jobs/{job.pk}/").content.decode()
    assert 'download="write-a-haiku-about-gpus-5-answer.txt"' in page
    bobs = Client()
    bobs.force_login(bob)
    assert bobs.get(f"/jobs/{job.pk}/answer.txt").status_code == 404
    image = submit_job(alice, "image", None, {"prompt": "x"})
    assert alice_browser.get(f"/jobs/{image.pk}/answer.txt").status_code == 404


def test_the_job_page_names_metrics_and_never_shows_a_repr(alice_browser, alice, tiny_text):
    job = submit_job(alice, "text", None, {"prompt": "hi", "stop": ["END", "STOP"]})
    now = timezone.now()
    finish(
        job,
        result={"text": "hello", "seed": 3, "usage": {"prompt_tokens": 4, "completion_tokens": 9}},
        metrics={
            "queue_seconds": 75.4,
            "first_text_seconds": 0.25,
            "generate_seconds": 2.5,
            "tokens_per_second": 3.6,
            "something_new": [1, 2],
        },
        started_at=now - timedelta(seconds=3),
        finished_at=now,
    )
    page = alice_browser.get(f"/jobs/{job.pk}/").content.decode()
    for shown in (
        "<dt>Run time</dt><dd>3.00 s</dd>",
        "<dt>Time in queue</dt><dd>1 min 15 s</dd>",
        "<dt>Time to first token</dt><dd>250 ms</dd>",
        "<dt>Generation time</dt><dd>2.50 s</dd>",
        "<dt>Tokens per second</dt><dd>3.6</dd>",
        "<dt>Tokens made</dt><dd>9</dd>",
        "<dt>Something new</dt><dd>[1, 2]</dd>",
        "<dt>Stop</dt><dd>“END”, “STOP”</dd>",
        "<dt>Seed</dt><dd>3 (picked at random)</dd>",
    ):
        assert shown in page, shown
    assert "_seconds" not in page.split("<h2>Details</h2>")[1]
    assert "{'" not in page and "['" not in page


def test_steps_per_second_for_an_image(alice_browser, alice, tiny_image):
    job = image_job(alice, "a fox", steps=20)
    finish(job, metrics={"generate_seconds": 4.0, "seconds_per_image": 4.0, "save_seconds": 0.004})
    page = alice_browser.get(f"/jobs/{job.pk}/").content.decode()
    assert "<dt>Steps per second</dt><dd>5.00</dd>" in page
    assert "<dt>Saving the files</dt><dd>4 ms</dd>" in page
    assert 'download="a-fox-7.png"' in page
