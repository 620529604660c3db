"""The image runner on the tiny pipeline, in this process: seeds and batches,
the PNG record, previews, schedulers, image-to-image and cancel."""

import base64
import io

import pytest
from PIL import Image
from pydantic import ValidationError

from genhub.errors import JobCancelled
from genhub.jobs import submit_job
from genhub.models import Artifact
from genhub.worker.progress import JobProgress
from imagegen.params import ImageParams
from imagegen.runner import run
from tests.png_records import read_png_record


class RecordingProgress(JobProgress):
    def __init__(self, job, cancel_at_step=None):
        super().__init__(job)
        self.steps = []
        self.cancel_at_step = cancel_at_step

    def step(self, step, total, preview=None):
        self.steps.append((step, total, preview))
        if step == self.cancel_at_step:
            self.mark_cancel_requested()
        super().step(step, total, preview)


def generate(owner, progress_class=RecordingProgress, **params):
    job = submit_job(owner, "image", None, {"prompt": "a lighthouse at dusk", **params})
    progress = progress_class(job)
    return job, run(job, ImageParams.model_validate(job.params), progress), progress


def png_bytes(artifact_id):
    with Artifact.objects.get(pk=artifact_id).file.open("rb") as stored:
        return stored.read()


def test_the_same_seed_gives_byte_identical_pngs(alice, tiny_image):
    _, first, progress = generate(alice, steps=4, seed=42)
    assert progress.metrics["save_seconds"] > 0  # records, files and rows, timed
    _, again, _ = generate(alice, steps=4, seed=42)
    _, other, _ = generate(alice, steps=4, seed=43)
    first_png = png_bytes(first["images"][0]["artifact"])
    assert first_png == png_bytes(again["images"][0]["artifact"])
    assert first_png != png_bytes(other["images"][0]["artifact"])


def test_a_batch_gives_each_image_its_own_seed_and_each_can_be_made_alone(alice, tiny_image):
    job, batch, _ = generate(alice, steps=4, seed=100, num_images=3)
    assert [image["seed"] for image in batch["images"]] == [100, 101, 102] == batch["seeds"]
    outputs = list(job.artifacts.outputs().order_by("index"))
    assert [a.seed for a in outputs] == [100, 101, 102]
    assert len({png_bytes(a.pk) for a in outputs}) == 3

    _, alone, _ = generate(alice, steps=4, seed=101)
    batched = Image.open(io.BytesIO(png_bytes(outputs[1].pk)))
    single = Image.open(io.BytesIO(png_bytes(alone["images"][0]["artifact"])))
    # Same noise and prompt; a batch of three may round differently from a batch
    # of one in the last bit, so compare pixels with a tolerance of 1 level.
    difference = max(abs(a - b) for a, b in zip(batched.tobytes(), single.tobytes(), strict=True))
    assert difference <= 1


def test_the_png_carries_the_full_record(alice, tiny_image):
    job, result, _ = generate(
        alice,
        steps=3,
        seed=9,
        width=64,
        height=48,
        guidance_scale=4.0,
        negative_prompt="fog",
        scheduler="DPM++ 2M Karras",
    )
    artifact = job.artifacts.outputs().get()
    png = png_bytes(artifact.pk)
    record = read_png_record(png)
    assert record == artifact.record
    assert record["prompt"] == "a lighthouse at dusk"
    assert record["negative_prompt"] == "fog"
    assert record["model"] == "tiny-image"
    assert record["scheduler"] == "DPM++ 2M Karras"
    assert (record["steps"], record["guidance_scale"], record["seed"]) == (3, 4.0, 9)
    assert (record["width"], record["height"]) == (64, 48)
    assert {"diffusers", "transformers", "torch"} <= set(record["versions"])
    image = Image.open(io.BytesIO(png))
    assert image.size == (64, 48)
    assert (
        "Steps: 3, Sampler: DPM++ 2M Karras, CFG scale: 4.0, Seed: 9, Size: 64x48"
        in (image.text["parameters"])
    )
    assert (artifact.width, artifact.height, artifact.seed) == (64, 48, 9)
    assert artifact.mime_type == "image/png" and artifact.bytes == len(png)
    thumbnail = Image.open(artifact.thumbnail.open("rb"))
    assert thumbnail.format == "JPEG" and max(thumbnail.size) <= 256
    assert result["images"][0]["url"] == f"/api/v1/artifacts/{artifact.pk}/file"


def test_every_step_is_reported_with_a_preview_every_few(alice, tiny_image, settings):
    settings.GENHUB_IMAGE_PREVIEW_EVERY = 2
    _, _, progress = generate(alice, steps=7, seed=1)
    assert [(s, t) for s, t, _ in progress.steps] == [(i, 7) for i in range(1, 8)]
    previews = [p for s, _, p in progress.steps if p]
    assert len(previews) == 3  # steps 2, 4 and 6; the final image follows step 7
    assert all(p.startswith("data:image/jpeg;base64,") for p in previews)
    jpeg = base64.b64decode(previews[0].split(",", 1)[1])
    assert len(jpeg) < 8000
    assert Image.open(io.BytesIO(jpeg)).format == "JPEG"


@pytest.mark.parametrize("scheduler", ["DDIM", "Euler", "Euler a", "DPM++ 2M", "LCM", "UniPC"])
def test_every_whitelisted_scheduler_runs_the_asked_steps(alice, tiny_image, scheduler):
    job, result, progress = generate(alice, steps=4, seed=3, scheduler=scheduler)
    assert [s for s, _, _ in progress.steps] == [1, 2, 3, 4]
    assert job.artifacts.outputs().get().record["scheduler"] == scheduler


def test_image_to_image_starts_from_the_init_image(alice, tiny_image):
    init = Image.new("RGB", (80, 72), (200, 30, 30))
    buffer = io.BytesIO()
    init.save(buffer, "PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    job, result, progress = generate(alice, init_image=data_url, strength=0.5, steps=8, seed=5)
    # int(8 × 0.5) = 4 denoising steps; the size comes from the init image (rounded to /8)
    assert [s for s, _, _ in progress.steps] == [1, 2, 3, 4]
    assert (result["width"], result["height"]) == (80, 72)
    given = job.artifacts.get(role="input")
    assert given.field == "init_image" and (given.width, given.height) == (80, 72)
    assert job.params["init_image"] == f"artifact:{given.pk}"
    record = job.artifacts.outputs().get().record
    assert record["mode"] == "image-to-image" and record["strength"] == 0.5


def test_an_earlier_result_can_be_the_init_image(alice, bob, tiny_image):
    job, first, _ = generate(alice, steps=2, seed=5)
    ref = f"artifact:{first['images'][0]['artifact']}"
    _, again, _ = generate(alice, init_image=ref, strength=1.0, steps=2, seed=5)
    assert again["width"] == first["width"]
    with pytest.raises(ValidationError, match="no artifact"):  # bob cannot use alice's image
        generate(bob, init_image=ref, steps=2)


def test_cancel_stops_within_one_step_and_leaves_no_file(alice, tiny_image):
    job = submit_job(alice, "image", None, {"prompt": "x", "steps": 20, "seed": 1})
    progress = RecordingProgress(job, cancel_at_step=3)
    with pytest.raises(JobCancelled):
        run(job, ImageParams.model_validate(job.params), progress)
    assert [s for s, _, _ in progress.steps] == [1, 2, 3]
    assert not job.artifacts.exists()


# --- loading and memory -------------------------------------------------------


def test_a_pickled_checkpoint_is_refused_with_a_reason(alice, tiny_image, tmp_path):
    from genhub.errors import JobError
    from genhub.models import AIModel

    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_bytes(b"not opened")
    AIModel.objects.create(name="pickled", modality="image", source_type="local", source=checkpoint)
    job = submit_job(alice, "image", "pickled", {"prompt": "x"})
    with pytest.raises(JobError, match="Pickled checkpoints"):
        run(job, ImageParams.model_validate(job.params), RecordingProgress(job))


@pytest.mark.parametrize("source_type", ["safetensors", "local"])
def test_a_single_safetensors_file_loads_as_a_checkpoint(
    alice, tiny_image, tmp_path, monkeypatch, source_type
):
    # The SAFETENSORS type, and a file registered as LOCAL before that type existed.
    import imagegen.runner
    from genhub.errors import JobError
    from genhub.models import AIModel

    checkpoint = tmp_path / "model.safetensors"
    checkpoint.write_bytes(b"{}")
    opened = []

    def from_single_file(path, options, kwargs):
        opened.append(path)
        raise JobError("opened as a single file")

    monkeypatch.setattr(imagegen.runner, "_from_single_file", from_single_file)
    AIModel.objects.create(
        name="single", modality="image", source_type=source_type, source=checkpoint
    )
    job = submit_job(alice, "image", "single", {"prompt": "x"})
    with pytest.raises(JobError, match="opened as a single file"):
        run(job, ImageParams.model_validate(job.params), RecordingProgress(job))
    assert opened == [checkpoint]


def test_unknown_model_options_fail_the_job_with_the_known_ones(alice, tiny_image):
    from genhub.errors import JobError

    job = submit_job(alice, "image", None, {"prompt": "x", "steps": 1})
    # A typo made after the job was queued (submit refuses a misconfigured model).
    tiny_image.options = {**tiny_image.options, "turbo": True}
    tiny_image.save()
    job.model.refresh_from_db()
    with pytest.raises(
        JobError, match=r"Unknown option\(s\) turbo for image models; known: attention_slicing"
    ):
        run(job, ImageParams.model_validate(job.params), RecordingProgress(job))


def test_memory_saving_options_are_applied_on_load(alice, tiny_image):
    from genhub.worker import model_cache

    tiny_image.options = {**tiny_image.options, "attention_slicing": True, "vae_tiling": True}
    tiny_image.save()
    job, result, _ = generate(alice, steps=2, seed=1)
    pipe = model_cache._entries[(*tiny_image.cache_key, "cpu")].value.text2image
    assert pipe.vae.use_tiling
    processors = {type(p).__name__ for p in pipe.unet.attn_processors.values()}
    assert processors == {"SlicedAttnProcessor"}


class _OutOfMemoryOnce:
    """What a CUDA out-of-memory error looks like to the runner, on a CPU:
    the pipeline call raises torch.OutOfMemoryError (`times` times)."""

    def __init__(self, monkeypatch, times):
        from diffusers import StableDiffusionPipeline

        self.calls, self.slicing_on_calls = 0, []
        original = StableDiffusionPipeline.__call__

        def call(pipe, *args, **kwargs):
            self.calls += 1
            processors = {type(p).__name__ for p in pipe.unet.attn_processors.values()}
            self.slicing_on_calls.append(processors == {"SlicedAttnProcessor"})
            if self.calls <= times:
                import torch

                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return original(pipe, *args, **kwargs)

        monkeypatch.setattr(StableDiffusionPipeline, "__call__", call)


def test_out_of_memory_retries_once_with_memory_savers(alice, tiny_image, monkeypatch):
    oom = _OutOfMemoryOnce(monkeypatch, times=1)
    job, result, progress = generate(alice, steps=2, seed=4)
    assert oom.calls == 2 and oom.slicing_on_calls == [False, True]
    assert progress.metrics["memory_savers"] is True
    assert len(result["images"]) == 1
    # The savers are off again for the next job.
    generate(alice, steps=2, seed=4)
    assert oom.slicing_on_calls[-1] is False


def test_out_of_memory_twice_fails_naming_what_to_reduce(alice, tiny_image, monkeypatch):
    from genhub.errors import JobError

    _OutOfMemoryOnce(monkeypatch, times=2)
    job = submit_job(alice, "image", None, {"prompt": "x", "steps": 7, "width": 128, "height": 64})
    with pytest.raises(
        JobError, match=r"1 image\(s\) of 128×64 in 7 steps.*Lower width and height"
    ):
        run(job, ImageParams.model_validate(job.params), RecordingProgress(job))
    assert not job.artifacts.exists()
    monkeypatch.undo()
    _, result, _ = generate(alice, steps=2, seed=4)  # the worker goes on serving
    assert len(result["images"]) == 1
