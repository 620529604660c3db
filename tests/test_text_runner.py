"""The text runner on the tiny model, in this process: sampling params, seeds,
chat templates, stop strings and the limits of the model's context."""

import pytest

from genhub.errors import JobError
from genhub.jobs import submit_job
from genhub.worker.progress import JobProgress
from textgen.params import TextParams
from textgen.runner import run


def generate(alice, **params):
    job = submit_job(alice, "text", None, params)
    progress = JobProgress(job)
    return run(job, TextParams.model_validate(job.params), progress), progress


def test_the_same_seed_gives_the_same_text(alice, tiny_text):
    first, _ = generate(alice, prompt="Hello", max_new_tokens=40, temperature=1.0, seed=7)
    again, _ = generate(alice, prompt="Hello", max_new_tokens=40, temperature=1.0, seed=7)
    other, _ = generate(alice, prompt="Hello", max_new_tokens=40, temperature=1.0, seed=8)
    assert first["text"] == again["text"]
    assert first["text"] != other["text"]
    assert first["seed"] == 7


def test_without_a_seed_one_is_picked_and_recorded(alice, tiny_text):
    result, _ = generate(alice, prompt="Hello", max_new_tokens=20, temperature=1.0)
    again, _ = generate(
        alice, prompt="Hello", max_new_tokens=20, temperature=1.0, seed=result["seed"]
    )
    assert again["text"] == result["text"]


def test_greedy_decoding_needs_no_seed(alice, tiny_text):
    first, _ = generate(alice, prompt="Hello", max_new_tokens=30, temperature=0)
    again, _ = generate(alice, prompt="Hello", max_new_tokens=30, temperature=0)
    assert first["text"] == again["text"]


def test_max_new_tokens_is_honoured(alice, tiny_text):
    result, progress = generate(alice, prompt="Hello", max_new_tokens=17)
    assert result["usage"]["completion_tokens"] == 17
    assert result["finish_reason"] == "length"
    assert progress.job.progress == 1.0


def test_chat_messages_go_through_the_chat_template(alice, tiny_text):
    result, _ = generate(
        alice,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        max_new_tokens=5,
        temperature=0,
    )
    # <|system|>Be brief.<|end|><|user|>Hi<|end|><|assistant|>: a few tokens each
    assert result["usage"]["prompt_tokens"] >= 8
    assert result["usage"]["completion_tokens"] == 5


def test_a_stop_string_ends_generation_early(alice, tiny_text):
    unstopped, _ = generate(alice, prompt="Hello", max_new_tokens=200, temperature=0)
    stop = unstopped["text"][30:32]
    result, _ = generate(alice, prompt="Hello", max_new_tokens=200, temperature=0, stop=[stop])
    assert result["finish_reason"] == "stop"
    assert stop not in result["text"]
    assert unstopped["text"].startswith(result["text"])
    assert result["usage"]["completion_tokens"] < 200


def test_a_prompt_longer_than_the_context_fails_with_advice(alice, tiny_text):
    with pytest.raises(JobError, match="Shorten the prompt or lower max_new_tokens"):
        generate(alice, prompt="Hello " * 300, max_new_tokens=4096)


def test_a_conversation_past_the_context_loses_its_oldest_turns_not_its_system_prompt(
    alice, tiny_text
):
    import uuid

    long = "量子猫" * 183  # about 1650 tokens of the tiny model's 4400
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "1" + long},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "2" + long},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "3" + long},
    ]
    chat = str(uuid.uuid4())
    result, progress = generate(alice, messages=messages, conversation=chat, max_new_tokens=4)
    assert result["truncated_turns"] == 1 and progress.metrics["truncated_turns"] == 1
    assert result["note"].startswith("The oldest turn was left out")
    assert 3300 < result["usage"]["prompt_tokens"] <= 4400 - 4

    fits, _ = generate(alice, messages=messages[:4], conversation=chat, max_new_tokens=4)
    assert fits["truncated_turns"] == 0 and "note" not in fits
    # A plain chat request is never cut: it fails and says how to fix it.
    with pytest.raises(JobError, match="Shorten the prompt"):
        generate(alice, messages=messages, max_new_tokens=4)
    # Nor is a last question that does not fit on its own.
    with pytest.raises(JobError, match="Shorten the prompt"):
        generate(alice, messages=messages, conversation=chat, max_new_tokens=3000)


def test_prefill_and_decode_are_timed_apart(alice, tiny_text):
    _, progress = generate(alice, prompt="Hello", max_new_tokens=12, temperature=0)
    metrics = progress.metrics
    assert 0 < metrics["prefill_seconds"] <= metrics["generate_seconds"]
    assert metrics["decode_tokens_per_second"] > 0


def test_a_static_cache_gives_the_same_greedy_text(alice, tiny_text):
    dynamic, _ = generate(alice, prompt="Hello", max_new_tokens=24, temperature=0)
    tiny_text.options = {"compile": True}
    tiny_text.save()
    static, _ = generate(alice, prompt="Hello", max_new_tokens=24, temperature=0)
    assert static["text"] == dynamic["text"]
    assert static["usage"]["completion_tokens"] == 24


@pytest.mark.parametrize(
    ("source_type", "options", "words"),
    [
        ("hub", {"compile": "yes"}, "true or false, not 'yes'"),
        ("engine", {"engine_model": "m", "compile": True}, "only to models GenHub runs itself"),
    ],
)
def test_options_compile_is_checked(source_type, options, words):
    from genhub.models import AIModel

    row = AIModel(
        name="m",
        modality="text",
        source_type=source_type,
        source="http://127.0.0.1:1/v1",
        options=options,
    )
    assert words in row.config_problems()["options"]
