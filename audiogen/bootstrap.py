"""Default and tiny audio models for `manage.py bootstrap_models`."""

from collections.abc import Callable
from pathlib import Path

from genhub.models import AIModel
from genhub.registration import register_model


def register_default(model_dir: Path, say: Callable[[str], None]) -> AIModel:
    # No MusicGen weights ship on a package index, so the default is a hub id,
    # fetched on its first job (about 2.4 GB) by a worker that can reach the hub.
    # Registering it needs no network.
    model, what = register_model(
        "musicgen-small",
        make_default=True,
        modality="audio",
        source_type=AIModel.SourceType.HUB,
        source="facebook/musicgen-small",
        options={"max_duration": 30},
        description="MusicGen small (300M): mono 32 kHz music from a text prompt. "
        "Downloaded from the Hugging Face hub on first use.",
    )
    say(f"{model.name}: {what}")
    return model


def register_tiny(model_dir: Path, say: Callable[[str], None]) -> AIModel:
    from audiogen.tiny import build_tiny_music_model

    target = model_dir / "tiny" / "audio"
    if not (target / "config.json").exists():
        say(f"Building a tiny random-weight MusicGen in {target}...")
        build_tiny_music_model(target)
    model, what = register_model(
        "tiny-audio",
        make_default=False,
        modality="audio",
        source_type=AIModel.SourceType.LOCAL,
        source=str(target),
        default_params={"duration": 2.0},
        options={"max_duration": 30},
        description="Tiny random-weight MusicGen for tests and demos; 16 kHz noise.",
    )
    say(f"{model.name}: {what}")
    register_tiny_melody(model_dir, say)
    return model


def register_tiny_melody(model_dir: Path, say: Callable[[str], None]) -> AIModel:
    """A tiny musicgen-melody, registered by register_tiny beside the plain one."""
    from audiogen.tiny import build_tiny_music_model

    target = model_dir / "tiny" / "audio-melody"
    if not (target / "config.json").exists():
        say(f"Building a tiny random-weight MusicGen melody model in {target}...")
        build_tiny_music_model(target, melody=True)
    model, what = register_model(
        "tiny-audio-melody",
        make_default=False,
        modality="audio",
        source_type=AIModel.SourceType.LOCAL,
        source=str(target),
        default_params={"duration": 2.0},
        options={"max_duration": 30, "melody": True},
        description="Tiny random-weight MusicGen melody model: follows a reference clip's "
        "chromagram, in noise.",
    )
    say(f"{model.name}: {what}")
    return model
