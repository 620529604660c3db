"""The OpenAI-compatible layer's answers that need no worker: errors in OpenAI's
shape (400 naming `param`, 401, 403, 404 `model_not_found`, 429, 503), the
model list and the schema. Jobs that run are in test_openai_compat.py."""

import pytest
from django.test import Client

from genhub.errors import QuotaExceeded
from genhub.models import AIModel, ApiKey, Job

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
IMAGES = "/v1/images/generations"


def post(client, path, body, **headers):
    return client.post(path, body, content_type="application/json", headers=headers)


def chat(model, **fields):
    return {"model": model, "messages": [{"role": "user", "content": "Hi"}], **fields}


def assert_error(response, status, param=None, code=None, type="invalid_request_error"):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    assert error["type"] == type
    assert error["param"] == param
    assert error["code"] == code
    return error


@pytest.mark.django_db
def test_no_key_is_401_in_openai_shape():
    response = post(Client(), CHAT, chat("tiny-text"))
    error = assert_error(response, 401)
    assert "API key" in error["message"]
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.django_db
def test_a_wrong_key_is_401_invalid_api_key():
    client = Client(headers={"Authorization": "Bearer gh_nope_nope"})
    assert_error(client.get("/v1/models"), 401, code="invalid_api_key")


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_completion_tokens": 5000}, "max_completion_tokens"),
        ({"temperature": 3}, "temperature"),
        ({"n": 9}, "n"),
        ({"seed": -1}, "seed"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"stop": [""]}, "stop"),
        ({"stop": 5}, "stop"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"model": ""}, "model"),
        ({"model": "a\x00b"}, "model"),
    ],
)
def test_bad_chat_fields_are_400_naming_the_param(alice_api, tiny_text, fields, param):
    assert_error(post(alice_api, CHAT, chat(tiny_text.name) | fields), 400, param=param)
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"logprobs": True}, "logprobs"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"messages": [{"role": "tool", "content": "x", "tool_call_id": "1"}]}, "messages[0].role"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
            "messages[0].content[0]",
        ),
    ],
)
def test_what_would_change_the_meaning_is_refused_saying_so(alice_api, tiny_text, fields, param):
    error = assert_error(post(alice_api, CHAT, chat(tiny_text.name) | fields), 400, param=param)
    assert "not" in error["message"]


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"echo": True}, "echo"),
        ({"logprobs": 2}, "logprobs"),
        ({"suffix": "end"}, "suffix"),
        ({"prompt": []}, "prompt"),
        ({"prompt": ["a", "b", "c"], "n": 3}, "n"),
        ({"max_tokens": 0}, "max_tokens"),
    ],
)
def test_bad_completion_fields_are_400(alice_api, tiny_text, fields, param):
    body = {"model": tiny_text.name, "prompt": "Once"} | fields
    assert_error(post(alice_api, COMPLETIONS, body), 400, param=param)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"size": "big"}, "size"),
        ({"size": "513x512"}, "size"),
        ({"size": "100000x8"}, "size"),
        ({"n": 0}, "n"),
        ({"response_format": "jpeg"}, "response_format"),
        ({"prompt": ""}, "prompt"),
    ],
)
def test_bad_image_fields_are_400(alice_api, tiny_image, fields, param):
    body = {"model": tiny_image.name, "prompt": "a cat"} | fields
    assert_error(post(alice_api, IMAGES, body), 400, param=param)


def test_malformed_json_is_400(alice_api, tiny_text):
    response = alice_api.post(CHAT, "{nope", content_type="application/json")
    assert "Malformed JSON" in assert_error(response, 400)["message"]


def test_an_unknown_model_is_404_model_not_found(alice_api, tiny_text):
    response = post(alice_api, CHAT, chat("no-such-model"))
    assert_error(response, 404, param="model", code="model_not_found")
    assert_error(
        alice_api.get("/v1/models/no-such-model"), 404, code="model_not_found", param="model"
    )


def test_a_disabled_model_is_404(alice_api, tiny_text):
    tiny_text.enabled = False
    tiny_text.save()
    assert_error(
        post(alice_api, CHAT, chat(tiny_text.name)), 404, param="model", code="model_not_found"
    )


def test_a_model_of_another_modality_names_the_model(alice_api, tiny_image, tiny_text):
    error = assert_error(
        post(alice_api, CHAT, chat(tiny_image.name)), 400, param="model", code="model_not_supported"
    )
    assert "image model" in error["message"] and "/v1/images/generations" in error["message"]
    body = {"model": tiny_text.name, "prompt": "a cat"}
    assert_error(post(alice_api, IMAGES, body), 400, param="model", code="model_not_supported")


def test_models_lists_every_enabled_model_of_every_modality(
    alice_api, tiny_text, tiny_image, tiny_audio
):
    tiny_audio.enabled = False
    tiny_audio.save()
    response = alice_api.get("/v1/models")
    assert response.status_code == 200
    listing = response.json()
    assert listing["object"] == "list"
    listed = {m["id"] for m in listing["data"]}
    assert listed == set(AIModel.objects.filter(enabled=True).values_list("name", flat=True))
    assert {tiny_text.name, tiny_image.name} <= listed and tiny_audio.name not in listed
    for model in listing["data"]:
        assert model["object"] == "model" and model["owned_by"] == "genhub"
        assert isinstance(model["created"], int)
    one = alice_api.get(f"/v1/models/{tiny_text.name}").json()
    assert one["id"] == tiny_text.name


def test_a_key_scoped_to_images_may_not_chat(alice, tiny_text):
    _, key = ApiKey.issue(alice, scopes=["image"])
    client = Client(headers={"Authorization": f"Bearer {key}"})
    assert_error(post(client, CHAT, chat(tiny_text.name)), 403, type="permission_error")


def test_no_worker_is_503_with_retry_after(alice_api, tiny_text, settings):
    settings.GENHUB_ACCEPT_WITHOUT_WORKERS = False
    response = post(alice_api, CHAT, chat(tiny_text.name))
    assert_error(response, 503, type="server_error", code="no_worker")
    assert response["Retry-After"] == "30"


@pytest.mark.parametrize(
    ("limit", "kind"),
    [
        ("requests_per_minute", "rate_limit_exceeded"),
        ("max_queued", "rate_limit_exceeded"),
        ("compute_seconds_per_day", "insufficient_quota"),
    ],
)
def test_a_quota_refusal_is_429_with_retry_after(alice_api, tiny_text, monkeypatch, limit, kind):
    def over_quota(*args, **kwargs):
        raise QuotaExceeded(limit, "You are over your limit.", 42)

    monkeypatch.setattr("genhub.api.openai.text.submit_generation", over_quota)
    response = post(alice_api, CHAT, chat(tiny_text.name))
    assert_error(response, 429, type=kind, code=kind)
    assert response["Retry-After"] == "42"


def test_a_second_choice_refused_takes_the_first_back(alice_api, tiny_text, monkeypatch):
    from genhub.api.openai import text

    submitted = text.submit_generation
    calls = []

    def second_over_quota(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise QuotaExceeded("max_queued", "Too many queued jobs.", 5)
        return submitted(*args, **kwargs)

    monkeypatch.setattr("genhub.api.openai.text.submit_generation", second_over_quota)
    response = post(alice_api, CHAT, chat(tiny_text.name, n=2))
    assert response.status_code == 429
    assert list(Job.objects.values_list("status", flat=True)) == ["cancelled"]


def test_the_schema_is_served(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/v1/models",
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/images/generations",
    } <= set(paths)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "[]",
        "null",
        '"text"',
        '{"model": 1, "messages": "x"}',
        '{"model": "tiny-text", "messages": [{"role": "user", "content": "hi"}], "temperature": NaN}',
        '{"model": "tiny-text", "messages": [{"role": "user", "content": "\\ud800"}]}',
        '{"model": "tiny-text", "messages": [{"role": "user", "content": null}], "n": null}',
        '{"model": "tiny-text", "prompt": [1, 2, 3]}',
    ],
)
@pytest.mark.parametrize("path", [CHAT, COMPLETIONS, IMAGES])
def test_odd_bodies_are_400_never_5xx(alice_api, tiny_text, raw, path):
    response = alice_api.post(path, raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_the_real_queue_quota_answers_429_and_n_over_it_keeps_nothing(
    alice_api, tiny_text, settings
):
    settings.GENHUB_QUOTA_MAX_QUEUED = 1
    # Streamed, so the request answers once its job is queued (no worker runs here).
    first = post(alice_api, CHAT, chat(tiny_text.name, stream=True))
    assert first.status_code == 200
    assert first["Content-Type"].startswith("text/event-stream")
    assert first["X-GenHub-Job"] == str(Job.objects.get().pk)
    response = post(alice_api, CHAT, chat(tiny_text.name))
    error = assert_error(response, 429, type="rate_limit_exceeded", code="rate_limit_exceeded")
    assert int(response["Retry-After"]) >= 1
    assert error["message"]
    Job.objects.update(status="cancelled")
    assert post(alice_api, CHAT, chat(tiny_text.name, n=2, stream=True)).status_code == 429
    assert Job.objects.filter(status="queued").count() == 0


@pytest.fixture
def forget_idempotency_keys():
    from genhub import redis_clients

    store = redis_clients.client()
    for key in store.scan_iter("genhub:idempotency:*"):
        store.delete(key)


def test_idempotency_key_makes_a_repeat_return_the_same_jobs(
    alice_api, tiny_text, forget_idempotency_keys
):
    def jobs(**fields):
        response = post(
            alice_api,
            CHAT,
            chat(tiny_text.name, stream=True, **fields),
            **{"Idempotency-Key": "o-1"},
        )
        assert response.status_code == 200
        return response["X-GenHub-Job"].split(", ")

    first = jobs(n=2)
    assert len(set(first)) == 2
    assert jobs(n=2) == first
    assert Job.objects.count() == 2
