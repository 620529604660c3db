"""Default and tiny image models for `manage.py bootstrap_models`."""

from collections.abc import Callable
from pathlib import Path

from genhub.models import AIModel
from genhub.registration import register_model

DEFAULT_MODEL = "sd-turbo"
DEFAULT_REPO = "stabilityai/sd-turbo"


def register_default(model_dir: Path, say: Callable[[str], None]) -> AIModel:
    # No Stable Diffusion weights ship on a package index, so the default is a
    # hub id, fetched on its first job (about 2.5 GB of fp16 files) by a worker
    # that can reach the hub. Registering it needs no network.
    model, what = register_model(
        DEFAULT_MODEL,
        make_default=True,
        modality="image",
        source_type=AIModel.SourceType.HUB,
        source=DEFAULT_REPO,
        # A distilled model: one to four steps, no classifier-free guidance.
        default_params={"steps": 2, "guidance_scale": 0.0, "width": 512, "height": 512},
        # The fp16 files: half the download, and loaded as float32 on a CPU.
        options={"variant": "fp16"},
        description="SD-Turbo (SD 2.1 distilled): 512×512 in 1–4 steps. Downloaded from "
        "the Hugging Face hub on first use.",
    )
    say(f"{model.name}: {what}")
    return model


def register_tiny(model_dir: Path, say: Callable[[str], None]) -> AIModel:
    from imagegen.tiny import build_tiny_image_pipeline

    target = model_dir / "tiny" / "image"
    if not (target / "model_index.json").exists():
        say(f"Building a tiny random-weight Stable Diffusion pipeline in {target}...")
        build_tiny_image_pipeline(target)
    model, what = register_model(
        "tiny-image",
        make_default=False,
        modality="image",
        source_type=AIModel.SourceType.LOCAL,
        source=str(target),
        default_params={"steps": 8, "guidance_scale": 5.0},
        options={"max_width": 256, "max_height": 256},
        description="Tiny random-weight Stable Diffusion for tests and demos; 64×64 noise.",
    )
    say(f"{model.name}: {what}")
    return model
