"""A tiny random-weight Stable Diffusion pipeline, built offline in about a second,
saved in the diffusers layout and loaded through the same code as any real model.

The CLIP tokenizer is made here too: a byte-level vocabulary of single characters
(plus the end-of-word forms CLIP uses) and no merges, written as vocab.json and
merges.txt.
"""

import json
from pathlib import Path


def _write_clip_tokenizer_files(folder: Path) -> tuple[Path, Path]:
    from tokenizers.pre_tokenizers import ByteLevel

    symbols = sorted(ByteLevel.alphabet())  # the 256 characters byte-level BPE maps bytes to
    vocab_list = symbols + [s + "</w>" for s in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = folder / "vocab.json", folder / "merges.txt"
    vocab.write_text(json.dumps({token: i for i, token in enumerate(vocab_list)}))
    merges.write_text("#version: 0.2\n")
    return vocab, merges


# Architectures by size. "tiny" is for tests (64×64 in well under a second on a
# CPU); "small" gives a CPU benchmark enough work per step that per-job costs
# do not dominate; "sd15" is Stable Diffusion 1.5's own architecture (860M-param
# UNet), random weights, for GPU smoke tests and benchmarks with no hub at hand.
SIZES: dict[str, dict[str, dict]] = {
    "tiny": {
        "text": {"hidden_size": 32, "intermediate_size": 37, "layers": 2, "heads": 4},
        "unet": {
            "sample_size": 8,
            "layers_per_block": 1,
            "block_out_channels": (32, 64),
            "down_block_types": ("CrossAttnDownBlock2D", "DownBlock2D"),
            "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D"),
            "attention_head_dim": 4,
            "norm_num_groups": 8,
        },
        "vae": {"block_out_channels": (8, 8, 16, 16), "layers_per_block": 1, "norm_num_groups": 8},
    },
    "small": {
        "text": {"hidden_size": 128, "intermediate_size": 512, "layers": 4, "heads": 4},
        "unet": {
            "sample_size": 32,
            "layers_per_block": 2,
            "block_out_channels": (64, 128, 256),
            "down_block_types": ("CrossAttnDownBlock2D",) * 2 + ("DownBlock2D",),
            "up_block_types": ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 2,
            "attention_head_dim": 8,
            "norm_num_groups": 32,
        },
        "vae": {
            "block_out_channels": (32, 64, 64, 64),
            "layers_per_block": 1,
            "norm_num_groups": 32,
        },
    },
    "sd15": {
        "text": {"hidden_size": 768, "intermediate_size": 3072, "layers": 12, "heads": 12},
        "unet": {
            "sample_size": 64,
            "layers_per_block": 2,
            "block_out_channels": (320, 640, 1280, 1280),
            "down_block_types": ("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            "up_block_types": ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            "attention_head_dim": 8,
            "norm_num_groups": 32,
        },
        "vae": {
            "block_out_channels": (128, 256, 512, 512),
            "layers_per_block": 2,
            "norm_num_groups": 32,
        },
    },
}


def build_tiny_image_pipeline(target: Path) -> Path:
    return build_random_pipeline(target, "tiny")


def build_random_pipeline(target: Path, size: str) -> Path:
    """A Stable Diffusion pipeline of the given architecture with random weights,
    saved in the diffusers layout at `target`."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    shape = SIZES[size]
    vocab, merges = _write_clip_tokenizer_files(target / ".tokenizer-source")
    tokenizer = CLIPTokenizer(str(vocab), str(merges), model_max_length=77)

    torch.manual_seed(0)
    text = shape["text"]
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=text["hidden_size"],
            intermediate_size=text["intermediate_size"],
            num_hidden_layers=text["layers"],
            num_attention_heads=text["heads"],
            max_position_embeddings=77,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    unet = UNet2DConditionModel(
        in_channels=4, out_channels=4, cross_attention_dim=text["hidden_size"], **shape["unet"]
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        sample_size=shape["unet"]["sample_size"] * 8,
        **shape["vae"],
    )
    pipeline = StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=EulerDiscreteScheduler(steps_offset=1),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(target)  # type: ignore[attr-defined]  # diffusers mixes it in
    return target
