"""The pages in a real browser (Debian's Chromium under Playwright), against the
live server and a real Celery worker with the tiny models: each modality from
form to result, cancel, a field error, reconnecting after the server went away,
the live panel following the running job (also after a reload), the model
picker's defaults and sizes, and screenshots of every page, light and dark,
desktop and phone."""

import os
import time

import pytest

from tests.browser import ARGS, CHROMIUM, DESKTOP, PHONE, SCREENSHOTS, RequestLog, log_in
from tests.stack import Worker

# Playwright's sync API runs an event loop in this thread; Django refuses ORM
# calls from a thread with a running loop unless told that this is on purpose.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def worker(stack_env, stack_logs):
    worker = Worker(
        stack_env, stack_logs / "browser-worker.log", name="all", queues="text,image,audio"
    )
    yield worker
    worker.stop()


@pytest.fixture
def page(browser, live, alice, worker):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    requests = RequestLog(live.url)
    page.on("request", requests.record)
    log_in(page, live.url, "alice", "alice-pass-123")
    page.server_url = live.url
    page.live = live
    yield page
    context.close()
    assert requests.foreign() == [], "the page asked another host for something"


def open_settings(page):
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")


def wait_until(page, script, timeout=30):
    """Evaluate `script` every 50 ms until it is truthy. Playwright's own
    wait_for_function evaluates its string with eval, which the pages'
    Content-Security-Policy (script-src 'self') refuses."""
    from playwright.sync_api import Error

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if page.evaluate(script):
                return
        except Error:  # the page is navigating (a job page reloads itself when done)
            pass
        page.wait_for_timeout(50)
    raise TimeoutError(f"still waiting after {timeout} s for {script}")


def sample_until(page, script, done, timeout=60):
    """Evaluate `script` every 20 ms until `done(value)`; every value seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(script)
        if not seen or value != seen[-1]:
            seen.append(value)
        if done(value):
            return seen
        page.wait_for_timeout(20)
    raise TimeoutError(f"still waiting after {timeout} s; saw {seen[-3:]}")


def test_the_chat_streams_its_answer_token_by_token(page):
    page.goto(f"{page.server_url}/text/")
    open_settings(page)
    page.fill("input[name=max_new_tokens]", "600")
    page.fill("textarea[name=message]", "Tell me a story")
    page.click("button[type=submit]")
    lengths = sample_until(
        page,
        "(() => { const b = document.querySelector('.message.assistant');"
        " return b ? [b.textContent.length, b.classList.contains('streaming')] : [0, true]; })()",
        lambda value: value[0] > 0 and not value[1],
    )
    growing = [length for length, streaming in lengths if streaming and length > 0]
    assert len(growing) >= 3, f"the answer came in {len(growing)} pieces"
    assert growing == sorted(growing)
    # The conversation is kept and continued: a second turn sends the first along.
    page.reload()
    assert page.locator(".message.user").count() == 1
    page.fill("textarea[name=message]", "And then?")
    page.keyboard.press("Enter")
    wait_until(page, "document.querySelectorAll('.message.assistant:not(.streaming)').length == 2")
    assert page.locator(".message.user").count() == 2
    page.click("[data-new]")  # a new conversation starts empty; the first stays listed
    page.wait_for_url(f"{page.server_url}/text/")
    assert page.locator(".message").count() == 0
    assert page.locator("[data-conversations] [data-title]").all_inner_texts() == [
        "Tell me a story"
    ]


def test_an_image_shows_steps_and_previews_then_the_gallery_and_its_settings(page):
    page.goto(f"{page.server_url}/images/")
    page.fill("textarea[name=prompt]", "a lighthouse at dusk")
    page.select_option("[data-size-preset]", "custom")
    page.fill("input[name=width]", "128")
    page.fill("input[name=height]", "96")
    page.click("[data-dice]")
    seed = page.input_value("input[name=seed]")
    assert seed.isdigit()
    open_settings(page)
    page.fill("input[name=steps]", "40")
    page.click("button[type=submit]")
    seen = sample_until(
        page,
        "[document.querySelector('[data-steps]').textContent,"
        " document.querySelector('[data-preview]').getAttribute('src'),"
        " document.querySelector('[data-live]').dataset.status]",
        lambda value: value[2] == "succeeded",
    )
    steps = {text for text, _, _ in seen if text.startswith("Step")}
    previews = {src for _, src, _ in seen if src}
    assert len(steps) >= 3, steps
    assert len(previews) >= 2, "the preview image changes as the image denoises"
    tile = page.locator("[data-gallery] .tile").first
    tile.locator("img").wait_for()
    wait_until(page, "document.querySelector('[data-gallery] .tile img').naturalWidth > 0")
    tile.click()
    wait_until(page, "document.querySelector('[data-viewer-image]').naturalWidth == 128")
    assert seed in page.inner_text("[data-viewer-record]")
    page.click("[data-use-settings]")
    page.fill("textarea[name=prompt]", "")
    assert page.input_value("input[name=seed]") == seed
    assert page.input_value("input[name=steps]") == "40"
    assert page.input_value("input[name=width]") == "128"
    # On a later visit the tile comes from the server, with its record as JSON.
    page.reload()
    assert (
        page.input_value("input[name=steps]") == "8" and page.input_value("input[name=seed]") == ""
    )
    page.locator("[data-gallery] .tile").first.click()
    wait_until(page, "document.querySelector('[data-viewer-image]').naturalWidth == 128")
    record = page.inner_text("[data-viewer-record]")
    assert "a lighthouse at dusk" in record and seed in record
    page.click("[data-use-settings]")
    assert page.input_value("textarea[name=prompt]") == "a lighthouse at dusk"
    assert page.input_value("input[name=seed]") == seed
    assert page.input_value("input[name=steps]") == "40"
    assert page.input_value("input[name=height]") == "96"


def test_a_music_clip_arrives_as_a_playable_audio_element(page):
    page.goto(f"{page.server_url}/audio/")
    page.fill("textarea[name=prompt]", "lo-fi beat")
    page.fill("input[name=duration]", "6")
    page.click("button[type=submit]")
    seen = sample_until(
        page,
        "[document.querySelector('[data-progress]').value,"
        " document.querySelector('[data-live]').dataset.status]",
        lambda value: value[1] == "succeeded",
    )
    assert len({value for value, _ in seen}) >= 2, "the progress bar moved"
    audio = page.locator("[data-clips] audio").first
    assert audio.get_attribute("src").startswith("/api/v1/artifacts/")
    ready = page.evaluate(
        "new Promise(done => { const a = document.querySelector('[data-clips] audio');"
        " a.addEventListener('canplay', () => done(a.duration), {once: true});"
        " a.addEventListener('error', () => done(-1), {once: true}); a.load(); })"
    )
    assert abs(ready - 6) < 0.05
    waveform = page.locator("[data-clips] .waveform").first
    waveform.wait_for()
    wait_until(page, "document.querySelector('[data-clips] .waveform').naturalWidth > 0")


def test_stop_cancels_a_running_image(page):
    page.goto(f"{page.server_url}/images/")
    page.fill("textarea[name=prompt]", "a slow one")
    page.select_option("[data-size-preset]", "custom")
    page.fill("input[name=width]", "256")
    page.fill("input[name=height]", "256")
    open_settings(page)
    page.fill("input[name=steps]", "150")
    page.click("button[type=submit]")
    wait_until(page, "document.querySelector('[data-steps]').textContent.startsWith('Step')")
    page.click("[data-stop]")
    wait_until(page, "document.querySelector('[data-live]').dataset.status == 'cancelled'")
    assert page.inner_text("[data-live-status]") == "Cancelled"


def submit_slow_image(page, prompt):
    """An image that takes a while (150 steps at 256×256), sent from the page."""
    page.fill("textarea[name=prompt]", prompt)
    page.select_option("[data-size-preset]", "custom")
    page.fill("input[name=width]", "256")
    page.fill("input[name=height]", "256")
    open_settings(page)
    page.fill("input[name=steps]", "150")
    page.click("button[type=submit]")
    wait_until(page, "document.querySelector('[data-steps]').textContent.startsWith('Step')")
    return page.get_attribute("[data-live]", "data-job")


def test_stop_stops_the_running_job_not_the_one_queued_behind_it(page):
    from genhub.models import Job

    page.goto(f"{page.server_url}/images/")
    running = submit_slow_image(page, "a slow one")
    page.fill("textarea[name=prompt]", "next in line")
    page.fill("input[name=steps]", "4")
    page.click("button[type=submit]")
    queue = page.locator("[data-queue-list]")
    wait_until(page, "document.querySelectorAll('[data-queue-list] [data-job]').length == 2")
    waiting = queue.locator(f"[data-job]:not([data-job='{running}'])").get_attribute("data-job")
    assert "#1 in queue" in queue.locator(f"[data-job='{waiting}']").inner_text()
    assert "running" in queue.locator(f"[data-job='{running}']").inner_text()
    assert page.get_attribute("[data-live]", "data-job") == running
    page.click("[data-stop]")
    # The running job stops; the waiting one then runs, and the panel follows it.
    wait_until(
        page,
        f"(live => live.dataset.job == '{waiting}' && live.dataset.status == 'succeeded')"
        "(document.querySelector('[data-live]'))",
        timeout=60,
    )
    assert Job.objects.get(pk=running).status == "cancelled"
    assert Job.objects.get(pk=waiting).status == "succeeded"
    assert queue.locator("[data-job]").count() == 0


def test_a_reload_brings_back_the_running_jobs_progress(page):
    page.goto(f"{page.server_url}/images/")
    job = submit_slow_image(page, "still going")
    page.reload()
    wait_until(
        page,
        f"document.querySelector('[data-live]').dataset.job == '{job}'"
        " && document.querySelector('[data-steps]').textContent.startsWith('Step')",
    )
    assert page.locator("[data-live]").is_visible()
    assert page.inner_text("[data-live-status]") == "Running"
    page.click("[data-stop]")
    wait_until(page, "document.querySelector('[data-live]').dataset.status == 'cancelled'")


def test_a_queued_answer_loses_its_queue_badge_once_it_runs(page, alice):
    from genhub.models import ApiKey
    from tests.stack import Client

    _, key = ApiKey.issue(alice)
    client = Client(page.live, key)
    busy = client.generate_image(prompt="busy", width=256, height=256, steps=150, seed=1)
    client.wait(busy["id"], {"running"})  # the one worker is busy: the answer waits
    page.goto(f"{page.server_url}/text/")
    open_settings(page)
    page.fill("input[name=max_new_tokens]", "4000")
    page.fill("textarea[name=message]", "A long story")
    page.click("button[type=submit]")
    wait_until(page, "document.querySelector('[data-live]').dataset.job")
    job = page.get_attribute("[data-live]", "data-job")
    badge = f"[data-queue-list] [data-job='{job}'] .status"
    page.locator(badge).wait_for()
    assert page.inner_text("[data-steps]") == "#1 in queue"
    assert page.inner_text(badge) == "#1 in queue"
    job_page = page.context.new_page()
    job_page.goto(f"{page.server_url}/jobs/{job}/")
    # The server's sentence ("#1 in queue 'text'. 1 worker serves it: ..."), or the
    # script's shorter one once the job's snapshot has arrived.
    assert job_page.inner_text("[data-steps]").startswith("#1 in queue")

    client.http.post(f"/jobs/{busy['id']}/cancel")
    wait_until(page, "document.querySelector('[data-live]').dataset.status == 'running'")
    assert page.inner_text("[data-steps]") == ""
    assert page.inner_text(badge) == "running"
    wait_until(job_page, "document.querySelector('[data-job-status]').textContent == 'running'")
    assert job_page.inner_text("[data-steps]") == ""

    client.http.post(f"/jobs/{job}/cancel")
    wait_until(page, "document.querySelector('[data-live]').dataset.status == 'cancelled'")
    assert page.locator(f"[data-queue-list] [data-job='{job}']").count() == 0


def test_picking_a_model_brings_its_defaults_and_its_sizes(page):
    from genhub.models import AIModel

    AIModel.objects.create(
        name="big-image",
        modality="image",
        source_type="local",
        source="/nowhere/model",
        default_params={"steps": 3, "guidance_scale": 0.0},
    )

    def presets():
        return page.eval_on_selector_all(
            "[data-size-preset] option", "all => all.map(o => o.value)"
        )

    page.goto(f"{page.server_url}/images/")
    open_settings(page)
    assert presets() == ["", "256x256", "custom"]  # tiny-image makes at most 256×256
    assert page.input_value("input[name=steps]") == "8"
    page.fill("textarea[name=prompt]", "a fox")
    page.fill("input[name=steps]", "20")
    page.fill("input[name=strength]", "0.5")
    page.select_option("select[name=model]", "big-image")
    assert page.input_value("input[name=steps]") == "3"
    assert float(page.input_value("input[name=guidance_scale]")) == 0
    assert float(page.input_value("input[name=strength]")) == 0.75  # the schema's default
    assert page.input_value("textarea[name=prompt]") == "a fox"
    assert "1024x1024" in presets()
    page.select_option("[data-size-preset]", "1024x1024")
    assert page.input_value("input[name=width]") == "1024"
    page.select_option("select[name=model]", "tiny-image")
    assert page.input_value("input[name=steps]") == "8"
    assert float(page.input_value("input[name=guidance_scale]")) == 5
    assert page.input_value("input[name=width]") == ""
    assert presets() == ["", "256x256", "custom"]
    assert page.get_attribute("input[name=width]", "max") == "256"


def test_a_bad_field_shows_the_servers_message_beside_it(page):
    page.goto(f"{page.server_url}/images/")
    page.fill("textarea[name=prompt]", "a fox")
    page.select_option("[data-size-preset]", "custom")
    page.fill("input[name=width]", "65")
    page.click("button[type=submit]")
    message = page.locator("[data-error-for=width]")
    message.wait_for()
    wait_until(page, "document.querySelector('[data-error-for=width]').textContent != ''")
    assert "not a multiple of 8" in message.inner_text()
    assert page.locator("[data-field=width].invalid").count() == 1
    assert page.locator("[data-live]").is_hidden()


def test_the_page_reconnects_after_the_server_drops_the_socket(page, live):
    page.goto(f"{page.server_url}/text/")
    open_settings(page)
    page.fill("input[name=max_new_tokens]", "4000")
    page.fill("textarea[name=message]", "A long story")
    page.click("button[type=submit]")
    wait_until(page, "document.querySelector('.message.assistant')?.textContent.length > 0")
    live.stop()  # every WebSocket is closed by the server
    try:
        page.locator("#banner").wait_for(state="visible", timeout=30_000)
    finally:
        live.start_again()
    wait_until(page, "document.querySelector('.message.assistant:not(.streaming)')", timeout=90)
    job_id = page.get_attribute("[data-live]", "data-job")
    # The answer is drawn as Markdown; its Copy button gives the text it was drawn from.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy answer").click()
    wait_until(
        page, "[...document.querySelectorAll('button')].some(b => b.textContent == 'Copied')"
    )
    text = page.evaluate("navigator.clipboard.readText()")
    from genhub.models import Job

    assert Job.objects.get(pk=job_id).result["text"] == text
    assert page.locator("#banner").is_hidden()


def test_the_queue_shows_places_cancels_and_leads_to_a_live_job_page(page, alice):
    from genhub.models import ApiKey
    from tests.stack import Client

    _, key = ApiKey.issue(alice)
    client = Client(page.live, key)
    busy = client.generate_image(prompt="busy", width=256, height=256, steps=150, seed=1)
    client.wait(busy["id"], {"running"})  # so the two below are #1 and #2
    waiting = client.generate_image(prompt="waiting its turn", steps=4, seed=2)
    doomed = client.generate_image(prompt="never mind", steps=4, seed=3)
    page.goto(f"{page.server_url}/images/")
    queue = page.locator("[data-queue-list]")
    queue.locator(f"[data-job='{doomed['id']}']").wait_for()
    assert "#2 in queue" in queue.locator(f"[data-job='{doomed['id']}']").inner_text()
    assert "#1 in queue" in queue.locator(f"[data-job='{waiting['id']}']").inner_text()
    queue.locator(f"[data-cancel='{doomed['id']}']").click()
    queue.locator(f"[data-job='{doomed['id']}']").wait_for(state="detached")
    assert client.job(doomed["id"])["status"] == "cancelled"
    # The waiting job's page follows it live, then shows its image.
    queue.locator(f"[data-job='{waiting['id']}'] a").click()
    page.wait_for_url(f"{page.server_url}/jobs/{waiting['id']}/")
    client.http.post(f"/jobs/{busy['id']}/cancel")
    page.locator(".gallery img").first.wait_for(timeout=60_000)
    assert page.inner_text("[data-job-status]") == "succeeded"


def test_a_failed_job_shows_why(page, tiny_image):
    from genhub.models import AIModel

    AIModel.objects.create(
        name="missing-image", modality="image", source_type="local", source="/nowhere/model"
    )
    page.goto(f"{page.server_url}/images/")
    page.select_option("select[name=model]", "missing-image")
    page.fill("textarea[name=prompt]", "a fox")
    page.click("button[type=submit]")
    wait_until(page, "document.querySelector('[data-live]').dataset.status == 'failed'")
    assert "could not be loaded" in page.inner_text("[data-job-error]")


def test_with_javascript_off_the_form_submits_and_the_job_page_shows_the_result(
    browser, live, alice, worker
):
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    log_in(page, live.url, "alice", "alice-pass-123")
    page.goto(f"{live.url}/images/")
    page.fill("textarea[name=prompt]", "a fox without scripts")
    page.click("summary")  # <details> opens without JavaScript
    page.fill("input[name=steps]", "3")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/jobs/**")
    # The page reloads itself (a <noscript> refresh) until the job has ended.
    page.locator(".gallery img").first.wait_for(timeout=60_000)
    assert page.inner_text("[data-job-status]") == "succeeded"
    context.close()


def test_screenshots_of_every_page(browser, live, alice, worker):
    """Each page in a finished state, light and dark, desktop and phone: written to
    var/screenshots/ (`make screenshots` writes docs/screenshots/, which the README shows)."""
    from genhub.models import ApiKey
    from tests.stack import Client

    _, key = ApiKey.issue(alice)
    client = Client(live, key)
    question = "Write a haiku about GPUs"
    chat = client.http.post("/conversations", json={}).json()
    text = client.generate_text(conversation=chat["id"], prompt=question, max_new_tokens=40)
    image = client.generate_image(prompt="a lighthouse at dusk", steps=6, num_images=4, seed=3)
    audio = client.generate_audio(prompt="lo-fi beat", duration=4, seed=1)
    for job in (text, image, audio):
        client.wait(job["id"], {"succeeded"})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = {
        "text": f"/text/?c={chat['id']}",
        "image": "/images/",
        "audio": "/audio/",
        "history": "/history/",
        "job": f"/jobs/{image['id']}/",
    }
    for scheme in ("light", "dark"):
        for size_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            context = browser.new_context(viewport=viewport, color_scheme=scheme)
            page = context.new_page()
            requests = RequestLog(live.url)
            page.on("request", requests.record)
            log_in(page, live.url, "alice", "alice-pass-123")
            for name, path in pages.items():
                page.goto(f"{live.url}{path}")
                page.wait_for_load_state("networkidle")
                page.screenshot(
                    path=SCREENSHOTS / f"{name}-{scheme}-{size_name}.png", full_page=True
                )
            context.close()
            assert requests.foreign() == []
    assert len(list(SCREENSHOTS.glob("*-*-*.png"))) >= 20
