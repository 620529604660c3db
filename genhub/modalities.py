"""The modality contract and registry.

A modality (text, image, audio, and later speech or video) plugs into the one job
pipeline with a `Modality`: its params schema, its runner, its API router, its
page, and the builders of its default and tiny models. Each modality app
registers one in its `AppConfig.ready()`; the core draws the API, the URLs, the
nav bar, the home page, the admin's choices and `bootstrap_models` from this
registry and never imports a modality app by name.
"""

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse
    from ninja import Router

    from genhub.models import AIModel
    from genhub.params import GenerationParams

# `register_default(model_dir, say)`: registers (and fetches or builds) a model row.
ModelBuilder = Callable[[Path, Callable[[str], None]], "AIModel"]


@dataclass(frozen=True)
class Batching:
    """How queued jobs of a modality share one generation call (genhub/worker/batches.py).

    `key(params)`: jobs of one model whose keys are equal can run together; None
    means this job always runs alone (an image-to-image job, say). `size(params)`:
    how much of the model's `options.max_batch` the job takes (an image job asking
    for three images takes three). `runner`: the dotted path of
    `run_batch(members) -> [result or None per member]`, None for a member that
    was dropped (cancelled) on the way.
    """

    key: Callable[[dict[str, Any]], Hashable | None]
    size: Callable[[dict[str, Any]], int]
    runner: str


# options.max_batch when a model does not set it; 1 turns batching off.
DEFAULT_MAX_BATCH = 4


@dataclass(frozen=True)
class Modality:
    name: str  # "text": the Job.modality value, and the default Celery queue
    label: str  # "Text": the nav bar and the home page
    summary: str  # one line for the home page
    params_schema: "type[GenerationParams]"  # validates REST bodies, forms and worker input
    # Dotted path of `run(job, params, progress) -> dict`. A string, not the function:
    # runners import torch, and only worker processes may import them.
    runner: str
    # The keys AIModel.options may hold for this modality's models; checked when a
    # model is saved (AIModel.clean) and again when a worker loads it.
    model_options: frozenset[str]
    # The AIModel.SourceType values its runner can load ("hub", "local", ...);
    # AIModel.config_problems refuses the others when the row is saved.
    source_types: frozenset[str]
    # A tiny request that shows a model works: the admin's "Test" action submits it.
    test_params: dict[str, Any] = field(hash=False)
    router: "Router"  # mounted under /api/v1 at `api_prefix`
    api_prefix: str  # "/images"
    page: "Callable[[HttpRequest], HttpResponse]"  # the generation page view
    page_path: str  # "images/": where the page lives
    page_name: str  # "images": its URL name
    # Shows a finished job's result on the job page, given `job` and its `outputs`
    # (the output artifacts): "imagegen/result.html".
    result_template: str
    # The largest value a model allows per param, from its options (an image
    # model's max_width, a music model's max_duration): the page forms show them.
    field_limits: Callable[[dict[str, Any]], dict[str, float]]
    register_default: ModelBuilder  # `manage.py bootstrap_models`
    register_tiny: ModelBuilder  # `manage.py bootstrap_models --tiny`
    # Compatible queued jobs run as one call; None: every job runs alone.
    batching: Batching | None = field(default=None, hash=False)

    @property
    def queue(self) -> str:
        return self.name


_registry: dict[str, Modality] = {}


def register(modality: Modality) -> None:
    _registry[modality.name] = modality


def get(name: str) -> Modality:
    return _registry[name]


def find(name: Any) -> Modality | None:
    """The modality called `name`, or None for anything else (a stale or bad row)."""
    return _registry.get(name) if isinstance(name, str) else None


def all_modalities() -> list[Modality]:
    return list(_registry.values())


def choices() -> list[tuple[str, str]]:
    return [(m.name, m.label) for m in _registry.values()]
