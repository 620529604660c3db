"""How much memory a model will take once loaded, known before loading it, so the
cache can make room first instead of holding two models for a moment.

Read from the weights' headers, never the weights: a .safetensors file starts
with an 8-byte length and a JSON table of every tensor's dtype and shape; a GGUF
file lists its tensors' sizes the same way. The loaded size is the number of
parameters times the element size the runner loads them in (a float16 file
loaded in float32 on a CPU takes twice its size on disk). Pure Python: the
runner's dtype comes in as an element size.
"""

import json
import logging
import struct
from pathlib import Path

from django.conf import settings

from genhub.models import AIModel

log = logging.getLogger(__name__)

# Bytes per element of the safetensors dtypes. Floating-point tensors are loaded
# in the runner's dtype; integer and boolean ones (buffers) keep their own.
_ELEMENT_BYTES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I64": 8,
    "U64": 8,
    "I32": 4,
    "U32": 4,
    "I16": 2,
    "U16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
}
_HEADER_LIMIT = 100 * 2**20  # the format's own cap on the JSON header


def estimated_bytes(aimodel: AIModel, element_size: int) -> int | None:
    """Bytes the model's weights will take loaded with floats of `element_size`
    bytes, or None when its weights are not on disk in a form read here (a hub
    model not downloaded yet, pickled .bin weights)."""
    try:
        files = weight_files(aimodel)
        if not files:
            return None
        return sum(_loaded_bytes(path, element_size) for path in files)
    except (OSError, ValueError, KeyError, struct.error) as error:
        log.warning("could not estimate the size of %s: %s", aimodel.name, error)
        return None


def weight_files(aimodel: AIModel) -> list[Path]:
    """The .safetensors or .gguf files the model loads from, one per tensor set."""
    location = _local_location(aimodel)
    if location is None:
        return []
    if location.is_file():
        return [location] if location.suffix in (".safetensors", ".gguf") else []
    folders = [location]
    index = location / "model_index.json"
    if index.is_file():
        # A diffusers pipeline: the components it names, each in its own folder
        # (a repository may also hold a single-file checkpoint at its root).
        components = json.loads(index.read_text())
        folders = [location / name for name, value in components.items() if isinstance(value, list)]
    return [path for folder in folders for path in _one_per_variant(folder)]


def safetensors_tensors(path: Path) -> list[tuple[str, int]]:
    """(dtype, number of elements) of every tensor in a .safetensors file, from
    its header alone."""
    with path.open("rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        if length > _HEADER_LIMIT:
            raise ValueError(f"{path.name}: a header of {length} bytes is not safetensors")
        header = json.loads(file.read(length))
    tensors = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        count = 1
        for dim in info["shape"]:
            count *= dim
        tensors.append((info["dtype"], count))
    return tensors


def _local_location(aimodel: AIModel) -> Path | None:
    if aimodel.source_type != AIModel.SourceType.HUB:
        return Path(aimodel.source)
    from huggingface_hub import try_to_load_from_cache

    # Where a download of this revision put its files, found from the file every
    # repository of its kind has; nothing is fetched.
    for marker in ("model_index.json", "config.json"):
        found = try_to_load_from_cache(
            aimodel.source,
            marker,
            cache_dir=str(settings.GENHUB_MODEL_DIR / "hub"),
            revision=aimodel.revision or None,
        )
        if isinstance(found, str):
            return Path(found).parent
    return None


def _one_per_variant(folder: Path) -> list[Path]:
    """The folder's weight files, counting `model.safetensors` and its variants
    (`model.fp16.safetensors`) once: a model loads one of them."""
    chosen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.safetensors")):
        chosen.setdefault(path.name.split(".", 1)[0], path)
    return list(chosen.values())


def _loaded_bytes(path: Path, element_size: int) -> int:
    if path.suffix == ".gguf":
        from gguf import GGUFReader

        # Every GGUF tensor is dequantised to the runner's dtype.
        return sum(int(t.n_elements) for t in GGUFReader(path).tensors) * element_size
    total = 0
    for dtype, count in safetensors_tensors(path):
        total += count * (element_size if dtype.startswith(("F", "BF")) else _ELEMENT_BYTES[dtype])
    return total
