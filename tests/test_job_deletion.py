"""Deleting jobs through the API: DELETE /api/v1/jobs/{id} and POST
/api/v1/jobs/delete take a job's files off the disk, refuse a job still queued or
running (409: cancel it first), answer 404 for another user's job, and leave a
chat answer's words in its conversation."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from genhub import artifacts
from genhub.jobs import submit_job
from genhub.models import Artifact, Job, JobStatus, Message
from genhub.waveform_peaks import cached_peaks, peaks_name
from tests.test_waveform_peaks import wav_bytes


def finished(job, status=JobStatus.SUCCEEDED, **fields):
    Job.objects.filter(pk=job.pk).update(status=status, **fields)
    return Job.objects.get(pk=job.pk)


def image_job(owner, prompt="a fox", status=JobStatus.SUCCEEDED):
    job = submit_job(owner, "image", None, {"prompt": prompt, "num_images": 2})
    for index in range(2):
        artifacts.save_output(
            job, index, b"png bytes", mime_type="image/png", extension="png", thumbnail=b"jpg"
        )
    return finished(job, status)


def on_disk(job):
    """The paths of every file the job's artifacts keep, and its folder."""
    names = [
        name
        for artifact in Artifact.objects.filter(job=job)
        for name in (artifact.file.name, artifact.thumbnail.name)
        if name
    ]
    return [Path(settings.MEDIA_ROOT) / name for name in names]


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_delete_is_204_and_takes_the_files_off_the_disk(
    alice_api, alice, tiny_image, django_capture_on_commit_callbacks
):
    job = image_job(alice)
    files = on_disk(job)
    assert len(files) == 4 and all(path.exists() for path in files)
    folder = files[0].parent

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.delete(f"/api/v1/jobs/{job.pk}")
    assert response.status_code == 204
    assert not Job.objects.filter(pk=job.pk).exists()
    assert not any(path.exists() for path in files)
    assert not folder.exists()  # the emptied jobs/<id>/ folder goes too
    assert alice_api.get(f"/api/v1/jobs/{job.pk}").status_code == 404
    assert alice_api.delete(f"/api/v1/jobs/{job.pk}").status_code == 404


def test_a_clips_cached_waveform_goes_with_it(
    alice_api, alice, tiny_audio, django_capture_on_commit_callbacks
):
    job = submit_job(alice, "audio", None, {"prompt": "lo-fi", "duration": 1})
    clip = artifacts.save_output(
        job, 0, wav_bytes([0.5] * 800), mime_type="audio/wav", extension="wav"
    )
    assert cached_peaks(clip)
    peaks = Path(settings.MEDIA_ROOT) / peaks_name(clip)
    assert peaks.exists()
    finished(job)
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_api.delete(f"/api/v1/jobs/{job.pk}").status_code == 204
    assert not peaks.exists()


def test_another_users_job_is_404_and_stays(bob_api, alice, tiny_image, operator_api):
    job = image_job(alice)
    assert bob_api.delete(f"/api/v1/jobs/{job.pk}").status_code == 404
    # Operators see every job, but delete other users' jobs in the admin only.
    assert operator_api.delete(f"/api/v1/jobs/{job.pk}").status_code == 404
    assert post(bob_api, "/api/v1/jobs/delete", {"ids": [str(job.pk)]}).json()["deleted"] == 0
    assert Job.objects.filter(pk=job.pk).exists()
    assert all(path.exists() for path in on_disk(job))


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING])
def test_a_job_not_ended_is_409_saying_to_cancel_it_first(alice_api, alice, tiny_image, status):
    job = image_job(alice, status=status)
    response = alice_api.delete(f"/api/v1/jobs/{job.pk}")
    assert response.status_code == 409
    assert (
        response.json()["detail"] == f"The job is still {status}; cancel it first, then delete it."
    )
    assert Job.objects.filter(pk=job.pk).exists()
    # Once cancelled, it goes.
    alice_api.post(f"/api/v1/jobs/{job.pk}/cancel")
    finished(job, JobStatus.CANCELLED)
    assert alice_api.delete(f"/api/v1/jobs/{job.pk}").status_code == 204


def test_bulk_delete_counts_what_it_did_and_why_not(
    alice_api, alice, bob, tiny_image, django_capture_on_commit_callbacks
):
    done = [image_job(alice, f"done {n}") for n in range(3)]
    failed = finished(submit_job(alice, "image", None, {"prompt": "x"}), JobStatus.FAILED)
    running = image_job(alice, "still going", JobStatus.RUNNING)
    bobs = image_job(bob, "bob's")
    files = [path for job in done for path in on_disk(job)]
    ids = [str(job.pk) for job in [*done, failed, running, bobs]]

    with django_capture_on_commit_callbacks(execute=True):
        response = post(alice_api, "/api/v1/jobs/delete", {"ids": ids})
    assert response.status_code == 200
    body = response.json()
    assert body["deleted"] == 4
    assert body["deleted_ids"] == ids[:4]
    assert body["active"] == [
        {
            "id": str(running.pk),
            "status": "running",
            "detail": "The job is still running; cancel it first, then delete it.",
        }
    ]
    assert body["not_found"] == [str(bobs.pk)]
    assert not any(path.exists() for path in files)
    assert set(Job.objects.values_list("prompt", flat=True)) == {"still going", "bob's"}


def test_bulk_delete_checks_its_body(alice_api, alice):
    assert post(alice_api, "/api/v1/jobs/delete", {"ids": []}).status_code == 422
    assert post(alice_api, "/api/v1/jobs/delete", {"ids": ["not-a-uuid"]}).status_code == 422
    assert post(alice_api, "/api/v1/jobs/delete", {"ids": [], "all": True}).status_code == 422
    too_many = {"ids": ["00000000-0000-0000-0000-000000000000"] * 501}
    response = post(alice_api, "/api/v1/jobs/delete", too_many)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "ids"


def test_a_chat_answer_keeps_its_words_when_its_job_is_deleted(alice_api, alice, tiny_text):
    chat = post(alice_api, "/api/v1/conversations", {}).json()
    asked = post(
        alice_api,
        "/api/v1/text/generations",
        {"conversation": chat["id"], "prompt": "Name a colour", "max_new_tokens": 5},
    ).json()
    finished(Job.objects.get(pk=asked["id"]), result={"text": "Teal, like the sea."})

    assert alice_api.delete(f"/api/v1/jobs/{asked['id']}").status_code == 204
    answer = Message.objects.get(role=Message.Role.ASSISTANT)
    assert answer.job is None and answer.content == "Teal, like the sea."
    shown = alice_api.get(f"/api/v1/conversations/{chat['id']}").json()["messages"]
    assert [m["content"] for m in shown] == ["Name a colour", "Teal, like the sea."]
