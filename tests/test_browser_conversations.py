"""The chat page's conversations in real Chromium, against the live server and a
real worker with the tiny model: two conversations, rename, search, reopen after a
reload, delete, and the phone layout."""

import os

import pytest

from tests import test_browser as shared
from tests.browser import PHONE, log_in
from tests.test_browser import wait_until

# The browser, the worker and a logged-in page, as tests/test_browser.py makes them.
browser, worker, page = shared.browser, shared.worker, shared.page

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def send(page, text):
    page.fill("textarea[name=message]", text)
    page.keyboard.press("Enter")
    wait_until(
        page,
        "(() => { const a = [...document.querySelectorAll('.message.assistant')].at(-1);"
        " return a && a.textContent.length > 0 && !a.classList.contains('streaming'); })()",
        timeout=60,
    )


def titles(page):
    return page.locator("[data-conversations] [data-title]").all_inner_texts()


def wait_for_titles(page, expected):
    wait_until(
        page,
        "[...document.querySelectorAll('[data-conversations] [data-title]')]"
        f".map(a => a.textContent).join('|') == {'|'.join(expected)!r}",
    )


def item(page, title):
    return page.locator("[data-conversations] li", has_text=title)


def test_two_conversations_rename_search_reopen_and_delete(page):
    from genhub.models import Conversation, Job

    page.goto(f"{page.server_url}/text/")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    page.fill("input[name=max_new_tokens]", "8")
    send(page, "Plan a trip to Lisbon")
    lisbon = Conversation.objects.get()
    assert page.url.endswith(f"/text/?c={lisbon.pk}")
    wait_for_titles(page, ["Plan a trip to Lisbon"])

    page.click("[data-new]")
    page.wait_for_url(f"{page.server_url}/text/")
    assert page.locator(".message").count() == 0
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    page.fill("input[name=max_new_tokens]", "8")
    send(page, "A recipe for soup")
    soup = Conversation.objects.exclude(pk=lisbon.pk).get()
    wait_for_titles(page, ["A recipe for soup", "Plan a trip to Lisbon"])  # the newest first
    answer = Job.objects.get(messages__conversation=soup).result["text"]

    item(page, "A recipe for soup").locator("[data-rename]").click()
    page.fill("[data-conversations] input", "Soup ideas")
    page.keyboard.press("Enter")
    wait_until(page, "document.querySelector('[data-chat-title]').textContent == 'Soup ideas'")
    assert titles(page) == ["Soup ideas", "Plan a trip to Lisbon"]
    soup.refresh_from_db()
    assert soup.title == "Soup ideas"

    # A reload, or another device, opens the same conversation from its URL.
    page.reload()
    assert page.inner_text("[data-chat-title]") == "Soup ideas"
    assert page.locator(".message.user [data-body]").all_inner_texts() == ["A recipe for soup"]
    # The tiny model's gibberish is drawn as Markdown: its source is what the page holds.
    assert page.locator(".message.assistant [data-body]").count() == 1
    drawn = page.evaluate("JSON.parse(document.getElementById('conversation-data').textContent)")
    assert [m["content"] for m in drawn["messages"]] == ["A recipe for soup", answer]
    other_device = page.context.browser.new_context()
    elsewhere = other_device.new_page()
    log_in(elsewhere, page.server_url, "alice", "alice-pass-123")
    elsewhere.goto(f"{page.server_url}/text/?c={lisbon.pk}")
    assert elsewhere.locator(".message.user [data-body]").all_inner_texts() == [
        "Plan a trip to Lisbon"
    ]
    other_device.close()

    page.fill("input[name=q]", "lisbon")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**q=lisbon**")
    assert titles(page) == ["Plan a trip to Lisbon"]

    page.goto(f"{page.server_url}/text/?c={lisbon.pk}")
    page.once("dialog", lambda dialog: dialog.accept())
    item(page, "Plan a trip to Lisbon").locator("[data-delete]").click()
    page.wait_for_url(f"{page.server_url}/text/")
    assert titles(page) == ["Soup ideas"]
    assert not Conversation.objects.filter(pk=lisbon.pk).exists()
    assert not Job.objects.filter(prompt="Plan a trip to Lisbon").exists()


def test_on_a_phone_the_list_folds_away_and_nothing_overflows(browser, live, alice, worker):
    from genhub import conversations

    chat = conversations.start(alice, title="A conversation with a rather long title indeed")
    context = browser.new_context(viewport=PHONE)
    phone = context.new_page()
    log_in(phone, live.url, "alice", "alice-pass-123")
    phone.goto(f"{live.url}/text/?c={chat.pk}")
    assert phone.evaluate("document.querySelector('[data-sidebar]').open") is False
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.click("[data-sidebar] summary")
    assert phone.locator("[data-conversations] [data-title]").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()
