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


# --- versions: regenerate, edit, continue, switch ----------------------------------


def shown(client, chat):
    return client.get(f"{URL}/{chat['id']}").json()["messages"]


def act(client, chat, **fields):
    return post(client, TEXT, {"conversation": chat["id"], "max_new_tokens": 5, **fields})


def test_regenerate_makes_a_sibling_answer_and_both_stay_reachable(alice_api):
    chat = start(alice_api)
    answer(say(alice_api, chat, "Name a colour"), "Red.")
    question, first = shown(alice_api, chat)
    response = act(alice_api, chat, parent=question["id"])
    assert response.status_code == 202, response.content
    again = Job.objects.get(pk=response.json()["id"])
    # The same history, and no second question.
    assert again.params["messages"] == [{"role": "user", "content": "Name a colour"}]
    assert again.params["continue_final_message"] is False
    answer(again, "Blue.")
    question, second = shown(alice_api, chat)
    assert second["content"] == "Blue." and second["parent"] == question["id"]
    assert second["siblings"] == [first["id"], second["id"]] and second["sibling_index"] == 1
    assert second["sibling_count"] == 2
    assert question["siblings"] == [question["id"]] and question["sibling_index"] == 0

    switched = patch(alice_api, f"{URL}/{chat['id']}", {"leaf": first["id"]})
    assert switched.status_code == 200
    back = switched.json()["messages"][1]
    assert back["content"] == "Red." and back["sibling_index"] == 0
    # The next turn follows the shown answer.
    follow = say(alice_api, chat, "Another")
    assert [m["content"] for m in follow.params["messages"]] == ["Name a colour", "Red.", "Another"]


def test_an_edit_branches_the_conversation_and_the_old_branch_stays(alice_api):
    chat = start(alice_api)
    answer(say(alice_api, chat, "First"), "One.")
    answer(say(alice_api, chat, "Second"), "Two.")
    first_q, first_a, second_q, _ = shown(alice_api, chat)

    response = act(alice_api, chat, prompt="Second, edited", parent=first_a["id"])
    assert response.status_code == 202, response.content
    edited = Job.objects.get(pk=response.json()["id"])
    assert [m["content"] for m in edited.params["messages"]] == ["First", "One.", "Second, edited"]
    now = shown(alice_api, chat)
    assert [m["content"] for m in now[:3]] == ["First", "One.", "Second, edited"]
    assert now[2]["siblings"] == [second_q["id"], now[2]["id"]] and now[2]["sibling_index"] == 1

    # The first message can be edited too: parent null starts again from the top.
    response = act(alice_api, chat, prompt="First, edited", parent=None)
    assert response.status_code == 202, response.content
    top = shown(alice_api, chat)
    assert [m["content"] for m in top[:1]] == ["First, edited"] and len(top) == 2
    assert top[0]["siblings"][0] == first_q["id"] and top[0]["sibling_index"] == 1

    old = patch(alice_api, f"{URL}/{chat['id']}", {"leaf": second_q["id"]}).json()["messages"]
    assert [m["content"] for m in old] == ["First", "One.", "Second", "Two."]


def test_continue_sends_the_partial_answer_and_joins_it(alice_api):
    chat = start(alice_api, system_prompt="Be brief.")
    job = say(alice_api, chat, "Count to ten")
    answer(job, "1 2 3 4")
    Job.objects.filter(pk=job.pk).update(result={"text": "1 2 3 4", "finish_reason": "length"})
    _, cut = shown(alice_api, chat)
    assert cut["finish_reason"] == "length"

    response = act(alice_api, chat, continue_message=cut["id"])
    assert response.status_code == 202, response.content
    more = Job.objects.get(pk=response.json()["id"])
    # The model is sent the answer so far as the start of its own turn.
    assert more.params["messages"][-1] == {"role": "assistant", "content": "1 2 3 4"}
    assert more.params["continue_final_message"] is True
    answer(more, " 5 6")
    messages = shown(alice_api, chat)
    assert [m["role"] for m in messages] == ["user", "assistant", "assistant"]
    assert messages[2]["parent"] == cut["id"] and messages[2]["content"] == " 5 6"
    # The next turn sees one answer: the two joined.
    follow = say(alice_api, chat, "Thanks")
    assert follow.params["messages"][-2] == {"role": "assistant", "content": "1 2 3 4 5 6"}
    assert follow.params["continue_final_message"] is False


def test_bad_versions_are_4xx_naming_the_field(alice_api, bob_api):
    chat = start(alice_api)
    answer(say(alice_api, chat, "Hi"), "Hello.")
    question, reply = shown(alice_api, chat)
    other = start(alice_api)
    answer(say(alice_api, other, "Elsewhere"), "Yes.")
    elsewhere, _ = shown(alice_api, other)
    bobs = start(bob_api)
    say(bob_api, bobs, "Bob's")
    bob_message = shown(bob_api, bobs)[0]
    before = Message.objects.count()

    def field_of(response):
        assert response.status_code == 422, response.content
        return response.json()["detail"][0]["loc"][-1]

    assert field_of(act(alice_api, chat, parent=elsewhere["id"])) == "parent"
    assert field_of(act(alice_api, chat, continue_message=elsewhere["id"])) == "continue_message"
    assert field_of(patch(alice_api, f"{URL}/{chat['id']}", {"leaf": elsewhere["id"]})) == "leaf"
    assert act(alice_api, chat, parent=bob_message["id"]).status_code == 404
    assert act(alice_api, chat, continue_message=bob_message["id"]).status_code == 404
    assert patch(alice_api, f"{URL}/{chat['id']}", {"leaf": bob_message["id"]}).status_code == 404
    # A new message follows an answer; answering again takes a question.
    assert field_of(act(alice_api, chat, prompt="x", parent=question["id"])) == "parent"
    assert field_of(act(alice_api, chat, parent=reply["id"])) == "parent"
    # Only an answer with text goes on, and only the last of its branch.
    assert field_of(act(alice_api, chat, continue_message=question["id"])) == "continue_message"
    say(alice_api, chat, "More")
    assert field_of(act(alice_api, chat, continue_message=reply["id"])) == "continue_message"
    assert act(alice_api, chat, continue_message=reply["id"], prompt="x").status_code == 422
    assert post(alice_api, TEXT, {"prompt": "x", "parent": reply["id"]}).status_code == 422
    assert patch(alice_api, f"{URL}/{chat['id']}", {"leaf": None}).status_code == 422
    assert act(alice_api, chat, parent="not-an-id").status_code == 422
    assert Message.objects.count() == before + 2  # only "More" and its answer


def test_from_job_makes_a_conversation_of_a_standalone_job(alice_api, bob_api):
    body = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Name a fruit"},
            {"role": "assistant", "content": "Apple."},
            {"role": "user", "content": "Another"},
        ],
        "max_new_tokens": 5,
    }
    response = post(alice_api, TEXT, body)
    job = Job.objects.get(pk=response.json()["id"])
    assert post(alice_api, URL, {"from_job": str(job.pk)}).status_code == 422  # no answer yet
    answer(job, "Pear.")
    assert post(bob_api, URL, {"from_job": str(job.pk)}).status_code == 404
    assert post(alice_api, URL, {"from_job": str(job.pk), "title": "x"}).status_code == 422

    made = post(alice_api, URL, {"from_job": str(job.pk)})
    assert made.status_code == 201, made.content
    chat = made.json()
    assert chat["system_prompt"] == "Be brief." and chat["title"] == "Name a fruit"
    assert [(m["role"], m["content"], m["status"]) for m in chat["messages"]] == [
        ("user", "Name a fruit", None),
        ("assistant", "Apple.", "succeeded"),
        ("user", "Another", None),
        ("assistant", "Pear.", "succeeded"),
    ]
    # It goes on like any other, and deleting it leaves the job alone.
    follow = say(alice_api, chat, "And one more")
    assert [m["content"] for m in follow.params["messages"]][-3:] == [
        "Another",
        "Pear.",
        "And one more",
    ]
    assert alice_api.delete(f"{URL}/{chat['id']}").status_code == 204
    assert Job.objects.filter(pk=job.pk).exists()


def test_from_job_opens_the_conversation_a_turn_belongs_to_at_that_branch(alice_api):
    chat = start(alice_api)
    first = say(alice_api, chat, "Hi")
    answer(first, "Hello.")
    question, _ = shown(alice_api, chat)
    answer(Job.objects.get(pk=act(alice_api, chat, parent=question["id"]).json()["id"]), "Hey.")
    opened = post(alice_api, URL, {"from_job": str(first.pk)})
    assert opened.status_code == 200, opened.content
    assert opened.json()["id"] == chat["id"]
    assert opened.json()["messages"][1]["content"] == "Hello."
    assert Conversation.objects.count() == 1


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


@pytest.mark.django_db(transaction=True)
def test_continuing_a_cut_off_answer_on_the_local_runner(alice_client, text_worker):
    from transformers import AutoTokenizer

    from genhub.models import AIModel
    from textgen.params import TextParams
    from textgen.runner import encode

    chat = alice_client.http.post("/conversations", json={}).json()
    turn = {"conversation": chat["id"], "max_new_tokens": 6, "seed": 3}
    first = alice_client.generate_text(prompt="Hello", **turn)
    first = alice_client.wait(first["id"], {"succeeded", "failed"})
    assert first["status"] == "succeeded", first["error"]
    assert first["result"]["finish_reason"] == "length"  # the tiny model never stops
    cut = alice_client.http.get(f"/conversations/{chat['id']}").json()["messages"][1]
    assert cut["finish_reason"] == "length"

    more = alice_client.generate_text(continue_message=cut["id"], **turn)
    more = alice_client.wait(more["id"], {"succeeded", "failed"})
    assert more["status"] == "succeeded", more["error"]
    shown = alice_client.http.get(f"/conversations/{chat['id']}").json()["messages"]
    assert [m["content"] for m in shown[1:]] == [first["result"]["text"], more["result"]["text"]]

    # The model saw the answer so far as the start of its own turn, left open.
    tiny = AIModel.objects.get(name="tiny-text")
    tokenizer = AutoTokenizer.from_pretrained(tiny.source)
    ids = encode(tokenizer, TextParams.model_validate(more["params"]))["input_ids"][0]
    assert more["result"]["usage"]["prompt_tokens"] == len(ids)
    prompt = tokenizer.decode(ids)
    assert prompt.endswith("<|assistant|>" + first["result"]["text"]), prompt


@pytest.fixture(scope="module")
def engine_worker(stack_env, stack_logs):
    from tests.stack import Worker

    worker = Worker(
        stack_env,
        stack_logs / "conversations-engine.log",
        name="engine",
        queues="engine",
        pool="threads",
        concurrency=4,
    )
    yield worker
    worker.stop()


@pytest.mark.django_db(transaction=True)
def test_continuing_an_answer_through_an_engine(alice_client, engine_worker):
    from genhub.models import AIModel
    from tests.engine import ScriptedEngine

    whole = "One two three four five six seven eight nine ten."

    def script(body):
        said = body["messages"][-1]
        return whole[len(said["content"]) :] if said["role"] == "assistant" else whole

    engine = ScriptedEngine(script, delay=0.001)
    try:
        AIModel.objects.create(
            name="scripted",
            modality="text",
            source_type=AIModel.SourceType.ENGINE,
            source=engine.url,
            options={"engine_model": engine.model},
        )
        chat = alice_client.http.post("/conversations", json={"model": "scripted"}).json()
        turn = {"conversation": chat["id"], "max_new_tokens": 8}
        first = alice_client.generate_text(prompt="Count", **turn)
        first = alice_client.wait(first["id"], {"succeeded", "failed"})
        assert first["result"] == {
            **first["result"],
            "text": "One two three four ",
            "finish_reason": "length",
        }
        cut = alice_client.http.get(f"/conversations/{chat['id']}").json()["messages"][1]

        more = alice_client.generate_text(
            continue_message=cut["id"], max_new_tokens=64, conversation=chat["id"]
        )
        more = alice_client.wait(more["id"], {"succeeded", "failed"})
        assert more["status"] == "succeeded", more["error"]
        sent = engine.requests[-1]
        assert sent["messages"][-1] == {"role": "assistant", "content": "One two three four "}
        assert sent["continue_final_message"] is True and sent["add_generation_prompt"] is False
        shown = alice_client.http.get(f"/conversations/{chat['id']}").json()["messages"]
        assert "".join(m["content"] for m in shown[1:]) == whole
        assert shown[-1]["finish_reason"] == "stop"
    finally:
        engine.close()


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


def test_continue_this_chat_works_as_a_plain_form(alice_browser, alice_api, bob_api):
    made = post(alice_api, TEXT, {"prompt": "Once upon a time", "max_new_tokens": 5})
    job = Job.objects.get(pk=made.json()["id"])
    page = alice_browser.get(f"/jobs/{job.pk}/").content.decode()
    assert "Continue this chat" not in page  # no answer yet
    answer(job, " there was a fox.")
    page = alice_browser.get(f"/jobs/{job.pk}/").content.decode()
    assert "Continue this chat" in page and f'name="from_job" value="{job.pk}"' in page

    response = alice_browser.post("/text/", {"from_job": str(job.pk)})
    chat = Conversation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/text/?c={chat.pk}"
    opened = alice_browser.get(response["Location"]).content.decode()
    assert "Once upon a time" in opened and " there was a fox." in opened

    bobs = Job.objects.get(
        pk=post(bob_api, TEXT, {"prompt": "Bob's", "max_new_tokens": 5}).json()["id"]
    )
    assert alice_browser.post("/text/", {"from_job": str(bobs.pk)}).status_code == 404
    assert alice_browser.post("/text/", {"from_job": "nope"}).status_code == 404
    assert Conversation.objects.count() == 1
