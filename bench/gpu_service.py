"""GenHub's own runners on CUDA: every registered modality, as a worker runs it.

For each modality in genhub.modalities, the script registers its default model
(or its tiny one, with `--models tiny` or when the default cannot be fetched),
records a job row and runs it in this process through genhub.worker.execution.execute_job,
exactly as a worker would: the modality's runner, the model cache, progress
events into a private Redis. GENHUB_DEVICE=cuda, so the runner picks bf16 (or
fp16 where the GPU lacks bf16) by itself. The first job loads the model; the
second is timed. Printed per modality: the GPU, the dtype the loaded weights
are in, tokens/s (job.metrics) and peak GPU memory (torch.cuda.max_memory_allocated).
bench/gpu_smoke.py runs it after its own figures (`--only service`).

Without a CUDA device it says so and exits 0.

    .venv/bin/python bench/gpu_service.py [--models default|tiny]
"""

import argparse
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import bench_user, prepare, register_model  # noqa: E402

PROMPT = "A lighthouse on a rocky coast at dusk"
# Params on top of each model's defaults, per modality; the prompt goes to all.
SMOKE_PARAMS: dict[str, dict[str, Any]] = {
    "text": {"max_new_tokens": 64, "temperature": 0, "seed": 0},
    "image": {"steps": 4, "seed": 0},
    "audio": {"duration": 2.0, "seed": 0},
}
HALF_PRECISION = ("torch.float16", "torch.bfloat16")
# In the job's error when its hub model is not in the store and the hub is out of
# reach (genhub/hub_access.py). A default from PyPI that cannot be fetched fails
# earlier, at registration (bench.environment.register_model).
NOT_FETCHED = "is not downloaded yet"


def create_job(owner: Any, modality: Any, aimodel: Any) -> Any:
    """A queued job row, as submit_job records it, but never sent to a queue."""
    from django.utils import timezone

    from genhub.models import Job

    requested = {"prompt": PROMPT, **SMOKE_PARAMS.get(modality.name, {})}
    params = modality.params_schema.model_validate({**aimodel.default_params, **requested})
    return Job.objects.create(
        owner=owner,
        modality=modality.name,
        model=aimodel,
        prompt=params.display_prompt(),
        params=params.model_dump(mode="json"),
        enqueued_at=timezone.now(),
    )


def run_job(owner: Any, modality: Any, aimodel: Any) -> Any:
    """Run one job in this process; the finished row."""
    from genhub.worker.execution import execute_job

    job = create_job(owner, modality, aimodel)
    execute_job(str(job.id), worker="gpu-smoke")
    job.refresh_from_db()
    return job


def loaded_dtypes() -> set[str]:
    """The dtypes of the weights in this process's model cache."""
    import torch

    from genhub.worker import model_cache

    found: set[str] = set()
    # The cache has no public way to look at what it holds yet.
    for entry in model_cache._entries.values():
        parts = entry.value if isinstance(entry.value, tuple) else (entry.value,)
        if hasattr(entry.value, "text2image"):  # an image pipeline: look at its parts
            parts = tuple(entry.value.text2image.components.values())
        elif hasattr(entry.value, "tokenizer"):  # a MusicGen and its tokenizer
            parts = (entry.value.model,)
        for part in parts:
            if isinstance(part, torch.nn.Module):
                found.update(str(p.dtype) for p in part.parameters())
            elif isinstance(getattr(part, "dtype", None), torch.dtype):
                found.add(str(part.dtype))
    return found


def smoke(owner: Any, modality: Any, which: str) -> bool:
    """Run the modality's model twice on CUDA, print what was seen; True when all is well."""
    import torch

    aimodel = register_model(modality.name, which)
    torch.cuda.reset_peak_memory_stats()
    first = run_job(owner, modality, aimodel)  # loads the model
    if first.status == "failed" and which == "auto" and NOT_FETCHED in first.error:
        # A hub default this machine cannot fetch (genhub/hub_access.py): the tiny
        # model runs the same code on CUDA. Any other failure fails the smoke.
        print(f"  {aimodel.name} failed here ({first.error}); using the tiny {modality.name} model")
        aimodel = register_model(modality.name, "tiny")
        first = run_job(owner, modality, aimodel)
    second = run_job(owner, modality, aimodel)
    dtypes = loaded_dtypes()
    peak_mib = torch.cuda.max_memory_allocated() / 2**20
    metrics = second.metrics
    print(f"\n{modality.name}: {aimodel.name}")
    print(f"  device          {torch.cuda.get_device_name()}")
    print(f"  dtype           {', '.join(sorted(dtypes)) or 'unknown'}")
    print(f"  load            {first.metrics.get('load_seconds')} s (first job)")
    if "tokens_per_second" in metrics:
        print(f"  tokens/s        {metrics['tokens_per_second']} (second job)")
    if "seconds_per_image" in metrics:
        print(f"  s/image         {metrics['seconds_per_image']} (second job)")
    if "realtime_factor" in metrics:
        print(f"  x real time     {metrics['realtime_factor']} (second job)")
    print(f"  generate        {metrics.get('generate_seconds')} s")
    print(f"  peak memory     {peak_mib:.0f} MiB (torch.cuda.max_memory_allocated)")
    print(f"  status          {first.status}, {second.status} {second.error}".rstrip())
    succeeded = first.status == second.status == "succeeded"
    half = bool(dtypes) and dtypes <= set(HALF_PRECISION)
    if not half:
        print("  NOTE the weights are not in half precision")
    return succeeded and half


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models",
        choices=["default", "tiny"],
        help="which model of each modality (default: the default one when it can be "
        "registered, else tiny)",
    )
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("no CUDA device; skipped")
        return 0
    passed = smoke_all(args.models or "auto")
    print("\nPASS" if passed else "\nFAIL")
    return 0 if passed else 1


def smoke_all(which: str) -> bool:
    """Every modality's `which` model (default, tiny or auto) twice on CUDA."""
    prepare(device="cuda")
    from genhub import modalities

    owner, _ = bench_user()
    return all([smoke(owner, m, which) for m in modalities.all_modalities()])


if __name__ == "__main__":
    sys.exit(main())
