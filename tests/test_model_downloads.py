"""Downloading a hub model with progress, against a fake hub on 127.0.0.1
(tests/fake_hub.py): the download itself, as a job, before a generation job's
load, from `manage.py download_model --here`, from the admin's action, and the
fast failure when the hub cannot be reached. No worker process, no model run."""

import socket
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from huggingface_hub import constants

from genhub import events
from genhub.hub_downloads import download_snapshot
from genhub.jobs import submit_download
from genhub.models import AIModel, Job, JobKind, JobStatus
from tests.fake_hub import COMMIT, FILES, REPO, FakeHub, point_hub_at

pytestmark = pytest.mark.unit

TOTAL = sum(len(data) for data in FILES.values())


@pytest.fixture
def hub(monkeypatch, settings, tmp_path):
    """The fake hub, an empty model store, and small download chunks (10 MiB by
    default: a 2 MiB file would arrive in one piece and report once)."""
    fake = FakeHub()
    point_hub_at(monkeypatch, fake.url)
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 128 * 1024)
    settings.GENHUB_MODEL_DIR = tmp_path
    settings.GENHUB_ACCEPT_WITHOUT_WORKERS = True  # no worker here: execute_job runs it
    yield fake
    fake.stop()


@pytest.fixture
def hub_model(db):
    return AIModel.objects.create(
        name="tiny-download", modality="text", source_type="hub", source=REPO, revision="main"
    )


@pytest.fixture
def committed(transactional_db):
    """Rows committed, for execute_job: its heartbeat thread reads the job through
    a connection of its own, and would take an uncommitted job for lost."""


@pytest.fixture
def published(monkeypatch):
    """Every event the code under test publishes, as (type, payload)."""
    seen = []
    original = events.publish

    def record(job, type, **payload):
        seen.append((type, payload))
        original(job, type, **payload)

    monkeypatch.setattr(events, "publish", record)
    return seen


def closed_port() -> str:
    """A hub URL nothing listens on: the connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def steps(published):
    return [payload["state"] for type, payload in published if type == "step"]


def test_a_download_reports_growing_bytes_up_to_the_total(hub, hub_model):
    reports = []
    assert not hub_model.is_on_disk()
    snapshot = download_snapshot(hub_model, lambda done, total: reports.append((done, total)))

    assert snapshot.commit == COMMIT and snapshot.bytes == TOTAL
    assert len(reports) >= 3  # throttled, yet more than the start and the end
    done = [d for d, _ in reports]
    assert done == sorted(done) and reports[-1] == (TOTAL, TOTAL)
    assert all(total <= TOTAL for _, total in reports)
    assert hub_model.is_on_disk()
    # What huggingface_hub asked: the commit, the file list, then each file.
    assert f"GET /api/models/{REPO}/revision/main" in hub.requests
    assert f"GET /{REPO}/resolve/{COMMIT}/model.safetensors" in hub.requests


def test_a_download_job_ends_succeeded_with_its_bytes(committed, hub, hub_model, alice, published):
    from genhub.worker.execution import execute_job

    job = submit_download(alice, hub_model)
    assert (job.kind, job.prompt, job.params) == (JobKind.DOWNLOAD, "Download tiny-download", {})
    execute_job(str(job.pk), "test-worker")

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result == {"downloaded": "tiny-download", "bytes": TOTAL, "revision": COMMIT}
    states = steps(published)
    assert states and all(s["unit"] == "bytes" for s in states)
    assert states[-1]["step"] == states[-1]["total"] == TOTAL
    assert hub_model.is_on_disk()


def test_the_job_page_says_what_was_downloaded(committed, hub, hub_model, alice, client):
    from genhub.worker.execution import execute_job

    job = submit_download(alice, hub_model)
    execute_job(str(job.pk), "test-worker")
    client.force_login(alice)
    page = client.get(reverse("job", args=[job.pk])).content.decode()
    assert "Downloaded tiny-download at revision" in page
    assert 'data-kind="download"' in page


def test_a_generation_job_downloads_its_model_first_with_a_download_phase(
    hub, hub_model, alice, published, monkeypatch
):
    from genhub.worker import loading
    from genhub.worker.progress import JobProgress

    on_disk_at_load = []

    def from_cache(aimodel, load, nbytes, hold):  # the cache itself needs torch
        on_disk_at_load.append(aimodel.is_on_disk())
        return type("Entry", (), {"value": "model", "load_seconds": 0.1})(), False, "cpu"

    monkeypatch.setattr(loading, "_from_cache", from_cache)
    job = Job.objects.create(
        owner=alice, modality="text", model=hub_model, prompt="hi", params={"prompt": "hi"}
    )
    progress = JobProgress(job)
    assert loading.load_cached(job, progress, lambda m, d: "model", lambda v: 1) == (
        "model",
        "cpu",
    )
    assert on_disk_at_load == [True]
    states = steps(published)
    assert states[0]["phase"] == "download" and states[-2]["step"] == TOTAL
    assert states[-1] == {"step": 0, "total": 0, "unit": "", "phase": ""}  # cleared for the steps
    assert "download_seconds" in progress.metrics


def test_download_model_here_downloads_without_a_worker(hub, hub_model, capsys):
    call_command("download_model", "tiny-download", "--here")
    assert f"Downloaded tiny-download at revision {COMMIT}" in capsys.readouterr().out
    assert hub_model.is_on_disk()
    assert not Job.objects.exists()


def run_the_job_when_submitted() -> threading.Thread:
    """A stand-in worker: runs the first job once the command has submitted it."""
    from django.db import connection

    from genhub.worker.execution import execute_job

    def work() -> None:
        try:
            while not (queued := Job.objects.first()):
                time.sleep(0.05)
            execute_job(str(queued.pk), "test-worker")
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_download_model_follows_the_job_a_worker_runs(
    committed, hub, hub_model, django_user_model, capsys
):
    django_user_model.objects.create_superuser("root", password="root-pass-123")
    worker = run_the_job_when_submitted()
    call_command("download_model", "tiny-download")
    worker.join()
    assert f"Downloaded tiny-download at revision {COMMIT}: 2.1 MB." in capsys.readouterr().out
    assert Job.objects.get().kind == JobKind.DOWNLOAD


def test_download_model_fails_with_the_jobs_sentence(
    committed, hub, hub_model, django_user_model, monkeypatch
):
    django_user_model.objects.create_superuser("root", password="root-pass-123")
    point_hub_at(monkeypatch, closed_port())
    worker = run_the_job_when_submitted()
    with pytest.raises(CommandError, match="the Hugging Face hub cannot be reached"):
        call_command("download_model", "tiny-download")
    worker.join()


def test_download_model_says_a_local_model_is_already_there(db, capsys, tmp_path):
    AIModel.objects.create(name="mine", modality="text", source_type="local", source=str(tmp_path))
    call_command("download_model", "mine")
    assert "mine is already local" in capsys.readouterr().out


def test_the_admin_action_submits_a_download_job_per_hub_model(
    hub, hub_model, django_user_model, tmp_path
):
    from django.test import Client

    admin = django_user_model.objects.create_superuser("root", password="root-pass-123")
    local = AIModel.objects.create(
        name="mine", modality="text", source_type="local", source=str(tmp_path)
    )
    client = Client()
    client.force_login(admin)
    response = client.post(
        reverse("admin:genhub_aimodel_changelist"),
        {"action": "download", "_selected_action": [hub_model.pk, local.pk]},
        follow=True,
    )
    page = response.content.decode()
    job = Job.objects.get()
    assert (job.kind, job.model, job.owner) == (JobKind.DOWNLOAD, hub_model, admin)
    assert reverse("job", args=[job.pk]) in page
    assert "Mine is already local: nothing to download." in page  # capitalised by the admin


def test_an_unreachable_hub_fails_the_download_job_within_seconds(
    committed, hub, hub_model, alice, monkeypatch
):
    from genhub.worker.execution import execute_job

    point_hub_at(monkeypatch, closed_port())
    job = submit_download(alice, hub_model)
    started = time.monotonic()
    execute_job(str(job.pk), "test-worker")
    assert time.monotonic() - started < 10

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "Model 'tiny-download' is not downloaded yet and the Hugging Face hub cannot be " in (
        job.error
    )
    assert not hub_model.is_on_disk()
