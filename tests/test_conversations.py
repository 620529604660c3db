"""Conversations kept on the server: /api/v1/conversations, a turn through
POST /text/generations with `conversation`, and another user getting 404 for
every one of alice's. The last test runs a real worker on the tiny model: a
conversation longer than its context loses its oldest turns, and says so."""

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage

from genhub import artifacts
from genhub.models import Conversation, Job, JobStatus, Message

URL = "/api/v1/conversations"
TEXT = "/api/v1/text/generations"


@pytest.fixture(autouse=True)
def _model(request):
    # The API tests need a default text model; the live test's `live` registers it.
    if "live" not in request.fixturenames and "alice_client" not in request.fixturenames:
        request.getfixturevalue("tiny_text")


def post(client, url, body, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", headers=headers)


def patch(client, url, body):
    return client.patch(url, data=json.dumps(body), content_type="application/json")


def start(client, **body):
    response = post(client, URL, body)
    assert response.status_code == 201, response.content
    return response.json()


def say(client, conversation, prompt, **fields):
    body = {"conversation": conversation["id"], "prompt": prompt, "max_new_tokens": 5, **fields}
    response = post(client, TEXT, body)
    assert response.status_code == 202, response.content
    return Job.objects.get(pk=response.json()["id"])


def answer(job, text, status=JobStatus.SUCCEEDED, **fields):
    Job.objects.filter(pk=job.pk).update(status=status, result={"text": text}, **fields)


def test_a_new_conversation_is_201_and_empty(alice_api, tiny_text):
    made = start(alice_api, system_prompt="Be brief.", model="tiny-text")
    assert made["title"] == "" and made["messages"] == []
    assert made["system_prompt"] == "Be brief." and made["model"] == "tiny-text"
    assert Conversation.objects.get(pk=made["id"]).owner.username == "alice"


def test_bad_fields_are_422_naming_them(alice_api):
    response = post(alice_api, URL, {"model": "no-such-model"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "model"
    assert post(alice_api, URL, {"colour": "red"}).status_code == 422
    assert post(alice_api, URL, {"title": "x" * 201}).status_code == 422
    assert post(alice_api, URL, {"title": "nul\x00"}).status_code == 422
    assert not Conversation.objects.exists()


def test_the_list_holds_only_ones_own_newest_first(alice_api, bob_api):
    first = start(alice_api, title="first")
    second = start(alice_api, title="second")
    start(bob_api, title="bob's")
    listed = alice_api.get(URL).json()
    assert [c["title"] for c in listed["items"]] == ["second", "first"]
    assert listed["count"] == 2
    # A new turn brings a conversation back to the top.
    say(alice_api, first, "Hello again")
    assert [c["id"] for c in alice_api.get(URL).json()["items"]] == [first["id"], second["id"]]


def test_q_searches_titles_questions_and_answers(alice_api, bob_api):
    titled = start(alice_api, title="Holiday plans")
    asked = start(alice_api)
    say(alice_api, asked, "What is a Zebu?")
    answered = start(alice_api)
    answer(say(alice_api, answered, "Name an animal"), "A capybara, obviously.")
    say(bob_api, start(bob_api), "zebu and capybara and holiday")

    def found(q):
        return {c["id"] for c in alice_api.get(URL, {"q": q}).json()["items"]}

    assert found("holiday") == {titled["id"]}
    assert found("zebu") == {asked["id"]}
    assert found("CAPYBARA") == {answered["id"]}
    assert found("nothing like it") == set()
    assert alice_api.get(URL, {"q": "a\x00"}).status_code == 422


def test_a_turn_appends_the_question_and_its_answer_is_the_job(alice_api):
    chat = start(alice_api, system_prompt="Be brief.")
    job = say(alice_api, chat, "  What is   the capital of France?  ")
    assert job.params["conversation"] == chat["id"]
    assert job.params["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "  What is   the capital of France?  "},
    ]
    shown = alice_api.get(f"{URL}/{chat['id']}").json()
    assert shown["title"] == "What is the capital of France?"
    assert shown["model"] == "tiny-text"
    question, reply = shown["messages"]
    assert question["role"] == "user" and question["job"] is None and question["status"] is None
    assert reply["role"] == "assistant" and reply["job"] == str(job.pk)
    assert reply["parent"] == question["id"]
    assert reply["status"] == "queued" and reply["content"] == ""

    answer(job, "Paris.")
    reply = alice_api.get(f"{URL}/{chat['id']}").json()["messages"][1]
    assert reply["status"] == "succeeded" and reply["content"] == "Paris."

    # The next turn sends the whole conversation, the answer included.
    second = say(alice_api, chat, "And of Italy?")
    assert [m["content"] for m in second.params["messages"]] == [
        "Be brief.",
        "  What is   the capital of France?  ",
        "Paris.",
        "And of Italy?",
    ]
    assert len(alice_api.get(f"{URL}/{chat['id']}").json()["messages"]) == 4


def test_a_failed_answer_stays_visible_but_is_not_sent_again(alice_api):
    chat = start(alice_api)
    answer(say(alice_api, chat, "First"), "", status=JobStatus.FAILED, error="It broke.")
    shown = alice_api.get(f"{URL}/{chat['id']}").json()["messages"]
    assert shown[1]["status"] == "failed" and shown[1]["error"] == "It broke."
    job = say(alice_api, chat, "Second")
    assert job.params["messages"] == [{"role": "user", "content": "First\n\nSecond"}]


def test_a_turn_takes_the_conversations_model_and_a_named_one_sticks(alice_api, tiny_text):
    from genhub.models import AIModel

    other = AIModel.objects.get(pk=tiny_text.pk)
    other.pk, other.name, other.is_default = None, "tiny-text-2", False
    other.save()
    chat = start(alice_api, model="tiny-text-2")
    assert say(alice_api, chat, "Hi").model == other
    assert say(alice_api, chat, "Again", model="tiny-text").model == tiny_text
    assert alice_api.get(f"{URL}/{chat['id']}").json()["model"] == "tiny-text"


def test_a_turn_gives_its_question_as_prompt(alice_api):
    chat = start(alice_api)
    body = {"conversation": chat["id"], "messages": [{"role": "user", "content": "Hi"}]}
    response = post(alice_api, TEXT, body)
    assert response.status_code == 422
    assert "give the new user message as `prompt`" in json.dumps(response.json())
    assert post(alice_api, TEXT, {"conversation": "nope", "prompt": "Hi"}).status_code == 422
    assert not Message.objects.exists()


def test_a_refused_turn_appends_nothing(alice_api):
    chat = start(alice_api)
    response = post(alice_api, TEXT, {"conversation": chat["id"], "prompt": "Hi", "top_p": 0})
    assert response.status_code == 422
    assert not Message.objects.exists() and not Job.objects.exists()


def test_a_repeated_idempotency_key_appends_once(alice_api):
    chat = start(alice_api)
    body = {"conversation": chat["id"], "prompt": "Once", "max_new_tokens": 5}
    first = post(alice_api, TEXT, body, **{"Idempotency-Key": "turn-1"})
    again = post(alice_api, TEXT, body, **{"Idempotency-Key": "turn-1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert Message.objects.count() == 2


def test_turns_past_the_request_limit_are_left_out_and_it_says_so(alice_api):
    assert settings.GENHUB_MAX_PROMPT_CHARS == 2000  # tests/environment.py
    chat = start(alice_api)
    for number in range(3):
        answer(say(alice_api, chat, f"{number} " + "x" * 800), "ok")
    job = Job.objects.filter(modality="text").order_by("created_at").last()
    assert [m["content"][0] for m in job.params["messages"]] == ["1", "o", "2"]
    last = alice_api.get(f"{URL}/{chat['id']}").json()["messages"][-1]
    assert last["truncated_turns"] == 1
    assert last["note"] == (
        "The oldest turn was left out: the whole conversation did not fit the model's context."
    )


def test_patch_renames_and_changes_the_system_prompt_and_model(alice_api, tiny_text):
    chat = start(alice_api, model="tiny-text")
    say(alice_api, chat, "A first message to name it")
    changed = patch(
        alice_api, f"{URL}/{chat['id']}", {"title": "  Renamed ", "system_prompt": "Hi"}
    )
    assert changed.status_code == 200
    assert changed.json()["title"] == "Renamed" and changed.json()["system_prompt"] == "Hi"
    assert changed.json()["model"] == "tiny-text"
    assert patch(alice_api, f"{URL}/{chat['id']}", {"model": None}).json()["model"] is None
    assert patch(alice_api, f"{URL}/{chat['id']}", {"model": "nope"}).status_code == 422
    assert patch(alice_api, f"{URL}/{chat['id']}", {"owner": 2}).status_code == 422
    # A rename sticks: later turns do not retitle it.
    say(alice_api, chat, "Another message")
    assert alice_api.get(f"{URL}/{chat['id']}").json()["title"] == "Renamed"


def test_delete_removes_the_conversation_its_jobs_and_their_files(
    alice_api, alice, django_capture_on_commit_callbacks
):
    chat = start(alice_api)
    kept = start(alice_api)
    jobs = [say(alice_api, chat, "One"), say(alice_api, chat, "Two")]
    other = say(alice_api, kept, "Stays")
    made = artifacts.save_output(jobs[0], 0, b"file bytes", mime_type="text/plain", extension="txt")
    path = Path(settings.MEDIA_ROOT) / made.file.name
    assert path.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.delete(f"{URL}/{chat['id']}")
    assert response.status_code == 204
    assert not Conversation.objects.filter(pk=chat["id"]).exists()
    assert not Job.objects.filter(pk__in=[j.pk for j in jobs]).exists()
    assert not default_storage.exists(made.file.name) and not path.exists()
    assert Job.objects.filter(pk=other.pk).exists()
    assert alice_api.get(f"{URL}/{chat['id']}").status_code == 404


def test_another_user_gets_404_for_every_one_of_alices(alice_api, bob_api):
    chat = start(alice_api, title="private")
    job = say(alice_api, chat, "secret")
    url = f"{URL}/{chat['id']}"
    assert bob_api.get(url).status_code == 404
    assert patch(bob_api, url, {"title": "mine now"}).status_code == 404
    assert bob_api.delete(url).status_code == 404
    assert post(bob_api, TEXT, {"conversation": chat["id"], "prompt": "hi"}).status_code == 404
    assert bob_api.get(URL).json()["items"] == []
    assert bob_api.get(URL, {"q": "secret"}).json()["items"] == []
    assert bob_api.get(f"/api/v1/jobs/{job.pk}").status_code == 404
    # Nothing of alice's changed.
    shown = alice_api.get(url).json()
    assert shown["title"] == "private" and len(shown["messages"]) == 2
    assert Job.objects.count() == 1


def test_without_credentials_it_is_401(client):
    assert client.get(URL).status_code == 401
    assert client.post(URL, data="{}", content_type="application/json").status_code == 401


# --- with a worker -------------------------------------------------------------

# The tiny model holds 4400 tokens; each of these questions is about 1650
# (CJK characters it never saw are three byte-level tokens each), within the
# 2000 characters a test request may carry.
LONG = "量子猫" * 183


@pytest.mark.django_db(transaction=True)
def test_a_conversation_longer_than_the_context_drops_its_oldest_turns(alice_client, text_worker):
    chat = alice_client.http.post("/conversations", json={"system_prompt": "Be brief."}).json()

    def turn(prompt):
        body = {"conversation": chat["id"], "prompt": prompt, "max_new_tokens": 4, "seed": 1}
        job = alice_client.generate_text(**body)
        return alice_client.wait(job["id"], {"succeeded", "failed"})

    first = turn("1" + LONG)
    second = turn("2" + LONG)
    assert first["status"] == second["status"] == "succeeded", second["error"]
    assert first["result"]["truncated_turns"] == second["result"]["truncated_turns"] == 0
    third = turn("3" + LONG)
    assert third["status"] == "succeeded", third["error"]
    assert third["result"]["truncated_turns"] == 1
    assert third["result"]["note"] == (
        "The oldest turn was left out to fit the model's context of 4400 tokens."
    )
    assert third["metrics"]["truncated_turns"] == 1
    assert third["result"]["usage"]["prompt_tokens"] + 4 <= 4400
    # The job carries the whole conversation; the worker left the first turn out.
    assert [m["content"][:1] for m in third["params"]["messages"]][:2] == ["B", "1"]

    shown = alice_client.http.get(f"/conversations/{chat['id']}").json()
    assert [m["role"] for m in shown["messages"]] == ["user", "assistant"] * 3
    last = shown["messages"][-1]
    assert last["content"] == third["result"]["text"] and last["truncated_turns"] == 1
    assert "left out" in last["note"]


# --- the chat page without JavaScript ---------------------------------------------


@pytest.fixture
def alice_browser(alice):
    from django.test import Client

    client = Client()
    client.force_login(alice)
    return client


def test_the_page_opens_the_conversation_its_url_names(alice_browser, alice_api, bob_api):
    chat = start(alice_api, system_prompt="Be brief.")
    answer(say(alice_api, chat, "What is a zebu?"), "A humped ox.")
    start(alice_api, title="Another one")
    page = alice_browser.get("/text/", {"c": chat["id"]}).content.decode()
    assert "What is a zebu?" in page and "A humped ox." in page and "Another one" in page
    assert f'name="conversation" value="{chat["id"]}"' in page
    assert ">Be brief.</textarea>" in page
    searched = alice_browser.get("/text/", {"q": "humped"}).content.decode()
    assert "What is a zebu?" in searched and "Another one" not in searched
    bobs = start(bob_api, title="bob's")
    assert alice_browser.get("/text/", {"c": bobs["id"]}).status_code == 404
    assert alice_browser.get("/text/", {"c": "not-an-id"}).status_code == 404


def test_a_form_post_continues_the_open_conversation(alice_browser):
    response = alice_browser.post("/text/", {"system": "Be brief.", "message": "First"})
    chat = Conversation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/text/?c={chat.pk}"
    answer(Job.objects.get(), "One.")
    alice_browser.post(
        "/text/", {"conversation": str(chat.pk), "system": "Be brief.", "message": "Second"}
    )
    latest = Job.objects.order_by("created_at").last()
    assert [m["content"] for m in latest.params["messages"]] == [
        "Be brief.",
        "First",
        "One.",
        "Second",
    ]
    page = alice_browser.get(f"/text/?c={chat.pk}").content.decode()
    assert '<meta http-equiv="refresh"' in page  # the answer is on its way
    refused = alice_browser.post("/text/", {"message": "   "})
    assert refused.status_code == 422 and Conversation.objects.count() == 1


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", "", '{"title": "\\ud800"}'),
        ("post", "", '{"system_prompt": "a\\u0000b"}'),
        ("post", "", '{"model": 5}'),
        ("post", "", "[]"),
        ("get", "?q=%ED%A0%80", None),
        ("get", "?page=0", None),
        ("get", "/not-a-uuid", None),
        ("patch", "/{id}", '{"title": "\\ud800"}'),
        ("patch", "/{id}", '{"system_prompt": null, "title": null}'),
        ("patch", "/{id}", '{"model": "\\u0000"}'),
        ("delete", "/00000000-0000-0000-0000-000000000000", None),
    ],
)
def test_odd_requests_get_4xx_not_5xx(alice_api, method, path, body):
    chat = start(alice_api)
    url = URL + path.replace("{id}", chat["id"])
    send = getattr(alice_api, method)
    response = send(url, data=body, content_type="application/json") if body else send(url)
    assert response.status_code < 500, response.content
