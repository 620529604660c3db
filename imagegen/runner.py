"""The image runner: load a diffusers pipeline, denoise with a step callback that
reports progress and previews, save PNGs. Workers import this module; the web
process never does.

Device and precision: CUDA in half precision (bf16 where the GPU has it: the
SDXL VAE overflows to NaN in fp16) with PyTorch's SDPA attention, which diffusers
uses by default; float32 on CPU. `AIModel.dtype` and `AIModel.device` override
both. Per-model options (AIModel.options): attention_slicing, vae_tiling and
cpu_offload trade speed for memory; variant picks e.g. the "fp16" weight files.

The starting noise is drawn on the CPU from one generator per image, seeded
seed, seed+1, ...: any image of a batch can be made again alone, and a seed
gives the same noise on any GPU.

Queued jobs that differ only in prompt, negative prompt and seed run as one
call (`run_batch`; genhub/worker/batches.py picks them): each image keeps its
own generator, so a job's images are the ones it would make alone.

PNGs are written by genhub/png_writer.py (Up filter, ISA-L deflate: several
times Pillow's speed) in a thread pool after the denoising loop, every image of a
call at once.
"""

import hashlib
import io
import logging
import os
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image
from django.conf import settings

from genhub import artifacts
from genhub.errors import JobCancelled, JobError, without_internals
from genhub.models import AIModel, Job
from genhub.worker.batches import Member
from genhub.worker.devices import free_cuda_memory, pick_dtype
from genhub.worker.loading import (
    load_cached,
    load_failed,
    preload_cached,
    pretrained_location,
)
from genhub.worker.progress import JobProgress
from imagegen import pngs, previews
from imagegen.params import ImageParams

log = logging.getLogger(__name__)

# The whitelist of schedulers a request may name: diffusers class, and settings
# over the model's own scheduler config.
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "DDIM": ("DDIMScheduler", {}),
    "Euler": ("EulerDiscreteScheduler", {}),
    "Euler a": ("EulerAncestralDiscreteScheduler", {}),
    "DPM++ 2M": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": False},
    ),
    "DPM++ 2M Karras": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": True},
    ),
    "LCM": ("LCMScheduler", {}),
    "UniPC": ("UniPCMultistepScheduler", {}),
}


# --- load -------------------------------------------------------------------


@dataclass
class ImageModel:
    """A loaded pipeline and what a job needs to know about it."""

    text2image: Any
    family: str  # "sdxl" or "sd": which preview factors fit its latents
    scheduler_class: Any  # a diffusers SchedulerMixin subclass
    scheduler_config: Any
    options: dict[str, Any]
    _image2image: Any = field(default=None, repr=False)

    def image2image(self) -> Any:
        # Shares every component with the text-to-image pipeline: no extra memory.
        if self._image2image is None:
            self._image2image = AutoPipelineForImage2Image.from_pipe(self.text2image)
        return self._image2image

    def scheduler(self, name: str | None) -> Any:
        """A fresh scheduler for one job: the model's own, or a named one."""
        import diffusers

        if name is None:
            return self.scheduler_class.from_config(self.scheduler_config)
        class_name, overrides = SCHEDULERS[name]
        return getattr(diffusers, class_name).from_config(self.scheduler_config, **overrides)

    def use_memory_savers(self, on: bool) -> None:
        """Attention slicing and VAE tiling: slower, but a fraction of the peak memory."""
        for pipe in filter(None, (self.text2image, self._image2image)):
            if on or self.options.get("attention_slicing"):
                pipe.enable_attention_slicing()
            else:
                pipe.disable_attention_slicing()
        if on or self.options.get("vae_tiling"):
            self.text2image.vae.enable_tiling()
        else:
            self.text2image.vae.disable_tiling()


def load(aimodel: AIModel, device: str) -> ImageModel:
    options = aimodel.options
    kwargs: dict[str, Any] = {"dtype": pick_dtype(aimodel.dtype, device)}
    if options.get("variant"):
        kwargs["variant"] = options["variant"]
    try:
        if _is_single_file(aimodel):
            pipe = _from_single_file(Path(aimodel.source), options, kwargs)
        else:
            location, where = pretrained_location(aimodel)
            pipe = AutoPipelineForText2Image.from_pretrained(location, **where, **kwargs)
    except (OSError, ValueError) as error:
        raise load_failed(aimodel, error) from error
    # No NSFW filter: a self-hosted model's operator decides what it may make.
    if getattr(pipe, "safety_checker", None) is not None:
        pipe.safety_checker = None
    pipe.set_progress_bar_config(disable=True)
    if options.get("cpu_offload") and device == "cuda":
        pipe.enable_model_cpu_offload()  # each part moves to the GPU only while it runs
    else:
        pipe.to(device)
    family = "sdxl" if "XL" in type(pipe).__name__ else "sd"
    model = ImageModel(
        text2image=pipe,
        family=family,
        scheduler_class=type(pipe.scheduler),
        scheduler_config=pipe.scheduler.config,
        options=options,
    )
    model.use_memory_savers(False)
    return model


def _is_single_file(aimodel: AIModel) -> bool:
    """A single checkpoint file: the SAFETENSORS source type, or a file registered
    as LOCAL by rows made before that type existed."""
    if aimodel.source_type == AIModel.SourceType.SAFETENSORS:
        return True
    return aimodel.source_type == AIModel.SourceType.LOCAL and Path(aimodel.source).is_file()


def _from_single_file(path: Path, options: dict[str, Any], kwargs: dict[str, Any]) -> Any:
    """A single .safetensors checkpoint (the A1111/Civitai layout). diffusers needs
    the component configs too: `options["config"]` names a hub id or a local
    diffusers folder of the same architecture; without it diffusers looks them
    up on the hub."""
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline
    from safetensors import safe_open

    if path.suffix != ".safetensors":
        raise JobError(
            f"'{path.name}' is not a .safetensors file. Pickled checkpoints (.ckpt, .pt) "
            "can run code when loaded, so GenHub does not open them; convert it first."
        )
    with safe_open(str(path), framework="pt") as checkpoint:
        is_xl = any(key.startswith("conditioner.embedders.1") for key in checkpoint.keys())
    pipeline_class = StableDiffusionXLPipeline if is_xl else StableDiffusionPipeline
    if options.get("config"):
        kwargs["config"] = options["config"]
    return pipeline_class.from_single_file(str(path), **kwargs)


def _nbytes(model: ImageModel) -> int:
    total = 0
    for component in model.text2image.components.values():
        if isinstance(component, torch.nn.Module):
            total += sum(p.numel() * p.element_size() for p in component.parameters())
    return total


def preload(aimodel: AIModel) -> bool:
    """Load the model before its first job: the admin's Preload (genhub/worker/commands.py).
    False when it was loaded already."""
    return preload_cached(aimodel, load, _nbytes)


# --- generate ---------------------------------------------------------------


def run(job: Job, params: ImageParams, progress: JobProgress) -> dict[str, Any]:
    aimodel = job.model
    model, device = load_cached(job, progress, load, _nbytes)

    init_image, init_digest = _init_image(params)
    width, height = params.size_for(init_image.size if init_image else None)
    if width and height and width * height > settings.GENHUB_IMAGE_MAX_PIXELS:
        raise JobError(
            f"{width}×{height} is over the limit of {settings.GENHUB_IMAGE_MAX_PIXELS} pixels "
            "per image; give a smaller width and height."
        )
    if init_image is not None and init_image.size != (width, height):
        from PIL import Image

        init_image = init_image.resize((width, height), Image.Resampling.LANCZOS)  # type: ignore[arg-type]
    pipe = model.image2image() if init_image is not None else model.text2image
    pipe.scheduler = model.scheduler(params.scheduler)

    seed = params.seed if params.seed is not None else random.randrange(2**32)
    seeds = [(seed + i) % 2**32 for i in range(params.num_images)]
    call: dict[str, Any] = {
        "prompt": params.prompt,
        "negative_prompt": params.negative_prompt or None,
        "num_inference_steps": params.steps,
        "guidance_scale": params.guidance_scale,
        "num_images_per_prompt": params.num_images,
        "callback_on_step_end": _step_reporter(progress, model.family),
        "output_type": "pil",
    }
    if init_image is not None:
        call.update(image=init_image, strength=params.strength)
    else:
        call.update(width=width, height=height)

    if progress.cancel_requested:
        raise JobCancelled()
    out_of_memory = (
        f"The GPU ran out of memory making {params.num_images} image(s) of "
        f"{width or 'native'}×{height or 'native'} in {params.steps} steps, even with memory "
        "savers on. Lower width and height or num_images (steps change time, not memory), "
        "or ask an admin to turn on cpu_offload for this model."
    )
    started = time.monotonic()
    images = _generate(pipe, call, seeds, model, progress, out_of_memory)
    seconds = time.monotonic() - started
    progress.metrics.update(
        generate_seconds=round(seconds, 3),
        seconds_per_image=round(seconds / len(images), 3),
    )

    saving = time.monotonic()
    mode = "image-to-image" if init_image is not None else "text-to-image"
    records = [
        _record(aimodel, pipe, params, mode, image, image_seed, device)
        for image, image_seed in zip(images, seeds, strict=True)
    ]
    for record in records:
        if init_digest:
            record["init_image_sha256"] = init_digest
        if progress.metrics.get("memory_savers"):
            # Sliced attention and VAE tiling round differently: say so.
            record["memory_savers"] = True
    files = _encode_all(images, records)
    result = _store(job, images, records, files)
    progress.metrics["save_seconds"] = round(time.monotonic() - saving, 3)  # records, PNGs, files
    return result


def run_batch(members: Sequence[Member]) -> list[dict[str, Any] | None]:
    """Text-to-image jobs of one model, size, steps, scheduler and guidance in
    one pipeline call: [the result per member, None for one that left].

    One prompt, negative prompt and generator per image, each job's own seeds:
    an image is the one its job makes alone, up to float rounding. Each job gets
    its own step events and previews. A job whose cancel arrives leaves at once
    (`Member.drop`: it ends cancelled). Its rows keep denoising until the call
    ends and are then thrown away: diffusers' schedulers hold per-row state (a
    multistep solver's history, an ancestral sampler's generator per image) that
    `callback_on_step_end` cannot shrink mid-loop. When every job has left, the
    loop stops.
    """
    first = members[0]
    model, device = load_cached(first.job, first.progress, load, _nbytes)
    loading = {k: v for k, v in first.progress.metrics.items() if k in _LOAD_METRICS}
    for member in members[1:]:
        member.progress.metrics.update(loading)
    params: ImageParams = first.params  # size, steps, scheduler, guidance: shared
    width, height = params.width, params.height
    if width and height and width * height > settings.GENHUB_IMAGE_MAX_PIXELS:
        raise JobError(
            f"{width}×{height} is over the limit of {settings.GENHUB_IMAGE_MAX_PIXELS} pixels "
            "per image; give a smaller width and height."
        )
    pipe = model.text2image
    pipe.scheduler = model.scheduler(params.scheduler)

    prompts: list[str] = []
    negatives: list[str] = []
    seeds: list[int] = []
    rows: list[range] = []  # each member's images in the call
    for member in members:
        asked: ImageParams = member.params
        seed = asked.seed if asked.seed is not None else random.randrange(2**32)
        rows.append(range(len(seeds), len(seeds) + asked.num_images))
        seeds += [(seed + i) % 2**32 for i in range(asked.num_images)]
        prompts += [asked.prompt] * asked.num_images
        negatives += [asked.negative_prompt] * asked.num_images
    call: dict[str, Any] = {
        "prompt": prompts,
        # "" and None give the same unconditional embedding.
        "negative_prompt": negatives if any(negatives) else None,
        "num_inference_steps": params.steps,
        "guidance_scale": params.guidance_scale,
        "num_images_per_prompt": 1,
        "callback_on_step_end": _batch_step_reporter(members, rows, model.family),
        "output_type": "pil",
        "width": width,
        "height": height,
    }
    _drop_stopping(members)
    out_of_memory = (
        f"The GPU ran out of memory making a batch of {len(seeds)} image(s) of "
        f"{width or 'native'}×{height or 'native'} for {len(members)} jobs, even with "
        "memory savers on. Ask an admin to lower this model's max_batch or to turn on "
        "cpu_offload."
    )
    started = time.monotonic()
    images = _generate(pipe, call, seeds, model, first.progress, out_of_memory)
    seconds = time.monotonic() - started
    _drop_stopping(members)  # a cancel during the VAE decode still drops the images

    saving = time.monotonic()
    kept = [(member, own) for member, own in zip(members, rows, strict=True) if not member.dropped]
    picked = [index for _, own in kept for index in own]
    records = {
        index: _record(
            member.job.model,
            pipe,
            member.params,
            "text-to-image",
            images[index],
            seeds[index],
            device,
        )
        for member, own in kept
        for index in own
    }
    for record in records.values():
        if first.progress.metrics.get("memory_savers"):
            record["memory_savers"] = True
    encoded = _encode_all([images[i] for i in picked], [records[i] for i in picked])
    files = dict(zip(picked, encoded, strict=True))
    encode_seconds = time.monotonic() - saving  # the records and every image's files
    results: list[dict[str, Any] | None] = []
    for member, own in zip(members, rows, strict=True):
        member.progress.metrics.update(
            # Its share of the call's time, by images; the call's own figures beside it.
            generate_seconds=round(seconds * len(own) / len(seeds), 3),
            seconds_per_image=round(seconds / len(seeds), 3),
            batch_size=len(seeds),
            batch_jobs=len(members),
            batch_seconds=round(seconds, 3),
        )
        if first.progress.metrics.get("memory_savers"):
            member.progress.metrics["memory_savers"] = True
        if member.dropped:
            results.append(None)
            continue
        storing = time.monotonic()
        results.append(
            _store(
                member.job,
                [images[i] for i in own],
                [records[i] for i in own],
                [files[i] for i in own],
            )
        )
        # Its share of the encoding by images, and its own storing.
        share = encode_seconds * len(own) / len(picked) + time.monotonic() - storing
        member.progress.metrics["save_seconds"] = round(share, 3)
    return results


# What a batch's members copy of the first's metrics: the model is loaded once.
_LOAD_METRICS = ("model_cache_hit", "load_seconds", "download_seconds")


def _drop_stopping(members: Sequence[Member]) -> None:
    """Drop the members whose cancel arrived; JobCancelled once none is left."""
    for member in members:
        if member.stopping:
            member.drop()
    if all(member.dropped for member in members):
        raise JobCancelled()


def _store(
    job: Job,
    images: list[Any],
    records: list[dict[str, Any]],
    files: list[tuple[bytes, bytes]],
) -> dict[str, Any]:
    """Save a job's images as its artifacts: the job's result."""
    seeds = [record["seed"] for record in records]
    saved = []
    for index, (image, record, (png, thumbnail)) in enumerate(
        zip(images, records, files, strict=True)
    ):
        artifact = artifacts.save_output(
            job,
            index,
            png,
            mime_type="image/png",
            extension="png",
            thumbnail=thumbnail,
            width=image.width,
            height=image.height,
            seed=record["seed"],
            record=record,
        )
        saved.append(
            {
                "artifact": str(artifact.pk),
                **artifacts.links(artifact),
                "width": image.width,
                "height": image.height,
                "seed": record["seed"],
            }
        )
    return {
        "images": saved,
        "seeds": seeds,
        "width": images[0].width,
        "height": images[0].height,
    }


def _encode_all(images: list[Any], records: list[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
    """(PNG, thumbnail JPEG) per image. ISA-L's deflate lets go of the GIL, so a
    batch is encoded on several cores at once: PNG compression is the one cost
    the service adds that grows with the image."""

    def encode(pair: tuple[Any, dict[str, Any]]) -> tuple[bytes, bytes]:
        image, record = pair
        return pngs.encode_png(image, record), pngs.thumbnail_jpeg(image)

    if len(images) == 1:
        return [encode((images[0], records[0]))]
    with ThreadPoolExecutor(max_workers=min(len(images), os.cpu_count() or 1)) as pool:
        return list(pool.map(encode, zip(images, records, strict=True)))


def _init_image(params: ImageParams) -> tuple[Any, str | None]:
    """The init image as RGB, and the SHA-256 of its file (what the record keeps:
    the same picture sent twice is the same record, whatever its artifact id)."""
    if params.init_image is None:
        return None, None
    from PIL import Image, ImageOps

    _, data = artifacts.read_input_file(params.init_image, "the init image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            # Phones store pictures sideways with an EXIF note to turn them.
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except OSError as error:
        reason = without_internals(str(error))
        raise JobError(f"The init image could not be read as an image ({reason}).") from None
    return upright, hashlib.sha256(data).hexdigest()


def _batch_step_reporter(members: Sequence[Member], rows: list[range], family: str) -> Any:
    """The step callback of a batch: each member its own step events and
    previews (from its own first image); a member whose cancel arrived leaves."""
    every = settings.GENHUB_IMAGE_PREVIEW_EVERY

    def on_step_end(pipe: Any, index: int, timestep: Any, tensors: dict[str, Any]) -> dict:
        _drop_stopping(members)  # raises, leaving the loop, once all have left
        step, total = index + 1, pipe.num_timesteps
        show = every and step % every == 0 and step < total
        for member, own in zip(members, rows, strict=True):
            if member.dropped:
                continue
            preview = None
            if show:
                preview = previews.latents_to_data_url(tensors["latents"][own.start :], family)
            member.progress.step(step, total, preview)
        return tensors

    return on_step_end


def _step_reporter(progress: JobProgress, family: str) -> Any:
    every = settings.GENHUB_IMAGE_PREVIEW_EVERY

    def on_step_end(pipe: Any, index: int, timestep: Any, tensors: dict[str, Any]) -> dict:
        # Raising here leaves the denoising loop at once: no VAE decode, no file.
        if progress.cancel_requested:
            raise JobCancelled()
        step, total = index + 1, pipe.num_timesteps
        preview = None
        if every and step % every == 0 and step < total:
            preview = previews.latents_to_data_url(tensors["latents"], family)
        progress.step(step, total, preview)
        return tensors

    return on_step_end


def _generate(
    pipe: Any,
    call: dict[str, Any],
    seeds: list[int],
    model: ImageModel,
    progress: JobProgress,
    out_of_memory: str,
) -> list[Any]:
    """Denoise; on CUDA out-of-memory, free what the job held and try once more
    with attention slicing and VAE tiling on; then fail with `out_of_memory`."""

    def attempt() -> list[Any]:
        generators = [torch.Generator("cpu").manual_seed(s) for s in seeds]
        return pipe(**call, generator=generators).images

    try:
        return attempt()
    except torch.OutOfMemoryError:
        free_cuda_memory()
        log.warning("out of memory; retrying with attention slicing and VAE tiling")
    progress.metrics["memory_savers"] = True
    model.use_memory_savers(True)
    try:
        return attempt()
    except torch.OutOfMemoryError as error:
        free_cuda_memory()
        raise JobError(out_of_memory) from error
    finally:
        model.use_memory_savers(False)
        free_cuda_memory()


def _record(
    aimodel: AIModel,
    pipe: Any,
    params: ImageParams,
    mode: str,
    image: Any,
    seed: int,
    device: str,
) -> dict[str, Any]:
    """Everything needed to make this image again."""
    import diffusers
    import transformers

    record: dict[str, Any] = {
        "prompt": params.prompt,
        "negative_prompt": params.negative_prompt,
        "mode": mode,
        "model": aimodel.name,
        "model_revision": aimodel.revision,
        "pipeline": type(pipe).__name__,
        "scheduler": params.scheduler or type(pipe.scheduler).__name__,
        "steps": params.steps,
        "guidance_scale": params.guidance_scale,
        "width": image.width,
        "height": image.height,
        "seed": seed,
        "device": device,
        "dtype": str(pipe.dtype).removeprefix("torch."),
        "versions": {
            "diffusers": diffusers.__version__,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        },
    }
    if mode == "image-to-image":
        record["strength"] = params.strength
    return record
