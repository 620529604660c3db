"""Token ids to text deltas: the deltas always add up to the final text, also
across multi-byte characters and stop strings."""

import pytest
import torch

from textgen.streaming import TextDeltaStreamer


@pytest.fixture(scope="module")
def tokenizer():
    from django.conf import settings
    from transformers import AutoTokenizer

    from textgen.tiny import build_tiny_text_model

    target = settings.GENHUB_MODEL_DIR / "tiny" / "text"
    if not (target / "config.json").exists():
        build_tiny_text_model(target)
    return AutoTokenizer.from_pretrained(target)


def stream(tokenizer, text, stop=()):
    deltas = []
    streamer = TextDeltaStreamer(tokenizer, list(stop), lambda delta, n: deltas.append(delta))
    streamer.put(torch.tensor([[1, 2]]))  # the prompt, which is not streamed
    for token in tokenizer(text, add_special_tokens=False)["input_ids"]:
        streamer.put(torch.tensor([token]))
        if streamer.should_stop:
            break
    streamer.end()
    return deltas, streamer


def test_deltas_add_up_to_the_text(tokenizer):
    text = "Hello world! Café 東京 🙂 over the lazy dog."
    deltas, streamer = stream(tokenizer, text)
    assert "".join(deltas) == streamer.text == text
    assert len(deltas) > 5


def test_no_delta_holds_half_a_character(tokenizer):
    deltas, _ = stream(tokenizer, "東京🙂東京")
    assert all("\ufffd" not in d for d in deltas)


def test_a_stop_string_ends_the_text_before_it(tokenizer):
    deltas, streamer = stream(tokenizer, "The quick brown fox jumps over", stop=["fox"])
    assert streamer.text == "The quick brown "
    assert "".join(deltas) == streamer.text
    assert streamer.stopped_at_stop_string


def test_text_that_might_begin_a_stop_string_is_held_back(tokenizer):
    deltas, streamer = stream(tokenizer, "Hello world, hello wonder", stop=["world peace"])
    assert streamer.text == "Hello world, hello wonder"
    assert "".join(deltas) == streamer.text
    assert not streamer.stopped_at_stop_string


def test_the_earliest_of_several_stop_strings_wins(tokenizer):
    _, streamer = stream(tokenizer, "one two three four", stop=["four", "two"])
    assert streamer.text == "one "


def test_nul_characters_are_dropped_from_text_and_deltas(tokenizer):
    # A random model can emit the byte 0; PostgreSQL cannot store it.
    deltas, streamer = stream(tokenizer, "a\x00b")
    assert streamer.text == "ab" == "".join(deltas)


def test_the_count_reaches_the_last_token_when_it_adds_no_text(tokenizer):
    # A job's progress is the count on_delta was last given; a last token that
    # decodes to nothing (here the end-of-text token, skipped) must still count.
    told = []
    streamer = TextDeltaStreamer(tokenizer, [], lambda delta, n: told.append((delta, n)))
    streamer.put(torch.tensor([[1, 2]]))  # the prompt
    for token in tokenizer("Hello", add_special_tokens=False)["input_ids"]:
        streamer.put(torch.tensor([token]))
    streamer.put(torch.tensor([tokenizer.eos_token_id]))
    streamer.end()
    assert "".join(delta for delta, _ in told) == "Hello"
    assert told[-1][1] == len(streamer.ids)
