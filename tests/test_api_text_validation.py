"""Bad text requests get 422 naming the field and the reason, never 500."""

import json

import pytest

from genhub.models import Job

URL = "/api/v1/text/generations"


def post(client, body):
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post(URL, data=raw, content_type="application/json")


def error_for(response):
    assert response.status_code == 422, response.content
    return response.json()["detail"]


def fields(detail):
    return [e["loc"][-1] for e in detail]


@pytest.fixture(autouse=True)
def _model(tiny_text):
    return tiny_text


@pytest.mark.parametrize(
    "body, field, reason",
    [
        ({"prompt": ""}, "prompt", "empty"),
        ({"prompt": "   "}, "prompt", "empty"),
        ({"prompt": "x" * 2001}, "prompt", "limit is 2000"),
        ({"prompt": "hi", "max_new_tokens": 0}, "max_new_tokens", "greater than or equal to 1"),
        ({"prompt": "hi", "max_new_tokens": 4097}, "max_new_tokens", "less than or equal to 4096"),
        ({"prompt": "hi", "temperature": -0.1}, "temperature", "greater than or equal to 0"),
        ({"prompt": "hi", "temperature": 2.5}, "temperature", "less than or equal to 2"),
        ({"prompt": "hi", "top_p": 0}, "top_p", "greater than 0"),
        ({"prompt": "hi", "seed": -1}, "seed", "greater than or equal to 0"),
        ({"prompt": "hi", "stop": [""]}, "stop", "1 to 100 characters"),
        ({"prompt": "a\u0000b"}, "prompt", "NUL character"),
        ({"prompt": "hi", "stop": ["\u0000"]}, "stop", "NUL character"),
        ({"prompt": "hi", "colour": "blue"}, "colour", "Extra inputs are not permitted"),
        ({"prompt": "hi", "max_new_tokens": "many"}, "max_new_tokens", "valid integer"),
        (
            {"messages": [{"role": "robot", "content": "hi"}]},
            "role",
            "'system', 'user' or 'assistant'",
        ),
    ],
)
def test_out_of_bounds_fields_are_named(alice_api, body, field, reason):
    detail = error_for(post(alice_api, body))
    assert field in fields(detail)
    assert any(reason in e["msg"] for e in detail), detail
    assert not Job.objects.exists()


def test_both_prompt_and_messages_is_refused(alice_api):
    detail = error_for(
        post(alice_api, {"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]})
    )
    assert "exactly one of `prompt` or `messages`" in detail[0]["msg"]


def test_neither_prompt_nor_messages_is_refused(alice_api):
    detail = error_for(post(alice_api, {"max_new_tokens": 5}))
    assert "exactly one of `prompt` or `messages`" in detail[0]["msg"]


def test_empty_messages_are_refused(alice_api):
    detail = error_for(post(alice_api, {"messages": []}))
    assert "at least one message" in detail[0]["msg"]


def test_unknown_model_names_the_available_ones(alice_api):
    detail = error_for(post(alice_api, {"prompt": "hi", "model": "gpt-17"}))
    assert fields(detail) == ["model"]
    assert "Unknown text model 'gpt-17'" in detail[0]["msg"]
    assert "tiny-text" in detail[0]["msg"]


def test_a_nul_in_the_model_name_is_a_422_naming_it(alice_api):
    # PostgreSQL cannot compare text holding NUL: this was a 500 (found by tests/test_api_fuzz.py).
    detail = error_for(post(alice_api, {"prompt": "hi", "model": "tiny\u0000text"}))
    assert [e["loc"] for e in detail] == [["body", "model"]]
    assert "NUL" in detail[0]["msg"]
    assert not Job.objects.exists()


def test_disabled_model_is_refused(alice_api, tiny_text):
    tiny_text.enabled = False
    tiny_text.save()
    detail = error_for(post(alice_api, {"prompt": "hi", "model": "tiny-text"}))
    assert fields(detail) == ["model"]
    assert "disabled" in detail[0]["msg"]


def test_no_default_model_says_how_to_get_one(alice_api, tiny_text):
    tiny_text.is_default = False
    tiny_text.save()
    detail = error_for(post(alice_api, {"prompt": "hi"}))
    assert "bootstrap_models" in detail[0]["msg"]


def test_malformed_json_is_a_422_with_the_position(alice_api):
    detail = error_for(post(alice_api, '{"prompt": "hi",'))
    assert detail[0]["loc"] == ["body"]
    assert detail[0]["msg"].startswith("Malformed JSON")
    assert "line 1" in detail[0]["msg"]


def test_a_body_that_is_not_an_object_is_a_422(alice_api):
    response = post(alice_api, '["prompt"]')
    assert response.status_code == 422


def test_model_defaults_are_checked_like_the_request(alice_api, tiny_text):
    # Written around the admin (whose form would refuse it): the job is refused,
    # naming the model and the bad default, before anything is queued.
    tiny_text.default_params = {"temperature": 9}
    tiny_text.save()
    detail = error_for(post(alice_api, {"prompt": "hi"}))
    assert fields(detail) == ["model"]
    assert "'tiny-text' is misconfigured" in detail[0]["msg"]
    assert "temperature" in detail[0]["msg"]


def test_a_valid_request_is_accepted_with_defaults_applied(alice_api, tiny_text):
    tiny_text.default_params = {"temperature": 0.3}
    tiny_text.save()
    response = post(alice_api, {"prompt": "hi", "max_new_tokens": 8})
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["status"] == "queued"
    assert job["params"]["temperature"] == 0.3
    assert job["params"]["max_new_tokens"] == 8
    assert job["model"] == "tiny-text"


# --- messages read as sentences ------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"max_new_tokens": 5},
        {"prompt": ""},
        {"prompt": "hi", "stop": [""]},
        {"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]},
        {"messages": [{"role": "user"}]},
    ],
)
def test_messages_have_no_pydantic_prefix(alice_api, body):
    for error in error_for(post(alice_api, body)):
        assert "Value error" not in error["msg"], error
        assert error["msg"].endswith("."), error


def test_a_missing_prompt_names_the_field(alice_api, tiny_image):
    detail = error_for(post(alice_api, {"max_new_tokens": 5}))
    assert "`prompt`" in detail[0]["msg"]
    response = alice_api.post("/api/v1/images/generations", {"steps": 3}, "application/json")
    assert error_for(response) == [
        {"type": "missing", "loc": ["body", "prompt"], "msg": "The prompt field is required."}
    ]


def test_a_missing_message_field_is_named_with_its_place(alice_api):
    detail = error_for(post(alice_api, {"messages": [{"role": "user"}]}))
    assert detail[0]["msg"] == "The messages[0].content field is required."


# --- the API docs --------------------------------------------------------------


def test_the_docs_example_is_a_valid_request(alice_api):
    described = alice_api.get("/api/v1/openapi.json").json()
    body = described["paths"][URL]["post"]["requestBody"]["content"]["application/json"]
    schema = described["components"]["schemas"][body["schema"]["$ref"].split("/")[-1]]
    assert body["example"] == schema["examples"][0]  # what "Try it out" sends
    response = post(alice_api, body["example"])
    assert response.status_code == 202, response.content
