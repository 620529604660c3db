"""GGUF files, dequantised once with transformers and kept as a normal model folder.

transformers reads GGUF directly but dequantises on every load (about 16 s for
SmolLM2-135M on two CPU cores); the converted folder loads in a fraction of that.
"""

import hashlib
import logging
import shutil
import tempfile
from pathlib import Path

from django.conf import settings

log = logging.getLogger(__name__)


def is_converted(gguf_path: str) -> bool:
    """Whether converted_gguf_dir would return at once (the file converted already)."""
    source = Path(gguf_path)
    return source.is_file() and (_converted_dir(source) / "config.json").exists()


def _converted_dir(source: Path) -> Path:
    """Where `source` converts to: named by its path, size and mtime, so a
    replaced file converts again."""
    stat = source.stat()
    fingerprint = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return settings.GENHUB_MODEL_DIR / "converted" / f"{source.stem}-{fingerprint.hexdigest()[:12]}"


def converted_gguf_dir(gguf_path: str) -> Path:
    """The converted model folder for `gguf_path`, converting it on first use."""
    source = Path(gguf_path)
    if not source.is_file():
        from genhub.errors import JobError

        raise JobError(f"The GGUF file {source} does not exist. Check the model's source.")
    target = _converted_dir(source)
    if (target / "config.json").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to %s (once)", source, target)
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    _forget_gguf_origin(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename, so a reader never sees half a folder.
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".converting-"))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        staging.chmod(0o755)  # mkdtemp makes it private; workers may run as another user
        staging.rename(target)
    except OSError:
        if not (target / "config.json").exists():  # another process may have won the race
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _forget_gguf_origin(model: object) -> None:
    """Let save_pretrained write a model that transformers fully dequantised.

    Without a GGUF matmul kernel (the `kernels` package), transformers 5 unpacks
    every weight into plain dense layers but keeps its GGUF quantizer attached,
    and save_pretrained refuses any model with a non-serialisable quantizer.
    """
    if getattr(model, "hf_quantizer", None) is None:
        return
    if not all(p.dtype.is_floating_point for p in model.parameters()):  # type: ignore[attr-defined]
        raise RuntimeError("GGUF weights stayed packed; cannot save them as a dense model")
    model.hf_quantizer = None  # type: ignore[attr-defined]
    model.is_quantized = False  # type: ignore[attr-defined]
    if hasattr(model.config, "quantization_config"):  # type: ignore[attr-defined]
        del model.config.quantization_config  # type: ignore[attr-defined]
