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

    AIModel.objects.filter(pk=tiny_audio.pk).update(options={"max_duration": 30, "speed": 2})
    job = submit_job(alice, "audio", None, {"prompt": "x", "duration": 0.2})
    job.model.refresh_from_db()
    with pytest.raises(JobError, match=r"Unknown option\(s\) speed for audio models"):
        run(job, AudioParams.model_validate(job.params), JobProgress(job))
