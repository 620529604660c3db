"""The small things people expect, in real Chromium against the live server and a
real worker: when a waiting or running job should be done (and the words
counting down), a name for every control on every page, the labelled progress
bar and its polite announcements, the theme switch (kept across pages and
reloads, rendered by the server so nothing flashes) and Ctrl+Enter."""

import os
import re
import time
from datetime import timedelta

import pytest

from tests import test_browser as shared
from tests.browser import DESKTOP, log_in
from tests.test_browser import open_settings, sample_until, wait_until
from tests.test_eta_words import CASES

# The browser, the worker and a logged-in page, as tests/test_browser.py makes them.
browser, worker, page = shared.browser, shared.worker, shared.page

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

GUESS = "(a guess from the model's recent run times)"
LIGHTHOUSE = "a lighthouse at dusk over a calm grey sea, oil on canvas"
# Roles a person operates: each needs a name a screen reader can say.
CONTROLS = {
    "button",
    "link",
    "textbox",
    "searchbox",
    "combobox",
    "listbox",
    "checkbox",
    "radio",
    "spinbutton",
    "slider",
    "switch",
    "progressbar",
    "menuitem",
    "tab",
}


def waiting_rows(owner, model, run_seconds):
    """A job of `model` running on the queue's (idle) real worker by the rows'
    account and one queued behind it, with one past run that took
    `run_seconds`: the ETA is a guess from that run. Rows only, no message on
    the broker, so the real worker never takes them."""
    from django.utils import timezone

    from genhub.models import Job, JobStatus

    params = {"prompt": "past", "steps": 4, "width": 64, "height": 64}
    end = timezone.now() - timedelta(hours=1)
    Job.objects.create(
        owner=owner,
        modality=model.modality,
        model=model,
        prompt="past",
        params=params,
        status=JobStatus.SUCCEEDED,
        started_at=end - timedelta(seconds=run_seconds),
        finished_at=end,
    )
    running = Job.objects.create(
        owner=owner,
        modality=model.modality,
        model=model,
        prompt="the one running",
        params=params,
        status=JobStatus.RUNNING,
        started_at=timezone.now(),
    )
    waiting = Job.objects.create(
        owner=owner,
        modality=model.modality,
        model=model,
        prompt=LIGHTHOUSE,
        params=params,
        status=JobStatus.QUEUED,
        enqueued_at=timezone.now(),
    )
    return running, waiting


def seconds_in(words):
    """40 from "... starts in about 40 s ...", 120 from "About 2 min left"."""
    found = re.search(r"about (\d+) (s|min)", words)
    assert found, words
    return int(found[1]) * (60 if found[2] == "min" else 1)


# --- ETA ---------------------------------------------------------------------------


def test_a_queued_job_says_when_it_starts_and_counts_down_without_polling(page, alice, tiny_image):
    running, waiting = waiting_rows(alice, tiny_image, run_seconds=40)
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/jobs" in r.url else None)
    page.goto(f"{page.server_url}/images/")
    queued_eta = f"[data-queue-list] [data-job='{waiting.id}'] [data-eta]"
    running_eta = f"[data-queue-list] [data-job='{running.id}'] [data-eta]"
    # The server's words, before any script ran, and the script's after.
    html = page.request.get(f"{page.server_url}/images/").text()
    assert "Next in line · starts in about 40 s (a guess from the model&#x27;s recent" in html
    assert re.fullmatch(
        rf"Next in line · starts in about (40|35) s {re.escape(GUESS)}",
        page.inner_text(queued_eta),
    )
    assert re.fullmatch(rf"About (40|35) s left {re.escape(GUESS)}", page.inner_text(running_eta))

    # It counts down by itself: the words change every 5 s between the queue's
    # polls (one every 2 s), not a request a second.
    asked.clear()
    started = time.monotonic()
    seen = sample_until(
        page,
        f'document.querySelector("{queued_eta}").textContent',
        lambda words: seconds_in(words) <= 25,
        timeout=30,
    )
    took = time.monotonic() - started
    starts = [seconds_in(words) for words in seen]
    assert starts == sorted(starts, reverse=True) and len(set(starts)) >= 3, seen
    polls = [url for url in asked if "status=queued" in url]
    assert len(polls) <= took / 2 + 1, f"{len(polls)} polls in {took:.0f} s"

    # The job's own page says the same and counts down too.
    job_page = page.context.new_page()
    job_page.goto(f"{page.server_url}/jobs/{waiting.id}/")
    name = "'a lighthouse at dusk over a calm grey s…'"
    job_page.get_by_role("button", name=f"Cancel {name}").wait_for()
    assert job_page.get_by_role("progressbar", name=f"Progress of {name}").get_attribute(
        "aria-valuetext"
    ) in (None, "waiting in the queue")
    first = job_page.inner_text("[data-eta]")
    assert first.startswith("Next in line · starts in about") and GUESS in first, first
    sample_until(
        job_page,
        "document.querySelector('[data-eta]').textContent",
        lambda words: seconds_in(words) < seconds_in(first),
        timeout=15,
    )
    # And so does its card in the history.
    job_page.goto(f"{page.server_url}/history/")
    card = job_page.locator(f"[data-job='{waiting.id}'] [data-eta]")
    assert card.inner_text().startswith("Next in line · starts in about")
    job_page.close()


def test_the_running_job_says_what_is_left_and_finishes(page, alice, tiny_image):
    from genhub.models import Job, JobStatus

    running, waiting = waiting_rows(alice, tiny_image, run_seconds=3)
    Job.objects.filter(pk=waiting.pk).delete()
    page.goto(f"{page.server_url}/images/")
    eta = f"[data-queue-list] [data-job='{running.id}'] [data-eta]"
    seen = sample_until(
        page,
        f'document.querySelector("{eta}").textContent',
        lambda words: words == "Finishing…",
        timeout=15,
    )
    assert seen[0] == f"A few seconds left {GUESS}", seen
    Job.objects.filter(pk=running.pk).update(status=JobStatus.CANCELLED)


def test_the_live_panel_shows_the_real_jobs_eta_and_a_labelled_bar(page, alice):
    from django.utils import timezone

    from genhub.models import AIModel, Job, JobStatus

    model = AIModel.objects.get(name="tiny-image")
    end = timezone.now() - timedelta(hours=1)
    Job.objects.create(  # a past run of the same size: "about a minute" to start with
        owner=alice,
        modality="image",
        model=model,
        prompt="past",
        params={"prompt": "past", "steps": 150, "width": 256, "height": 256},
        status=JobStatus.SUCCEEDED,
        started_at=end - timedelta(seconds=60),
        finished_at=end,
    )
    page.goto(f"{page.server_url}/images/")
    page.fill("textarea[name=prompt]", LIGHTHOUSE)
    page.select_option("[data-size-preset]", "custom")
    page.fill("input[name=width]", "256")
    page.fill("input[name=height]", "256")
    open_settings(page)
    page.fill("input[name=steps]", "150")
    page.click("button[type=submit]")

    name = "'a lighthouse at dusk over a calm grey s…'"
    bar = page.get_by_role("progressbar", name=f"Progress of {name}")
    bar.wait_for()
    seen = sample_until(
        page,
        "[document.querySelector('[data-live] [data-eta]').textContent,"
        " document.querySelector('[data-live] progress').getAttribute('aria-valuetext')]",
        lambda value: (
            re.fullmatch(r"step \d+ of 150", value[1] or "")
            and re.search(r"left$|Finishing…", value[0])
        ),
    )
    etas = {words for words, _ in seen if words}
    assert any(re.fullmatch(r"(About \d+ (s|min)|A few seconds) left", w) for w in etas) or (
        "Finishing…" in etas
    ), etas
    # Status changes are announced politely, beside the panel.
    announcer = page.locator("[role=status][data-announce]")
    assert announcer.inner_text() == f"Running {name}."
    page.get_by_role("button", name=f"Stop {name}").click()
    wait_until(page, "document.querySelector('[data-announce]').textContent.startsWith('Stopped')")
    assert page.inner_text("[data-live] [data-eta]") == ""


def test_the_chat_bar_counts_tokens(page):
    page.goto(f"{page.server_url}/text/")
    open_settings(page)
    page.fill("input[name=max_new_tokens]", "600")
    page.fill("textarea[name=message]", "Tell me a long story")
    page.click("button[type=submit]")
    sample_until(
        page,
        "document.querySelector('[data-live] progress').getAttribute('aria-valuetext')",
        lambda text: bool(re.fullmatch(r"token [1-9]\d* of 600", text or "")),
    )
    page.get_by_role("button", name="Stop 'Tell me a long story'").click()


def test_the_pages_word_an_eta_as_the_server_does(page):
    """GenHub.etaWords against the table genhub/eta_words.py passes."""
    page.goto(f"{page.server_url}/")
    for fields, words in CASES:
        said = page.evaluate("(f) => GenHub.etaWords(...f)", list(fields))
        assert said == words, fields


# --- accessible names --------------------------------------------------------------


def unnamed_controls(page):
    """Each control in Chromium's accessibility tree that has no name, described
    as role and markup."""
    cdp = page.context.new_cdp_session(page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    missing = []
    for node in nodes:
        role = node.get("role", {}).get("value")
        if node.get("ignored") or role not in CONTROLS:
            continue
        if (node.get("name", {}).get("value") or "").strip():
            continue
        described = "?"
        if "backendDOMNodeId" in node:
            found = cdp.send("DOM.describeNode", {"backendNodeId": node["backendDOMNodeId"]})
            described = " ".join([found["node"]["nodeName"], *found["node"].get("attributes", [])])
        missing.append(f"{role}: {described}")
    cdp.detach()
    return missing


def test_every_control_on_every_page_has_a_name(page, alice):
    from genhub.models import ApiKey
    from tests.stack import Client

    _, key = ApiKey.issue(alice)
    client = Client(page.live, key)
    done = [
        client.generate_text(prompt="Hello", max_new_tokens=4)["id"],
        client.generate_image(prompt="a fox", steps=2, width=64, height=64)["id"],
        client.generate_audio(prompt="a drum", duration=1)["id"],
    ]
    for job in done:
        client.wait(job, {"succeeded"})
    busy = client.generate_image(prompt="busy", width=256, height=256, steps=150, seed=1)
    client.wait(busy["id"], {"running"})
    waiting = client.generate_image(prompt="waiting behind", steps=2, width=64, height=64)

    pages = ["/", "/text/", "/images/", "/audio/", "/history/", "/account/"]
    pages += [f"/jobs/{job}/" for job in [*done, busy["id"], waiting["id"]]]
    found = {}
    for path in pages:
        page.goto(f"{page.server_url}{path}")
        open_settings(page)
        missing = unnamed_controls(page)
        if missing:
            found[path] = missing
    # The check itself sees a control without a name.
    page.evaluate("document.querySelector('main').append(document.createElement('button'))")
    assert unnamed_controls(page) == ["button: BUTTON"]
    client.http.post(f"/jobs/{busy['id']}/cancel")
    client.http.post(f"/jobs/{waiting['id']}/cancel")

    logged_out = page.context.browser.new_context(viewport=DESKTOP)
    login = logged_out.new_page()
    login.goto(f"{page.server_url}/accounts/login/")
    if missing := unnamed_controls(login):
        found["/accounts/login/"] = missing
    logged_out.close()
    assert found == {}


def test_cancel_buttons_name_their_job_and_the_page_has_a_skip_link(page, alice, tiny_image):
    running, waiting = waiting_rows(alice, tiny_image, run_seconds=40)
    page.goto(f"{page.server_url}/images/")
    page.get_by_role("button", name="Cancel 'a lighthouse at dusk over a calm grey s…'").wait_for()
    page.get_by_role("button", name="Cancel 'the one running'").wait_for()
    # The nav says where you are; the first Tab offers a way past it.
    assert page.get_by_role("link", name="Image").get_attribute("aria-current") == "page"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


# --- theme ---------------------------------------------------------------------------


def colour(page, name):
    return page.evaluate(
        "(n) => getComputedStyle(document.documentElement).getPropertyValue(n).trim()", name
    )


def contrast(first, second):
    def luminance(hex_colour):
        channels = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted([luminance(first), luminance(second)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_theme_switch_sticks_across_reloads_and_pages_with_no_flash(page):
    page.goto(f"{page.server_url}/images/")
    assert page.get_attribute("html", "data-theme") is None  # follows the system
    assert page.get_by_role("button", name="System theme").get_attribute("aria-pressed") == "true"

    page.get_by_role("button", name="Dark theme").click()
    assert page.get_attribute("html", "data-theme") == "dark"
    assert page.evaluate("getComputedStyle(document.documentElement).colorScheme") == "dark"
    assert page.get_by_role("button", name="Dark theme").get_attribute("aria-pressed") == "true"
    # The server writes the attribute itself: the first paint is already dark.
    html = page.request.get(f"{page.server_url}/history/").text()
    assert '<html lang="en" data-theme="dark">' in html
    page.reload()
    assert page.get_attribute("html", "data-theme") == "dark"
    page.goto(f"{page.server_url}/text/")
    assert page.get_attribute("html", "data-theme") == "dark"
    assert colour(page, "--bg") == "#12151c"

    # Light wins over a dark system; System follows it again.
    page.emulate_media(color_scheme="dark")
    page.get_by_role("button", name="Light theme").click()
    assert colour(page, "--bg") == "#f6f7f9"
    page.get_by_role("button", name="System theme").click()
    assert page.get_attribute("html", "data-theme") is None
    assert colour(page, "--bg") == "#12151c"
    page.reload()
    assert page.get_attribute("html", "data-theme") is None


def test_both_themes_keep_text_readable(page):
    page.goto(f"{page.server_url}/")
    for theme in ("light", "dark"):
        page.evaluate("(t) => document.documentElement.dataset.theme = t", theme)
        for text in ("--text", "--muted", "--accent", "--danger", "--ok", "--warn"):
            for background in ("--bg", "--panel"):
                ratio = contrast(colour(page, text), colour(page, background))
                assert ratio >= 4.5, f"{theme}: {text} on {background} is {ratio:.2f}:1"
        for text, background in (("--accent-text", "--accent"), ("--danger-text", "--danger")):
            ratio = contrast(colour(page, text), colour(page, background))
            assert ratio >= 4.5, f"{theme}: {text} on {background} is {ratio:.2f}:1"


def test_the_theme_switch_works_without_javascript(browser, live, alice):
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    log_in(page, live.url, "alice", "alice-pass-123")
    page.goto(f"{live.url}/history/")
    page.get_by_role("button", name="Dark theme").click()
    page.wait_for_url(f"{live.url}/history/")
    assert page.get_attribute("html", "data-theme") == "dark"
    page.get_by_role("button", name="System theme").click()
    page.wait_for_url(f"{live.url}/history/")
    assert page.get_attribute("html", "data-theme") is None
    context.close()


# --- Ctrl+Enter --------------------------------------------------------------------


def jobs_of(owner):
    from genhub.models import Job

    return Job.objects.filter(owner=owner).count()


@pytest.mark.parametrize(
    ("path", "field", "text"),
    [
        ("/images/", "textarea[name=prompt]", "a red kite"),
        ("/audio/", "textarea[name=prompt]", "a slow drum"),
        ("/text/", "textarea[name=system]", "You are terse."),
    ],
)
def test_enter_makes_a_new_line_and_ctrl_enter_sends(page, alice, path, field, text):
    page.goto(f"{page.server_url}{path}")
    assert page.locator("button[type=submit] + .shortcut").inner_text() == "Ctrl+Enter"
    page.fill(field, text)
    page.focus(field)
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    assert page.input_value(field) == f"{text}\n"
    page.wait_for_timeout(300)
    assert jobs_of(alice) == 0
    if path == "/text/":
        page.fill("textarea[name=message]", "Hi")
        page.focus(field)
    page.keyboard.press("Control+Enter")
    wait_until(page, "document.querySelector('[data-live]').dataset.job")
    assert jobs_of(alice) == 1


def test_ctrl_enter_in_the_chat_sends_once(page, alice):
    page.goto(f"{page.server_url}/text/")
    page.fill("textarea[name=message]", "Once only")
    page.keyboard.press("Control+Enter")  # the chat's own Enter handler and this one
    wait_until(page, "document.querySelector('[data-live]').dataset.job")
    page.wait_for_timeout(500)
    assert jobs_of(alice) == 1
