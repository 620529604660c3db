"""The model registry: which weights a worker may load, and how."""

import json
import re
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pydantic
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import BaseConstraint, Q

from genhub import modalities
from genhub.hub_cache import hub_snapshot

ONE_DEFAULT = "one_default_model_per_modality"
# Jobs of engine models are I/O-bound: a thread-pool worker streams dozens at once
# (celery -A genhub worker -Q engine -P threads -c 32).
ENGINE_QUEUE = "engine"
ENGINE_OPTIONS = frozenset({"engine_model", "api_key_env"})
# What options an in-process text model may hold: compile (a static KV cache,
# compiled on GPUs; textgen/runner.py).
TEXT_OPTIONS = frozenset({"compile"})
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The most a model's options.max_batch may allow (images or clips in one call).
MAX_BATCH_LIMIT = 64
# The longest a model's options.batch_wait_ms may hold a batch open.
BATCH_WAIT_LIMIT_MS = 2000


class AIModelQuerySet(models.QuerySet["AIModel"]):
    def enabled(self) -> "AIModelQuerySet":
        return self.filter(enabled=True)

    def sending_to(self, queue: str) -> "AIModelQuerySet":
        """The models whose jobs go to `queue` (AIModel.job_queue, in SQL)."""
        engine, unset = Q(source_type=AIModel.SourceType.ENGINE), Q(queue="")
        found = Q(queue=queue) | unset & ~engine & Q(modality=queue)
        if queue == ENGINE_QUEUE:
            found |= unset & engine
        return self.filter(found)


class AIModel(models.Model):
    class SourceType(models.TextChoices):
        HUB = "hub", "Hub repository id"
        LOCAL = "local", "Local directory"
        GGUF = "gguf", "Single GGUF file"
        SAFETENSORS = "safetensors", "Single .safetensors file"
        ENGINE = "engine", "OpenAI-compatible engine (vLLM, llama.cpp, ...)"

    class Dtype(models.TextChoices):
        AUTO = "auto", "Auto (half precision on CUDA, float32 on CPU)"
        FLOAT32 = "float32", "float32"
        FLOAT16 = "float16", "float16"
        BFLOAT16 = "bfloat16", "bfloat16"

    class Device(models.TextChoices):
        AUTO = "auto", "Auto (CUDA when present)"
        CPU = "cpu", "CPU only"
        CUDA = "cuda", "CUDA only"

    name = models.SlugField(
        max_length=100, unique=True, help_text="The name clients pass as `model`."
    )
    modality = models.CharField(max_length=20, db_index=True)
    source_type = models.CharField(max_length=20, choices=SourceType.choices)
    source = models.CharField(
        max_length=500,
        help_text="Hub repo id, directory path, path to a .gguf or .safetensors file, "
        "or an engine's base URL (http://127.0.0.1:8001/v1).",
    )
    revision = models.CharField(
        max_length=100, blank=True, help_text="Hub branch, tag or commit; blank for local."
    )
    dtype = models.CharField(max_length=10, choices=Dtype.choices, default=Dtype.AUTO)
    device = models.CharField(max_length=10, choices=Device.choices, default=Device.AUTO)
    enabled = models.BooleanField(default=True)
    is_default = models.BooleanField(
        default=False, help_text="Used when a request names no model. One per modality."
    )
    default_params = models.JSONField(
        default=dict, blank=True, help_text="Params applied under what a request sets."
    )
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "How the runner loads and limits this model. Image: attention_slicing, "
            "vae_tiling, cpu_offload, variant, max_width, max_height. "
            "Audio: max_duration, melody (true for a musicgen-melody model). "
            "Engine: engine_model (the engine's own model name), api_key_env (the name of "
            "an environment variable holding its API key, never the key). "
            "Unknown keys are refused."
        ),
    )
    queue = models.CharField(
        max_length=100,
        blank=True,
        help_text="The Celery queue its jobs go to; blank for its modality's queue. "
        "Give a large model a queue of its own and start workers for it "
        "(celery -A genhub worker -Q NAME).",
    )
    pinned = models.BooleanField(
        default=False,
        help_text="Workers keep it loaded once loaded: never evicted for another model, "
        "never unloaded when idle.",
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AIModelQuerySet.as_manager()

    class Meta:
        ordering = ["modality", "name"]
        verbose_name = "model"
        constraints = [
            models.UniqueConstraint(
                fields=["modality"],
                condition=models.Q(is_default=True),
                name=ONE_DEFAULT,
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # Making a model the default takes the flag from the previous default.
        with transaction.atomic():
            if self.is_default:
                others = AIModel.objects.filter(modality=self.modality, is_default=True)
                others.exclude(pk=self.pk).update(is_default=False)
            super().save(*args, **kwargs)

    def get_constraints(self) -> list[tuple[type[models.Model], Sequence[BaseConstraint]]]:
        # save() takes the default flag from the previous default, so one default
        # per modality holds after every save; checked before it (full_clean, as
        # the admin does) it would refuse every new default. The database still
        # enforces it.
        return [
            (model, [c for c in constraints if c.name != ONE_DEFAULT])
            for model, constraints in super().get_constraints()
        ]

    def clean(self) -> None:
        problems = self.config_problems()
        if problems:
            raise ValidationError(problems)

    def config_problems(self) -> dict[str, str]:
        """{field: what is wrong} with the modality, options and default_params, in
        sentences: checked when the row is saved in the admin, and again by the
        worker before it loads the model (a row may be written around the admin)."""
        modality = modalities.find(self.modality)
        if modality is None:
            known = ", ".join(m.name for m in modalities.all_modalities())
            return {"modality": f"'{self.modality}' is not a modality; pick one of: {known}."}
        problems: dict[str, str] = {}
        if problem := self._source_problem(modality):
            problems["source_type"] = problem
        if not isinstance(self.options, dict):
            problems["options"] = 'Options must be a JSON object, such as {} or {"max_width": 512}.'
        elif unknown := sorted(set(self.options) - modality.model_options):
            known = ", ".join(sorted(modality.model_options)) or "none"
            problems["options"] = (
                f"Unknown option(s) {', '.join(unknown)} for {modality.label.lower()} models; "
                f"known: {known}."
            )
        elif problem := (
            _max_batch_problem(self.options)
            or _batch_wait_problem(self.options)
            or _compile_problem(self.options)
        ):
            problems["options"] = problem
        if not isinstance(self.default_params, dict):
            problems["default_params"] = (
                'Default params must be a JSON object, such as {"temperature": 0.2}.'
            )
        elif problem := _default_params_problem(modality.params_schema, self.default_params):
            problems["default_params"] = problem
        if "source_type" not in problems:
            problems = {**self._engine_problems(), **problems}
        return problems

    def _source_problem(self, modality: modalities.Modality) -> str:
        """Why this modality's runner cannot load this source, or ''."""
        if self.source_type not in modality.source_types:
            label = dict(AIModel.SourceType.choices).get(self.source_type, "unknown")
            return (
                f"The {modality.label.lower()} runner cannot load source type "
                f"'{self.source_type}' ({label}); it loads: "
                f"{', '.join(sorted(modality.source_types))}."
            )
        if self.source_type == AIModel.SourceType.SAFETENSORS and not str(self.source).endswith(
            ".safetensors"
        ):
            return "A single .safetensors file source must be a path ending in .safetensors."
        return ""

    def _engine_problems(self) -> dict[str, str]:
        """{field: what is wrong} with an engine row's source and options, or with
        engine options on a row that is no engine."""
        options = self.options if isinstance(self.options, dict) else {}
        if self.source_type != AIModel.SourceType.ENGINE:
            if given := sorted(ENGINE_OPTIONS & set(options)):
                return {"options": f"{', '.join(given)} apply only to source type 'engine'."}
            return {}
        if given := sorted(TEXT_OPTIONS & set(options)):
            return {"options": f"{', '.join(given)} apply only to models GenHub runs itself."}
        problems: dict[str, str] = {}
        url = urlparse(str(self.source))
        if url.scheme not in ("http", "https") or not url.hostname:
            problems["source"] = (
                "An engine's source is its base URL, such as http://127.0.0.1:8001/v1."
            )
        engine_model = options.get("engine_model")
        if not isinstance(engine_model, str) or not engine_model.strip():
            problems["options"] = (
                "An engine model needs options.engine_model, the name the engine serves it "
                'under, such as {"engine_model": "Qwen/Qwen2.5-7B-Instruct"}.'
            )
        key_env = options.get("api_key_env")
        if key_env is not None and (
            not isinstance(key_env, str) or not _ENV_NAME.fullmatch(key_env)
        ):
            problems["options"] = (
                "options.api_key_env is the name of an environment variable that holds the "
                "engine's API key (such as VLLM_API_KEY), never the key itself."
            )
        return problems

    def is_on_disk(self) -> bool:
        """Whether the weights are in this machine's model store: the file or folder
        for a local source, a downloaded snapshot for a hub one. One look at the
        filesystem, never the network."""
        if self.source_type == AIModel.SourceType.HUB:
            return hub_snapshot(settings.GENHUB_MODEL_DIR / "hub", self.source, self.revision)
        if self.source_type == AIModel.SourceType.LOCAL:
            return Path(self.source).exists()
        if self.source_type in (AIModel.SourceType.GGUF, AIModel.SourceType.SAFETENSORS):
            return Path(self.source).is_file()
        if self.source_type == AIModel.SourceType.ENGINE:
            return True  # the engine holds the weights: nothing to download here
        return False

    @cached_property
    def downloaded(self) -> bool:
        """is_on_disk(), looked up once per instance: a page or a listing shows it
        without a second look at the disk."""
        return self.is_on_disk()

    @property
    def job_queue(self) -> str:
        """Where this model's jobs are sent: its own queue, or its modality's (an
        engine model's go to the thread-pool workers of queue `engine`)."""
        if self.source_type == AIModel.SourceType.ENGINE:
            return self.queue or ENGINE_QUEUE
        return self.queue or self.modality

    @property
    def field_limits(self) -> dict[str, float]:
        """The largest value this model allows per param (from its options), for
        the page forms; nothing for a row whose modality or options are unusable."""
        modality = modalities.find(self.modality)
        if modality is None or not isinstance(self.options, dict):
            return {}
        return modality.field_limits(self.options)

    @property
    def usable_default_params(self) -> dict[str, Any]:
        """default_params when they are a JSON object, else nothing: one bad row
        never breaks a page or a listing for everyone."""
        return self.default_params if isinstance(self.default_params, dict) else {}

    @property
    def cache_key(self) -> tuple[str, ...]:
        """What makes two loads of this model the same load."""
        options = json.dumps(self.options, sort_keys=True)
        return (self.source_type, self.source, self.revision, self.dtype, self.device, options)


def _max_batch_problem(options: dict[str, Any]) -> str:
    """Why options.max_batch is unusable, or '' (absent is fine: the default)."""
    value = options.get("max_batch")
    if value is None or (type(value) is int and 1 <= value <= MAX_BATCH_LIMIT):
        return ""
    return (
        f"options.max_batch is how many images or clips one call may make together: a "
        f"whole number from 1 (no batching) to {MAX_BATCH_LIMIT}, not {value!r}."
    )


def _batch_wait_problem(options: dict[str, Any]) -> str:
    """Why options.batch_wait_ms is unusable, or '' (absent means no wait)."""
    value = options.get("batch_wait_ms")
    if value is None or (type(value) is int and 0 <= value <= BATCH_WAIT_LIMIT_MS):
        return ""
    return (
        "options.batch_wait_ms is how long a batch that follows a batch waits for more "
        f"jobs to join: whole milliseconds from 0 (no wait) to {BATCH_WAIT_LIMIT_MS}, "
        f"not {value!r}."
    )


def _compile_problem(options: dict[str, Any]) -> str:
    """Why options.compile is unusable, or '' (absent means off)."""
    value = options.get("compile")
    if value is None or isinstance(value, bool):
        return ""
    return (
        f"options.compile turns on a static cache compiled on GPUs: true or false, not {value!r}."
    )


def _default_params_problem(schema: type[pydantic.BaseModel], params: dict[str, Any]) -> str:
    """Why `params` cannot be a model's defaults for `schema`, or ''.

    Each value is checked as the schema checks that field, its own validators
    included (a width that is no multiple of 8, an empty stop string), by
    assigning it to an unvalidated instance. Checks across fields (prompt or
    messages, width with height) wait for a request, which brings the rest.
    """
    fields = schema.model_fields
    unknown = sorted(set(params) - set(fields))
    if unknown:
        return f"Unknown param(s) {', '.join(unknown)}; known: {', '.join(fields)}."
    for name, value in params.items():
        try:
            schema.__pydantic_validator__.validate_assignment(schema.model_construct(), name, value)
        except pydantic.ValidationError as error:
            for found in error.errors(include_url=False):
                if found["loc"][:1] == (name,):
                    return f"{name}: {found['msg'].removeprefix('Value error, ')}."
        except Exception:  # a check across fields failed on the half-built instance
            pass
    return ""
