"""Workers report in: each job-running process keeps a row with its queues,
device, memory, loaded models and running job; staff read them at
GET /api/v1/workers and in the admin; a worker that stops reporting is gone."""

import time
import tomllib
from datetime import timedelta

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone

import genhub
from genhub.jobs import submit_job
from genhub.models import ApiKey, Job, Worker
from genhub.worker.devices import cpu_computes_bf16
from tests.stack import ROOT, Client, read_events, read_until_token
from tests.worker_rows import add_worker

# --- the list, from rows -------------------------------------------------------


def test_staff_see_each_worker_with_its_state(staff_api, alice, tiny_text):
    job = submit_job(alice, "text", None, {"prompt": "hi"})
    Job.objects.filter(pk=job.pk).update(status="running")
    add_worker("text", node="idle@host")
    add_worker("text,image", node="busy@host", job=job)
    add_worker("audio", node="quiet@host", seen_seconds_ago=60)
    add_worker("audio", node="stopped@host", stopped=True)
    add_worker("audio", node="long-gone@host", seen_seconds_ago=2 * 3600)

    response = staff_api.get("/api/v1/workers")
    assert response.status_code == 200
    rows = {row["node"]: row for row in response.json()}
    assert set(rows) == {"idle@host", "busy@host", "quiet@host", "stopped@host"}
    assert rows["idle@host"]["state"] == "idle" and rows["idle@host"]["job"] is None
    assert rows["busy@host"]["state"] == "busy"
    assert rows["busy@host"]["job"] == {"id": str(job.id), "modality": "text"}
    assert rows["busy@host"]["queues"] == ["text", "image"]
    assert rows["quiet@host"]["state"] == rows["stopped@host"]["state"] == "gone"
    idle = rows["idle@host"]
    assert idle["memory_total"] == 8 * 2**30 and idle["memory_free"] == 3 * 2**30
    assert idle["loaded_models"] == [{"name": "tiny-text", "bytes": 5 * 2**20}]
    started = [row["started_at"] for row in response.json()]
    assert started == sorted(started, reverse=True)  # newest first


def test_only_staff_see_the_workers(alice_api, db):
    add_worker()
    response = alice_api.get("/api/v1/workers")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only staff may see the workers."}


def test_the_admin_lists_workers_read_only(django_user_model, alice, tiny_text):
    root = django_user_model.objects.create_superuser("root", password="root-pass-123")
    admin = DjangoClient()
    admin.force_login(root)
    job = submit_job(alice, "text", None, {"prompt": "hi"})
    row = add_worker("text,image", job=job)
    add_worker("audio", node="dead@host", seen_seconds_ago=60)

    page = admin.get("/admin/genhub/worker/").content.decode()
    assert "text@host" in page and "dead@host" in page
    assert f'<a href="/admin/genhub/worker/{row.pk}/change/">busy</a>' in page
    assert ">gone</a>" in page and "60 s ago" in page
    assert "3.0 GiB of 8.0 GiB" in page and "tiny-text (5 MiB)" in page
    assert f"/admin/genhub/job/{job.pk}/change/" in page
    assert admin.get("/admin/genhub/worker/add/").status_code == 403
    detail = admin.get(f"/admin/genhub/worker/{row.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()


def test_the_version_workers_report_is_the_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert genhub.__version__ == project["version"]


# --- real workers ----------------------------------------------------------------

LONG = {"prompt": "Hello", "max_new_tokens": 4096}


@pytest.fixture
def staff_client(live, staff):
    _, key = ApiKey.issue(staff)
    return Client(live, key)


def wait_for_worker(client, node_prefix, predicate, timeout=30.0):
    """The first listing of the worker named `node_prefix...` that satisfies `predicate`."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        response = client.http.get("/workers")
        assert response.status_code == 200, response.text
        found = [row for row in response.json() if row["node"].startswith(node_prefix)]
        if found:
            seen = found[0]
            if predicate(seen):
                return seen
        time.sleep(0.1)
    raise TimeoutError(f"worker {node_prefix} not as expected after {timeout} s: {seen}")


@pytest.mark.django_db(transaction=True)
def test_a_worker_reports_its_queues_device_models_and_job(
    alice_client, staff_client, start_worker, tiny_text
):
    start_worker("reporter")  # serves "text"
    row = wait_for_worker(staff_client, "reporter@", lambda w: w["state"] == "idle")
    assert row["queues"] == ["text"]
    assert row["pool"] == "prefork" and row["concurrency"] == 1
    assert row["device"].startswith("cpu (")  # GENHUB_DEVICE=cpu in tests
    assert 0 < row["memory_free"] < row["memory_total"]
    assert row["version"] == genhub.__version__

    job = alice_client.generate_text(**LONG)
    with alice_client.events(job["id"]) as socket:
        read_until_token(socket)
        busy = wait_for_worker(staff_client, "reporter@", lambda w: w["state"] == "busy")
        assert busy["job"] == {"id": job["id"], "modality": "text"}
        alice_client.http.post(f"/jobs/{job['id']}/cancel")
        read_events(socket)

    after = wait_for_worker(staff_client, "reporter@", lambda w: w["state"] == "idle")
    assert [m["name"] for m in after["loaded_models"]] == [tiny_text.name]
    assert after["loaded_models"][0]["bytes"] > 0
    assert after["pid"] == busy["pid"] == row["pid"]
    # With torch loaded, a CPU worker says whether bfloat16 pays off on it.
    bf16 = ", bfloat16 in hardware" in after["device"]
    assert bf16 == cpu_computes_bf16(), after["device"]


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_shows_as_gone_and_its_job_runs_elsewhere(
    alice_client, staff_client, start_worker, settings
):
    doomed = start_worker("doomed")
    wait_for_worker(staff_client, "doomed@", lambda w: w["state"] == "idle")
    job = alice_client.generate_text(**{**LONG, "max_new_tokens": 1000})
    with alice_client.events(job["id"]) as socket:
        read_until_token(socket)
        wait_for_worker(staff_client, "doomed@", lambda w: w["state"] == "busy")
        doomed.kill()  # SIGKILL, main process and pool alike: no goodbye
    killed_at = timezone.now()

    gone = wait_for_worker(
        staff_client,
        "doomed@",
        lambda w: w["state"] == "gone",
        timeout=settings.GENHUB_WORKER_GONE_SECONDS + 30,
    )
    row = Worker.objects.get(node=gone["node"])
    # Gone at GENHUB_WORKER_GONE_SECONDS after its last beat, with no beat after the kill.
    assert row.stopped_at is None and row.last_seen_at <= killed_at
    assert timezone.now() - row.last_seen_at >= timedelta(
        seconds=settings.GENHUB_WORKER_GONE_SECONDS
    )

    start_worker("rescuer")
    final = alice_client.wait(job["id"], {"succeeded", "failed"}, timeout=90)
    assert final["status"] == "succeeded" and final["attempts"] == 2
    wait_for_worker(staff_client, "rescuer@", lambda w: w["state"] == "idle")
    assert wait_for_worker(staff_client, "doomed@", lambda w: True)["state"] == "gone"


@pytest.mark.django_db(transaction=True)
def test_jobs_are_accepted_while_a_real_worker_serves_the_queue(
    alice_api, tiny_text, start_worker, settings
):
    settings.GENHUB_ACCEPT_WITHOUT_WORKERS = False

    def post():
        return alice_api.post(
            "/api/v1/text/generations",
            {"prompt": "hi", "max_new_tokens": 2},
            content_type="application/json",
        )

    refused = post()
    assert refused.status_code == 503 and "'text'" in refused.json()["detail"]
    worker = start_worker("server")  # returns once its pool process reported in
    assert post().status_code == 202
    worker.stop()  # a clean shutdown says so: refused at once, not 30 s later
    assert not Worker.objects.live().exists()
    assert Worker.objects.filter(node__startswith="server@").exclude(stopped_at=None).exists()
    assert post().status_code == 503
