"""Files jobs make are served only to the job's owner and operators, with range requests."""

import pytest
from django.test import Client
from django.urls import reverse, set_script_prefix

from genhub import artifacts
from genhub.jobs import submit_job


@pytest.fixture
def artifact(alice, tiny_image):
    job = submit_job(alice, "image", None, {"prompt": "a fox"})
    return artifacts.save_output(
        job,
        0,
        bytes(range(256)) * 4,
        mime_type="image/png",
        extension="png",
        thumbnail=b"\xff\xd8thumb",
        width=64,
        height=64,
        seed=5,
        record={"prompt": "a fox"},
    )


def file_url(artifact):
    return f"/api/v1/artifacts/{artifact.pk}/file"


def test_the_owner_gets_the_file_its_metadata_and_thumbnail(alice_api, artifact):
    response = alice_api.get(file_url(artifact))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == bytes(range(256)) * 4
    assert response["Content-Type"] == "image/png"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"].startswith("private")
    meta = alice_api.get(f"/api/v1/artifacts/{artifact.pk}").json()
    assert meta["seed"] == 5 and meta["record"] == {"prompt": "a fox"}
    assert meta["url"] == f"http://testserver{file_url(artifact)}"
    thumb = alice_api.get(meta["thumbnail_url"])
    assert b"".join(thumb.streaming_content) == b"\xff\xd8thumb"


def test_an_artifacts_links_are_the_paths_reverse_gives(artifact):
    # links() builds them from a route found once; reverse() is what they must equal,
    # behind a script prefix too (a proxy that mounts GenHub under a path).
    found = artifacts.links(artifact)
    assert found["url"] == reverse("api:artifact_file", args=[artifact.pk])
    assert found["thumbnail_url"] == reverse("api:artifact_thumbnail", args=[artifact.pk])
    set_script_prefix("/genhub/")
    try:
        found = artifacts.links(artifact)
        assert found["url"] == reverse("api:artifact_file", args=[artifact.pk])
        assert found["url"].startswith("/genhub/api/")
    finally:
        set_script_prefix("/")
    artifact.thumbnail = None
    assert artifacts.links(artifact)["thumbnail_url"] is None


def test_the_job_lists_its_artifacts(alice_api, artifact):
    job = alice_api.get(f"/api/v1/jobs/{artifact.job_id}").json()
    assert [a["id"] for a in job["artifacts"]] == [str(artifact.pk)]


def test_a_status_reads_hand_built_statements_give_what_the_orm_gives(
    alice, bob, operator, artifact
):
    """genhub/job_reads.py reads a job, its model and its artifacts by hand: the
    same rows, in the same order, with the same values, as the ORM's, and only
    for those Job.objects.visible_to lets see the job."""
    from django.contrib.auth.models import AnonymousUser

    from genhub.job_reads import visible_job
    from genhub.models import Artifact, Job

    artifacts.save_output(
        artifact.job, 1, b"second", mime_type="image/png", extension="png", seed=6
    )
    Job.objects.filter(pk=artifact.job_id).update(
        params={"prompt": "a fox", "nested": [1, {"a": None}]}, metrics={"s": 1.5}
    )

    def values(instance):
        return [getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields]

    by_orm = Job.objects.select_related("model").get(pk=artifact.job_id)
    for user in (alice, operator):
        found = visible_job(user, artifact.job_id)
        assert found is not None
        job, by_hand = found
        assert values(job) == values(by_orm)
        assert values(job.model) == values(by_orm.model)
        assert [a.seed for a in by_hand] == [5, 6]
        assert [values(a) for a in by_hand] == [
            values(a) for a in Artifact.objects.filter(job=artifact.job_id)
        ]
        assert job._state.adding is False and job.model._state.adding is False
    for user in (bob, AnonymousUser()):
        assert visible_job(user, artifact.job_id) is None
        assert not Job.objects.visible_to(user).filter(pk=artifact.job_id).exists()


def test_a_visibility_rule_on_the_id_keeps_its_own_condition(alice, artifact, monkeypatch):
    """The statement's placeholders: a rule's value never takes the place of the
    job's id (genhub/job_reads.py), so the rule's condition is not dropped."""
    import uuid

    from genhub import job_reads

    monkeypatch.setattr(job_reads, "job_visibility", lambda user: {"id": uuid.uuid4()})
    assert job_reads.visible_job(alice, artifact.job_id) is None
    monkeypatch.setattr(job_reads, "job_visibility", lambda user: {"id": artifact.job_id})
    assert job_reads.visible_job(alice, artifact.job_id) is not None


def test_another_user_gets_404_and_an_operator_gets_the_file(bob_api, operator_api, artifact):
    for path in ("", "/file", "/thumbnail"):
        assert bob_api.get(f"/api/v1/artifacts/{artifact.pk}{path}").status_code == 404
    assert operator_api.get(file_url(artifact)).status_code == 200


def test_no_credentials_no_file(artifact):
    assert Client().get(file_url(artifact)).status_code == 401


def test_the_browser_session_of_the_owner_gets_the_file(alice, artifact):
    browser = Client()
    browser.force_login(alice)
    assert browser.get(file_url(artifact)).status_code == 200


@pytest.mark.parametrize(
    "header, status, content_range, body",
    [
        ("bytes=0-9", 206, "bytes 0-9/1024", bytes(range(10))),
        ("bytes=1020-", 206, "bytes 1020-1023/1024", bytes([252, 253, 254, 255])),
        ("bytes=-2", 206, "bytes 1022-1023/1024", bytes([254, 255])),
        ("bytes=1000-5000", 206, "bytes 1000-1023/1024", (bytes(range(256)) * 4)[1000:]),
        ("bytes=2000-", 416, "bytes */1024", b""),
        ("bytes=2-1", 416, "bytes */1024", b""),
    ],
)
def test_range_requests_let_a_player_seek(alice_api, artifact, header, status, content_range, body):
    response = alice_api.get(file_url(artifact), headers={"Range": header})
    assert response.status_code == status
    assert response["Content-Range"] == content_range
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert content == body


def test_a_range_this_server_does_not_split_gets_the_whole_file(alice_api, artifact):
    response = alice_api.get(file_url(artifact), headers={"Range": "bytes=0-1,5-6"})
    assert response.status_code == 200
    assert len(b"".join(response.streaming_content)) == 1024


def test_a_range_with_absurd_numbers_is_the_whole_file_not_a_500(alice_api, artifact):
    response = alice_api.get(file_url(artifact), headers={"Range": "bytes=0-" + "9" * 5000})
    assert response.status_code == 200


def test_a_file_gone_from_storage_is_404(alice_api, artifact):
    artifact.file.storage.delete(artifact.file.name)
    assert alice_api.get(file_url(artifact)).status_code == 404


def test_a_download_is_named_from_the_prompt_and_seed(alice_api, artifact):
    response = alice_api.get(file_url(artifact))
    assert response["Content-Disposition"] == (
        "inline; filename=\"a-fox-5.png\"; filename*=UTF-8''a-fox-5.png"
    )
    asked = alice_api.get(file_url(artifact) + "?download=1")
    assert asked["Content-Disposition"].startswith('attachment; filename="a-fox-5.png"')
    # Among several files of one job, each also says which it is.
    second = artifacts.save_output(
        artifact.job, 1, b"png", mime_type="image/png", extension="png", seed=6
    )
    assert 'filename="a-fox-6-2.png"' in alice_api.get(file_url(second))["Content-Disposition"]


def test_an_image_stored_without_a_thumbnail_gets_a_small_one_once(alice_api, alice, tiny_image):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1024, 512), "teal").save(buffer, "PNG")
    job = submit_job(alice, "image", None, {"prompt": "big"})
    big = artifacts.save_output(job, 0, buffer.getvalue(), mime_type="image/png", extension="png")
    assert not big.thumbnail
    response = alice_api.get(f"/api/v1/artifacts/{big.pk}/thumbnail")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    small = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert small.format == "JPEG" and small.size == (256, 128)
    big.refresh_from_db()
    assert big.thumbnail.name.endswith("-thumb.jpg")  # kept: made once
    clip = artifacts.save_output(job, 1, b"RIFF", mime_type="audio/wav", extension="wav")
    assert alice_api.get(f"/api/v1/artifacts/{clip.pk}/thumbnail").status_code == 404


def test_a_page_of_jobs_lists_each_jobs_own_artifacts_in_order(alice, alice_api, artifact):
    """The job list reads every job's artifacts in one statement
    (genhub/job_reads.py): each job gets its own, in the order its status read gives."""
    artifacts.save_output(
        artifact.job, 1, b"second", mime_type="image/png", extension="png", seed=6
    )
    other = submit_job(alice, "image", None, {"prompt": "an owl"})
    artifacts.save_output(other, 0, b"owl", mime_type="image/png", extension="png", seed=9)
    bare = submit_job(alice, "image", None, {"prompt": "nothing yet"})
    page = {job["id"]: job for job in alice_api.get("/api/v1/jobs").json()["items"]}
    assert [a["seed"] for a in page[str(artifact.job_id)]["artifacts"]] == [5, 6]
    assert [a["seed"] for a in page[str(other.pk)]["artifacts"]] == [9]
    assert page[str(bare.pk)]["artifacts"] == []
    for job_id, job in page.items():
        assert job["artifacts"] == alice_api.get(f"/api/v1/jobs/{job_id}").json()["artifacts"]
