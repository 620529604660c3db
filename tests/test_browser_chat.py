"""The chat page's answers and actions in real Chromium, against the live server, a
real thread-pool worker on queue "engine" and a scripted OpenAI-compatible engine
(tests/engine.py), so the answers are known: Markdown with highlighted code while
it streams, a model's HTML shown as text, copy, regenerate, edit, continue, stop,
the phone layout, no JavaScript, and "Continue this chat" from a job page."""

import itertools
import os
import re

import pytest

from tests import test_browser as shared
from tests.browser import DESKTOP, PHONE, RequestLog, log_in
from tests.engine import ScriptedEngine
from tests.stack import Worker
from tests.test_browser import sample_until, wait_until

browser = shared.browser

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

CODE_ANSWER = (
    "# A greeting\n\n"
    "Here is **bold** text, `inline code` and a list:\n\n"
    "- one\n- two\n\n"
    "```python\n"
    "def greet(name):\n"
    "    # Say hello to someone.\n"
    '    return f"Hello, {name}!"\n'
    "\n"
    "for person in ['Ada', 'Grace', 'Edsger', 'Barbara']:\n"
    "    print(greet(person))\n"
    "```\n\n"
    "That is all."
)
HOSTILE_ANSWER = (
    "Careful: <script>window.pwned = 1</script> and "
    '<img src="x" onerror="window.pwned = 2"> stay text. '
    "A [link](https://example.com/docs) and [another](javascript:window.pwned=3)."
)
COUNTING = "One two three four five six seven eight nine ten eleven twelve."
LONG_URL = "https://example.com/" + "a" * 280
LONG_ANSWER = f"See {LONG_URL} for more.\n\n```\n{'x' * 300}\n```\n"

# What the scripted engine says to each question; a request that continues an
# answer (its last message is the assistant's) gets the rest of that answer.
numbers = itertools.count(1)


def script(body):
    said = body["messages"][-1]
    if said["role"] == "assistant":
        return COUNTING[len(said["content"]) :]
    question = said["content"]
    if question.startswith("Pick a number"):
        return f"Number {next(numbers)}."
    if question.startswith("Pick a letter"):
        return "Letter A."
    return {
        "Show me code": CODE_ANSWER,
        "Say something risky": HOSTILE_ANSWER,
        "Count": COUNTING,
        "Give me a link": LONG_ANSWER,
        "Talk slowly": "word " * 400,
    }.get(question, "I have nothing scripted for that.")


@pytest.fixture(scope="module")
def engine():
    scripted = ScriptedEngine(script, delay=0.03)
    yield scripted
    scripted.close()


@pytest.fixture(scope="module")
def engine_worker(stack_env, stack_logs):
    worker = Worker(
        stack_env,
        stack_logs / "browser-chat-engine.log",
        name="engine",
        queues="engine",
        pool="threads",
        concurrency=4,
    )
    yield worker
    worker.stop()


@pytest.fixture
def scripted(live, engine, engine_worker):
    from genhub.models import AIModel

    return AIModel.objects.create(
        name="scripted",
        modality="text",
        source_type=AIModel.SourceType.ENGINE,
        source=engine.url,
        options={"engine_model": engine.model},
    )


def open_page(browser, live, viewport=DESKTOP, **options):
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    page.requests = RequestLog(live.url)
    page.on("request", page.requests.record)
    log_in(page, live.url, "alice", "alice-pass-123")
    page.server_url = live.url
    return page


@pytest.fixture
def page(browser, live, alice, scripted):
    page = open_page(browser, live)
    yield page
    page.context.close()
    assert page.requests.foreign() == [], "the page asked another host for something"


def ask(page, text, max_new_tokens=None):
    """Send `text` to the scripted model from the chat page."""
    if "/text/" not in page.url:
        page.goto(f"{page.server_url}/text/")
    page.select_option("select[name=model]", "scripted")
    if max_new_tokens is not None:
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        page.fill("input[name=max_new_tokens]", str(max_new_tokens))
    page.fill("textarea[name=message]", text)
    page.keyboard.press("Enter")


def wait_for_answers(page, count, timeout=60):
    wait_until(
        page,
        f"document.querySelectorAll('.message.assistant').length == {count} && "
        "!document.querySelector('.message.streaming')",
        timeout=timeout,
    )


def last_answer(page):
    return page.locator(".message.assistant").last


def test_markdown_and_a_highlighted_code_block_render_while_streaming(page):
    ask(page, "Show me code", max_new_tokens=400)
    # The heading, once the code began, is marked: it must stay the same node to the end.
    wait_until(page, "document.querySelector('.message.assistant pre') !== null")
    page.evaluate("document.querySelector('.message.assistant h1').dataset.kept = 'yes'")
    seen = sample_until(
        page,
        """(() => {
          const a = document.querySelector('.message.assistant');
          const body = a.querySelector('[data-body]');
          const prose = [...body.querySelectorAll(':scope > p')].map(p => p.textContent).join('|');
          return [a.classList.contains('streaming'),
                  body.querySelectorAll('pre code.hljs.language-python .hljs-keyword').length,
                  prose.includes('``')];
        })()""",
        lambda value: not value[0],
    )
    highlighted_while_streaming = [keywords for streaming, keywords, _ in seen if streaming]
    assert any(highlighted_while_streaming), "no highlighted code before the answer ended"
    # The code block grew while it was written: more keywords over time.
    growing = [k for k in highlighted_while_streaming if k]
    assert len(set(growing)) >= 2, growing
    assert not any(backticks for _, _, backticks in seen), "raw backticks showed as text"

    answer = last_answer(page)
    assert answer.locator("h1").inner_text() == "A greeting"
    assert answer.locator("h1").evaluate("h => h.dataset.kept") == "yes"
    assert answer.locator("strong").inner_text() == "bold"
    assert answer.locator("li").all_inner_texts() == ["one", "two"]
    code = answer.locator("pre code")
    assert "def greet(name):" in code.inner_text()
    assert code.locator(".hljs-keyword").first.inner_text() == "def"
    assert answer.locator("[data-body] > p").last.inner_text() == "That is all."
    # Code follows the page's theme: highlight.js's dark theme under data-theme="dark".
    background = "c => getComputedStyle(c).backgroundColor"
    page.evaluate("document.documentElement.dataset.theme = 'light'")
    light = code.evaluate(background)
    page.evaluate("document.documentElement.dataset.theme = 'dark'")
    assert code.evaluate(background) != light


def test_html_in_an_answer_is_shown_as_text_and_never_runs(page):
    ask(page, "Say something risky")
    wait_for_answers(page, 1)
    answer = last_answer(page)
    text = answer.locator("[data-body]").inner_text()
    assert "<script>window.pwned = 1</script>" in text
    assert '<img src="x" onerror="window.pwned = 2">' in text
    assert page.evaluate("window.pwned") is None
    assert answer.locator("script, img").count() == 0
    link = answer.locator("a", has_text="link")
    assert link.get_attribute("href") == "https://example.com/docs"
    assert link.get_attribute("rel") == "noopener noreferrer nofollow"
    assert link.get_attribute("target") == "_blank"
    assert answer.locator("a[href^='javascript']").count() == 0
    # Reloaded, the stored answer is drawn the same way.
    page.reload()
    assert "<script>window.pwned = 1</script>" in last_answer(page).inner_text()
    assert page.evaluate("window.pwned") is None


def test_copy_an_answer_and_a_code_block(browser, live, alice, scripted):
    page = open_page(browser, live, permissions=["clipboard-read", "clipboard-write"])
    ask(page, "Show me code", max_new_tokens=400)
    wait_for_answers(page, 1)
    copy_answer = page.get_by_role("button", name="Copy answer")
    copy_answer.click()
    wait_until(
        page, "[...document.querySelectorAll('button')].some(b => b.textContent == 'Copied')"
    )
    assert page.evaluate("navigator.clipboard.readText()") == CODE_ANSWER
    page.get_by_role("button", name="Copy code").click()
    code = page.evaluate("navigator.clipboard.readText()")
    assert code.startswith("def greet(name):\n") and code.endswith("print(greet(person))\n")
    page.get_by_role("button", name="Copy message").click()
    assert page.evaluate("navigator.clipboard.readText()") == "Show me code"

    # Where the page may not use the async clipboard (plain http on a LAN
    # address), the old way copies the same text.
    chat = page.url
    lan = page.context.new_page()
    lan.add_init_script("Object.defineProperty(navigator, 'clipboard', { value: undefined })")
    lan.goto(chat)
    lan.get_by_role("button", name="Copy message").click()
    wait_until(lan, "[...document.querySelectorAll('button')].some(b => b.textContent == 'Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == "Show me code"
    page.context.close()


def test_regenerate_keeps_both_answers_behind_a_switcher(page):
    ask(page, "Pick a number")
    wait_for_answers(page, 1)
    first = last_answer(page).locator("[data-body]").inner_text()
    page.get_by_role("button", name="Regenerate answer").click()
    wait_until(page, "document.querySelector('.message.assistant [data-position]') !== null")
    wait_for_answers(page, 1)
    second = last_answer(page).locator("[data-body]").inner_text()
    assert first != second and re.fullmatch(r"Number \d+\.", second)
    assert last_answer(page).locator("[data-position]").inner_text() == "2/2"
    assert page.locator(".message.user").count() == 1

    page.get_by_role("button", name="Previous answer").click()
    wait_until(
        page, "document.querySelector('.message.assistant [data-position]').textContent == '1/2'"
    )
    assert last_answer(page).locator("[data-body]").inner_text() == first
    page.reload()  # the choice is kept on the server
    assert last_answer(page).locator("[data-position]").inner_text() == "1/2"
    page.get_by_role("button", name="Next answer").click()
    wait_until(
        page, "document.querySelector('.message.assistant [data-position]').textContent == '2/2'"
    )
    assert last_answer(page).locator("[data-body]").inner_text() == second


def test_editing_a_question_branches_and_the_old_branch_stays(page):
    ask(page, "Pick a number")
    wait_for_answers(page, 1)
    before = last_answer(page).locator("[data-body]").inner_text()
    page.get_by_role("button", name="Edit message").click()
    page.get_by_role("textbox", name="Edited message").fill("Pick a letter")
    page.get_by_role("button", name="Send edited message").click()
    wait_until(page, "document.querySelector('.message.user [data-position]') !== null")
    wait_for_answers(page, 1)
    assert page.locator(".message.user [data-body]").inner_text() == "Pick a letter"
    assert page.locator(".message.user [data-position]").inner_text() == "2/2"
    assert last_answer(page).locator("[data-body]").inner_text() == "Letter A."

    page.get_by_role("button", name="Previous message").click()
    wait_until(page, "document.querySelector('.message.user [data-position]').textContent == '1/2'")
    assert page.locator(".message.user [data-body]").inner_text() == "Pick a number"
    assert last_answer(page).locator("[data-body]").inner_text() == before


def test_continue_a_cut_off_answer_appends_to_it(page):
    ask(page, "Count", max_new_tokens=8)
    wait_for_answers(page, 1)
    assert last_answer(page).locator("[data-body]").inner_text() == "One two three four"
    page.fill("input[name=max_new_tokens]", "64")  # room for the rest this time
    page.get_by_role("button", name="Continue answer").click()
    wait_until(page, "document.querySelector('.message.assistant').textContent.includes('twelve')")
    wait_for_answers(page, 1)
    assert last_answer(page).locator("[data-body]").inner_text() == COUNTING
    assert page.get_by_role("button", name="Continue answer").count() == 0
    page.reload()
    assert page.locator(".message.assistant").count() == 1
    assert last_answer(page).locator("[data-body]").inner_text() == COUNTING


def test_stop_ends_the_answer_and_keeps_what_was_written(page):
    from genhub.models import Job

    ask(page, "Talk slowly", max_new_tokens=400)
    wait_until(
        page,
        "(document.querySelector('.message.assistant [data-body]')?.textContent || '').length > 10",
    )
    page.get_by_role("button", name="Stop the answer").click()
    wait_for_answers(page, 1)
    kept = last_answer(page).locator("[data-body]").inner_text()
    assert kept.startswith("word word") and len(kept) < len("word " * 400)
    job = Job.objects.get(model__name="scripted")
    assert job.status == "cancelled"
    assert page.get_by_role("button", name="Regenerate answer").is_visible()


def test_on_a_phone_a_long_url_and_a_wide_code_block_stay_within_the_screen(
    browser, live, alice, scripted
):
    page = open_page(browser, live, viewport=PHONE)
    ask(page, "Give me a link", max_new_tokens=400)
    wait_for_answers(page, 1)
    link = last_answer(page).locator("a")
    assert link.get_attribute("href") == LONG_URL
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The code block scrolls inside its bubble.
    code = last_answer(page).locator("pre code")
    assert code.evaluate("c => c.scrollWidth > c.clientWidth")
    assert code.evaluate("c => getComputedStyle(c).overflowX") == "auto"
    page.context.close()


def test_without_javascript_messages_are_readable_preformatted_text(browser, live, alice):
    from genhub import conversations
    from genhub.models import Conversation, Message

    chat = conversations.start(alice, title="Plain")
    question = Message.objects.create(conversation=chat, role="user", content="Show me code")
    made = Message.objects.create(
        conversation=chat, parent=question, role="assistant", content=CODE_ANSWER
    )
    conversations.show(Conversation.objects.get(pk=chat.pk), made)
    page = open_page(browser, live, java_script_enabled=False)
    page.goto(f"{live.url}/text/?c={chat.pk}")
    body = last_answer(page).locator("[data-body]")
    assert body.inner_text() == CODE_ANSWER
    assert body.evaluate("b => getComputedStyle(b.closest('.message')).whiteSpace") == "pre-wrap"
    assert last_answer(page).locator("pre, h1").count() == 0
    page.context.close()


def test_continue_this_chat_from_a_job_page(browser, live, alice, alice_client, scripted):
    from genhub.models import Conversation

    page = open_page(browser, live)
    # A standalone job becomes a conversation holding its messages and answer.
    job = alice_client.generate_text(
        model="scripted",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Count"}],
        max_new_tokens=64,
    )
    alice_client.wait(job["id"], {"succeeded"})
    page.goto(f"{live.url}/jobs/{job['id']}/")
    page.get_by_role("button", name="Continue this chat").click()
    page.wait_for_url(re.compile(r"/text/\?c="))
    chat = Conversation.objects.get()
    assert page.url.endswith(f"/text/?c={chat.pk}")
    assert page.locator(".message.user [data-body]").all_inner_texts() == ["Count"]
    assert last_answer(page).locator("[data-body]").inner_text() == COUNTING
    assert page.input_value("textarea[name=system]") == "Be brief."
    ask(page, "Pick a number")
    wait_for_answers(page, 2)

    # A conversation's turn opens its conversation at that turn's branch.
    last_answer(page).get_by_role("button", name="Regenerate answer").click()
    wait_until(
        page,
        "[...document.querySelectorAll('.message.assistant')].at(-1)"
        ".querySelector('[data-position]') !== null",
    )
    wait_for_answers(page, 2)
    first_turn = chat.messages.filter(role="assistant", job__isnull=False).order_by("created_at")[0]
    page.goto(f"{live.url}/jobs/{first_turn.job_id}/")
    page.get_by_role("button", name="Continue this chat").click()
    page.wait_for_url(f"{live.url}/text/?c={chat.pk}")
    assert last_answer(page).locator("[data-position]").inner_text() == "1/2"
    assert Conversation.objects.count() == 1
    page.context.close()
