"""What every runner shares around its loader: a misconfigured model row fails
the job with the fix, a model that will not load fails it naming the model and
never a path on the server (the path goes to the worker log)."""

import logging
from typing import Any

import pytest

from genhub.errors import JobError
from genhub.jobs import submit_job
from genhub.models import AIModel
from genhub.worker.progress import JobProgress

pytestmark = pytest.mark.e2e  # imports and runs the runners


def test_a_model_that_will_not_load_is_named_without_its_path(
    alice: Any, tiny_text: AIModel, caplog: pytest.LogCaptureFixture
) -> None:
    from textgen.runner import run

    missing = "/srv/secret-models/llama-private/weights"
    broken = AIModel.objects.create(
        name="broken-text", modality="text", source_type="local", source=missing
    )
    job = submit_job(alice, "text", broken.name, {"prompt": "hi", "max_new_tokens": 2})
    params = job.params
    from textgen.params import TextParams

    with caplog.at_level(logging.ERROR), pytest.raises(JobError) as failure:
        run(job, TextParams.model_validate(params), JobProgress(job))
    message = str(failure.value)
    assert "'broken-text' could not be loaded" in message
    assert "/srv" not in message and "secret-models" not in message
    assert missing in caplog.text  # the operator still sees where it looked


def test_a_misconfigured_row_fails_the_job_with_the_fix(alice: Any, tiny_audio: AIModel) -> None:
    from audiogen.params import AudioParams
    from audiogen.runner import run

    job = submit_job(alice, "audio", None, {"prompt": "x", "duration": 0.2})
    # Changed around the admin after the job was queued: the worker checks again.
    AIModel.objects.filter(pk=tiny_audio.pk).update(options={"max_duration": 30, "speed": 2})
    job.model.refresh_from_db()
    with pytest.raises(JobError, match=r"Unknown option\(s\) speed for audio models"):
        run(job, AudioParams.model_validate(job.params), JobProgress(job))


def test_an_input_file_gone_from_storage_fails_the_job_without_its_path(
    alice: Any, tiny_image: AIModel
) -> None:
    import base64
    import io

    from PIL import Image

    from imagegen.params import ImageParams
    from imagegen.runner import run

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "navy").save(buffer, "PNG")
    init = base64.b64encode(buffer.getvalue()).decode()
    job = submit_job(alice, "image", None, {"prompt": "x", "steps": 2, "init_image": init})
    stored = job.artifacts.get(role="input")
    stored.file.storage.delete(stored.file.name)  # the media volume lost it
    with pytest.raises(JobError) as failure:
        run(job, ImageParams.model_validate(job.params), JobProgress(job))
    assert str(failure.value) == "The init image is no longer stored; send it again."
