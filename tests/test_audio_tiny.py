"""The tiny MusicGen (groundwork for the audio modality): built offline, loaded back
through AutoProcessor and MusicgenForConditionalGeneration like any real
checkpoint, and how many samples a number of new tokens buys."""

import pytest
import torch

from audiogen.tiny import (
    CODEBOOK_SIZE,
    FRAME_RATE,
    HOP_LENGTH,
    NUM_CODEBOOKS,
    SAMPLING_RATE,
    build_tiny_music_model,
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return build_tiny_music_model(tmp_path_factory.mktemp("tiny") / "audio")


@pytest.fixture(scope="module")
def processor(folder):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(folder)


@pytest.fixture(scope="module")
def model(folder):
    from transformers import MusicgenForConditionalGeneration

    return MusicgenForConditionalGeneration.from_pretrained(folder)


def generate(processor, model, max_new_tokens, prompts=("lo-fi beat",), **extra):
    inputs = processor(text=list(prompts), padding=True, return_tensors="pt")
    return model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=True, **extra)


def new_tokens_for(seconds):
    # The delay pattern costs NUM_CODEBOOKS - 1 steps before the first whole frame.
    return round(seconds * FRAME_RATE) + NUM_CODEBOOKS - 1


def test_it_loads_back_as_a_musicgen_with_consistent_configs(folder, processor, model):
    assert (folder / "model.safetensors").exists()
    assert type(processor).__name__ == "MusicgenProcessor"
    assert processor.feature_extractor.sampling_rate == SAMPLING_RATE
    assert model.config.sampling_rate == SAMPLING_RATE
    codec, decoder = model.config.audio_encoder, model.config.decoder
    assert codec.frame_rate == FRAME_RATE == SAMPLING_RATE / HOP_LENGTH == 50
    assert codec.num_quantizers == decoder.num_codebooks == NUM_CODEBOOKS
    no_code_yet = CODEBOOK_SIZE
    assert decoder.pad_token_id == decoder.bos_token_id == no_code_yet
    assert decoder.decoder_start_token_id == no_code_yet
    settings = model.generation_config
    assert settings.do_sample and settings.guidance_scale == 3.0
    assert settings.decoder_start_token_id == no_code_yet
    tokens = processor.tokenizer.tokenize("Lo-fi beat, 90 BPM; rainy-day jazz!")
    assert processor.tokenizer.unk_token not in tokens


def test_the_build_is_the_same_every_time(folder, tmp_path):
    again = build_tiny_music_model(tmp_path / "audio")
    for name in ("model.safetensors", "tokenizer.json", "config.json", "processor_config.json"):
        assert (again / name).read_bytes() == (folder / name).read_bytes(), name


@pytest.mark.parametrize("max_new_tokens", [2 * NUM_CODEBOOKS - 2, 10, new_tokens_for(2.0)])
def test_n_new_tokens_give_n_plus_one_minus_codebooks_frames_of_audio(
    processor, model, max_new_tokens
):
    audio = generate(processor, model, max_new_tokens)
    frames = max_new_tokens + 1 - NUM_CODEBOOKS
    assert tuple(audio.shape) == (1, 1, frames * HOP_LENGTH)


def test_two_seconds_are_exactly_two_seconds_of_samples_for_each_prompt(processor, model):
    audio = generate(processor, model, new_tokens_for(2.0), prompts=("lo-fi beat", "loud drums"))
    assert tuple(audio.shape) == (2, 1, 2 * SAMPLING_RATE)
    assert audio.abs().max() > 0 and not torch.equal(audio[0], audio[1])


def test_the_same_seed_gives_the_same_samples_on_cpu(processor, model):
    def sampled(seed):
        torch.manual_seed(seed)
        return generate(processor, model, 30)

    assert torch.equal(sampled(7), sampled(7))
    assert not torch.equal(sampled(7), sampled(8))  # the audio depends on the sampled codes


class RecordingStreamer:
    def __init__(self):
        self.puts = []
        self.ended = False

    def put(self, value):
        self.puts.append(tuple(value.shape))

    def end(self):
        self.ended = True


def test_the_streamer_sees_only_the_start_tokens(processor, model):
    """transformers 5.23's MusicGen generate() hands `streamer` to no one after its
    first put: it calls _extract_generation_mode_kwargs with streamer=None. If this
    starts failing, the streamer works again and can drive progress events."""
    from transformers.generation.streamers import BaseStreamer

    streamer = type("Streamer", (RecordingStreamer, BaseStreamer), {})()
    generate(processor, model, 10, prompts=("a", "b"), streamer=streamer)
    assert streamer.puts == [(2 * NUM_CODEBOOKS, 1)]  # one start token per codebook per prompt
    assert not streamer.ended


def test_a_stopping_criterion_is_asked_once_per_new_token(processor, model):
    """The per-step hook that does reach the sampling loop, on CPU and GPU alike."""
    from transformers import StoppingCriteria

    class Steps(StoppingCriteria):
        def __init__(self):
            self.shapes = []

        def __call__(self, input_ids, scores, **kwargs):
            self.shapes.append(tuple(input_ids.shape))
            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    steps = Steps()
    generate(processor, model, 10, prompts=("a", "b"), stopping_criteria=[steps])
    # (prompts * codebooks, start token + tokens so far); guidance doubles the batch only inside.
    assert steps.shapes == [(2 * NUM_CODEBOOKS, 1 + step) for step in range(1, 11)]
