"""The history gallery and the job page in real Chromium, against the live server
and a real worker with the tiny models: search and filter, delete one job and
many (files gone from the disk), the same without JavaScript, "use these
settings" for each modality, the job page of a chat, and the gallery on a phone."""

import os
from pathlib import Path

import pytest
from django.conf import settings

from tests import test_browser as shared
from tests.browser import DESKTOP, PHONE, log_in
from tests.test_browser import wait_until

# The browser, the worker and a logged-in page, as tests/test_browser.py makes them.
browser, worker, page = shared.browser, shared.worker, shared.page

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def api(page, alice):
    from genhub.models import ApiKey
    from tests.stack import Client

    _, key = ApiKey.issue(alice)
    return Client(page.live, key)


def made(api, kind, **body):
    """A job made through the API and run by the worker to the end."""
    job = getattr(api, f"generate_{kind}")(**body)
    return api.wait(job["id"], {"succeeded"}, timeout=90)


def files_of(job_id):
    from genhub.models import Artifact

    names = [
        name
        for artifact in Artifact.objects.filter(job_id=job_id)
        for name in (artifact.file.name, artifact.thumbnail.name)
        if name
    ]
    return [Path(settings.MEDIA_ROOT) / name for name in names]


def card(page, job_id):
    return page.locator(f".card[data-job='{job_id}']")


def card_prompts(page):
    return page.locator(".card .card-prompt").all_inner_texts()


def test_search_filter_and_delete_one_then_many(page, api):
    from genhub.models import Job

    fox = made(api, "image", prompt="a red fox in snow", steps=2, seed=1, width=64, height=64)
    owl = made(api, "image", prompt="an owl at night", steps=2, seed=2, width=64, height=64)
    haiku = made(api, "text", prompt="A haiku about a fox", max_new_tokens=4, seed=3)
    clip = made(api, "audio", prompt="fox trot drums", duration=1, seed=4)
    page.goto(f"{page.server_url}/history/")
    assert len(card_prompts(page)) == 4
    # Thumbnails, a waveform and an answer load.
    wait_until(page, "document.querySelector('.card.image .thumb img').naturalWidth > 0")
    assert page.locator(f".card[data-job='{clip['id']}'] svg.waveform-svg path").count() == 1
    assert page.locator(f".card[data-job='{clip['id']}'] audio[controls]").count() == 1

    page.fill("input[name=q]", "FOX")
    page.keyboard.press("Enter")
    page.wait_for_url("**/history/?q=FOX**")
    assert sorted(card_prompts(page)) == sorted(
        ["a red fox in snow", "A haiku about a fox", "fox trot drums"]
    )
    page.select_option("select[name=modality]", "image")
    page.click(".filters button[type=submit]")
    page.wait_for_url("**modality=image**")
    assert card_prompts(page) == ["a red fox in snow"]
    assert page.input_value("input[name=q]") == "FOX"  # the search stays

    # Delete one: tick it, confirm in the dialog.
    fox_files = files_of(fox["id"])
    assert fox_files and all(path.exists() for path in fox_files)
    card(page, fox["id"]).locator("input[name=ids]").check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-delete-selected]")
    page.locator(".notices").wait_for()
    assert "Deleted 1 job and its files." in page.inner_text(".notices")
    assert "modality=image" in page.url  # back where it was, filters and all
    assert card_prompts(page) == []
    assert not Job.objects.filter(pk=fox["id"]).exists()
    assert not any(path.exists() for path in fox_files)

    # Delete the rest at once; a dismissed dialog deletes nothing.
    page.goto(f"{page.server_url}/history/")
    page.click("[data-select-all]")
    assert page.locator("input[name=ids]:checked").count() == 3
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("[data-delete-selected]")
    assert Job.objects.count() == 3
    rest = [path for job in (owl, haiku, clip) for path in files_of(job["id"])]
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-delete-selected]")
    page.locator(".notices").wait_for()
    assert "Deleted 3 jobs and their files." in page.inner_text(".notices")
    assert not Job.objects.exists() and not any(path.exists() for path in rest)
    assert "No jobs yet" in page.inner_text("[data-cards]")


def test_without_javascript_delete_asks_on_a_page(browser, live, alice, worker):
    from genhub.models import ApiKey, Job
    from tests.stack import Client

    _, key = ApiKey.issue(alice)
    api = Client(live, key)
    first = made(api, "text", prompt="first question", max_new_tokens=3)
    second = made(api, "text", prompt="second question", max_new_tokens=3)
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    log_in(page, live.url, "alice", "alice-pass-123")
    page.goto(f"{live.url}/history/")
    page.click("[data-select-all]")  # a link: the page comes back with every card ticked
    page.wait_for_url("**select=all**")
    assert page.locator("input[name=ids]:checked").count() == 2
    page.click("[data-delete-selected]")
    page.wait_for_url(f"{live.url}/history/delete/")
    assert page.inner_text("h1") == "Delete 2 jobs?"
    assert Job.objects.count() == 2
    page.click("[data-confirm-delete]")
    page.locator(".notices").wait_for()
    assert "Deleted 2 jobs" in page.inner_text(".notices")
    assert not Job.objects.filter(pk__in=[first["id"], second["id"]]).exists()
    context.close()


def test_use_these_settings_refills_each_modalitys_form(page, api):
    from genhub.models import Job

    image = made(
        api,
        "image",
        prompt="a lighthouse at dusk",
        negative_prompt="fog",
        steps=3,
        guidance_scale=2.5,
        width=64,
        height=96,
    )
    seed = str(image["result"]["seeds"][0])  # picked at random: the form gets the real one
    # The image: from its card in the gallery.
    page.goto(f"{page.server_url}/history/")
    card(page, image["id"]).locator("[data-use-settings]").click()
    page.wait_for_url(f"**/images/?from={image['id']}")
    assert page.input_value("textarea[name=prompt]") == "a lighthouse at dusk"
    assert page.input_value("textarea[name=negative_prompt]") == "fog"
    assert page.input_value("input[name=seed]") == seed
    assert page.input_value("input[name=width]") == "64"
    assert page.input_value("input[name=height]") == "96"
    assert page.input_value("[data-size-preset]") == "custom"
    assert page.input_value("input[name=steps]") == "3"
    assert float(page.input_value("input[name=guidance_scale]")) == 2.5
    assert page.input_value("select[name=model]") == "tiny-image"
    # Sent again as it stands, it makes the same request.
    page.click("button[type=submit]")
    wait_until(page, "document.querySelector('[data-live]').dataset.status == 'succeeded'")
    again = Job.objects.exclude(pk=image["id"]).get()
    assert again.params["seed"] == int(seed) and again.params["height"] == 96

    # The music: from its job page.
    clip = made(api, "audio", prompt="a jazz trio", duration=2, temperature=0.8, seed=3)
    page.goto(f"{page.server_url}/jobs/{clip['id']}/")
    page.click("[data-use-settings]")
    page.wait_for_url(f"**/audio/?from={clip['id']}")
    assert page.input_value("textarea[name=prompt]") == "a jazz trio"
    assert float(page.input_value("input[name=duration]")) == 2
    assert float(page.input_value("input[name=temperature]")) == 0.8
    assert page.input_value("input[name=seed]") == "3"

    # A chat: its system prompt, its last question and its sampling.
    chat = made(
        api,
        "text",
        messages=[
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Name a colour"},
        ],
        max_new_tokens=6,
        temperature=0.3,
        seed=8,
    )
    page.goto(f"{page.server_url}/jobs/{chat['id']}/")
    page.click("[data-use-settings]")
    page.wait_for_url(f"**/text/?from={chat['id']}")
    assert page.input_value("textarea[name=system]") == "Answer in French."
    assert page.input_value("textarea[name=message]") == "Name a colour"
    assert page.input_value("input[name=max_new_tokens]") == "6"
    assert float(page.input_value("input[name=temperature]")) == 0.3
    assert page.input_value("input[name=seed]") == "8"


def test_the_job_page_shows_a_chat_as_a_conversation(page, api):
    chat = made(
        api,
        "text",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello there"},
            {"role": "assistant", "content": "Hi!"},
            {"role": "user", "content": "Name a colour " + "please " * 40},
        ],
        max_new_tokens=6,
    )
    page.goto(f"{page.server_url}/jobs/{chat['id']}/")
    bubbles = page.locator(".chat-log .bubble")
    assert bubbles.count() == 5
    roles = [bubbles.nth(i).get_attribute("data-role") for i in range(5)]
    assert roles == ["system", "user", "assistant", "user", "assistant"]
    labels = page.locator(".chat-log .who").all_inner_texts()
    assert labels == ["System prompt", "User", "Assistant", "User", "Answer"]
    assert page.inner_text(".chat-log .bubble:nth-child(4) .said").strip().endswith("please")
    assert page.inner_text(".bubble.answer .said") == chat["result"]["text"]
    details = page.inner_text("dl.details")
    for label in ("Run time", "Time in queue", "Generation time", "Tokens per second"):
        assert label in details
    assert "queue_seconds" not in page.content() and "tokens_per_second" not in details
    # No seed was asked for: the one picked is shown, not a dash.
    seed = page.inner_text("[data-params] dt:text-is('Seed') + dd")
    assert seed == f"{chat['result']['seed']} (picked at random)"
    # Deleting from the job page asks first, then lands on the history.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-delete-job]")
    page.wait_for_url(f"{page.server_url}/history/")
    assert "Deleted 1 job" in page.inner_text(".notices")


def test_the_gallery_fits_a_phone(browser, live, alice, worker):
    from genhub.models import ApiKey
    from tests.stack import Client

    _, key = ApiKey.issue(alice)
    api = Client(live, key)
    made(api, "image", prompt="a very long prompt " * 12, steps=2, width=64, height=64)
    made(api, "audio", prompt="lo-fi beat", duration=1)
    made(api, "text", prompt="Explain " + "x" * 300, max_new_tokens=4)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    log_in(page, live.url, "alice", "alice-pass-123")
    for path in ("/history/", "/history/?q=zzz&date_from=2020-01-01"):
        page.goto(f"{live.url}{path}")
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide on a phone"
    context.close()
