"""The tiny Stable Diffusion pipeline (groundwork for the image modality): built
offline, loaded back through AutoPipelineForText2Image like any real model."""

import numpy as np
import pytest
import torch

from imagegen.tiny import build_tiny_image_pipeline


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    from diffusers import AutoPipelineForText2Image

    folder = build_tiny_image_pipeline(tmp_path_factory.mktemp("tiny") / "image")
    assert (folder / "model_index.json").exists()
    return AutoPipelineForText2Image.from_pretrained(folder)


def generate(pipeline, seed, on_step=None):
    extra = {"callback_on_step_end": on_step} if on_step else {}
    image = pipeline(
        "a lighthouse at dusk",
        height=64,
        width=64,
        num_inference_steps=6,
        generator=torch.Generator().manual_seed(seed),
        **extra,
    ).images[0]
    return np.asarray(image)


def test_it_makes_an_image_of_the_asked_size_step_by_step(pipeline):
    steps = []
    image = generate(pipeline, 1, lambda pipe, i, t, kwargs: (steps.append(i), kwargs)[1])
    assert image.shape == (64, 64, 3)
    assert steps == list(range(6))
    assert image.std() > 0  # random weights, but not a blank image


def test_the_same_seed_gives_the_same_pixels_on_cpu(pipeline):
    assert np.array_equal(generate(pipeline, 7), generate(pipeline, 7))
    assert not np.array_equal(generate(pipeline, 7), generate(pipeline, 8))
