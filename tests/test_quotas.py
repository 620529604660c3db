"""Quotas: requests per minute, jobs at once and a daily compute budget per
modality. The request over a limit gets 429 with Retry-After and a sentence
naming the limit, on the API and on the pages; a limit frees up as time passes
(moved here by moving the rows back, not by sleeping); the account page and
GET /api/v1/account/usage show where each limit stands."""

import html
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db.models import F
from django.test import Client
from django.utils import timezone

from genhub.jobs import submit_job
from genhub.models import Job, JobKind, JobStatus, UsagePolicy

pytestmark = [pytest.mark.unit]

TEXT = {"prompt": "Hello", "max_new_tokens": 2}


def post_text(client, **headers):
    return client.post(
        "/api/v1/text/generations", TEXT, content_type="application/json", headers=headers
    )


def post_image(client):
    body = {"prompt": "a fox", "steps": 1}
    return client.post("/api/v1/images/generations", body, content_type="application/json")


def refused(response, limit):
    """The 429's sentence, after checking its shape and Retry-After (seconds)."""
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["limit"] == limit
    assert int(response["Retry-After"]) == body["retry_after"] >= 1
    return body["detail"]


def move_back(owner, **delta):
    """Make time pass for `owner`'s jobs: every timestamp moves into the past."""
    by = timedelta(**delta)
    Job.objects.filter(owner=owner).update(
        created_at=F("created_at") - by,
        started_at=F("started_at") - by,
        finished_at=F("finished_at") - by,
    )


@pytest.fixture
def alice_browser(alice):
    client = Client()
    client.force_login(alice)
    return client


# --- requests per minute ----------------------------------------------------------


def test_the_job_over_the_per_minute_limit_is_refused_until_the_oldest_leaves(
    alice_api, alice, tiny_text, settings
):
    settings.GENHUB_QUOTA_REQUESTS_PER_MINUTE = 3
    for _ in range(3):
        assert post_text(alice_api).status_code == 202
    move_back(alice, seconds=50)
    detail = refused(post_text(alice_api), "requests_per_minute")
    assert "3 jobs in the last minute" in detail
    assert "GENHUB_QUOTA_REQUESTS_PER_MINUTE" in detail and "Try again in" in detail
    assert 9 <= int(post_text(alice_api)["Retry-After"]) <= 11  # the oldest leaves in 10 s
    assert Job.objects.count() == 3

    move_back(alice, seconds=11)
    assert post_text(alice_api).status_code == 202


def test_repeats_with_an_idempotency_key_and_reads_do_not_count(
    alice_api, alice, tiny_text, settings
):
    settings.GENHUB_QUOTA_REQUESTS_PER_MINUTE = 2
    first = [post_text(alice_api, **{"Idempotency-Key": "once"}) for _ in range(3)]
    assert {r.status_code for r in first} == {202}
    assert len({r.json()["id"] for r in first}) == 1
    for _ in range(5):
        assert alice_api.get("/api/v1/jobs").status_code == 200
    assert post_text(alice_api).status_code == 202
    refused(post_text(alice_api), "requests_per_minute")
    # A repeat of an accepted request still answers with its job, over the limit.
    assert post_text(alice_api, **{"Idempotency-Key": "once"}).status_code == 202


def test_limits_are_per_user(alice_api, bob_api, tiny_text, settings):
    settings.GENHUB_QUOTA_REQUESTS_PER_MINUTE = 1
    assert post_text(alice_api).status_code == 202
    refused(post_text(alice_api), "requests_per_minute")
    assert post_text(bob_api).status_code == 202


# --- jobs queued or running at once -------------------------------------------------


def test_the_job_over_the_queued_limit_is_refused_until_one_ends(
    alice_api, alice, tiny_text, settings
):
    settings.GENHUB_QUOTA_MAX_QUEUED = 2
    ids = [post_text(alice_api).json()["id"] for _ in range(2)]
    response = post_text(alice_api)
    detail = refused(response, "max_queued")
    assert "2 jobs queued or running" in detail and "GENHUB_QUOTA_MAX_QUEUED" in detail
    # No recent runs of the model, so no ETA to go by: the fallback.
    assert response["Retry-After"] == "30"

    assert alice_api.post(f"/api/v1/jobs/{ids[0]}/cancel").status_code == 202
    assert post_text(alice_api).status_code == 202


def test_the_queued_limits_retry_after_is_the_soonest_eta(alice, alice_api, tiny_text, settings):
    settings.GENHUB_QUOTA_MAX_QUEUED = 1
    now = timezone.now()
    # A run of 10 s for the same work sets the model's pace (genhub/eta.py) ...
    done = submit_job(alice, "text", None, dict(TEXT))
    Job.objects.filter(pk=done.pk).update(
        status=JobStatus.SUCCEEDED,
        started_at=now - timedelta(seconds=100),
        finished_at=now - timedelta(seconds=90),
    )
    # ... so a job that started 4 s ago should be done in about 6.
    running = submit_job(alice, "text", None, dict(TEXT))
    Job.objects.filter(pk=running.pk).update(
        status=JobStatus.RUNNING, started_at=now - timedelta(seconds=4)
    )
    response = post_text(alice_api)
    refused(response, "max_queued")
    assert 4 <= int(response["Retry-After"]) <= 7


def test_download_jobs_are_not_counted(alice, alice_api, tiny_text, settings):
    settings.GENHUB_QUOTA_MAX_QUEUED = 1
    settings.GENHUB_QUOTA_REQUESTS_PER_MINUTE = 1
    Job.objects.create(
        owner=alice, kind=JobKind.DOWNLOAD, modality="text", model=tiny_text, prompt="", params={}
    )
    assert post_text(alice_api).status_code == 202


# --- compute seconds per day ----------------------------------------------------------


def ran(owner, model, seconds, ended_ago, status=JobStatus.SUCCEEDED):
    """A finished job of `owner` that ran `seconds`, ending `ended_ago` seconds ago."""
    job = submit_job(owner, model.modality, None, {"prompt": "earlier"})
    end = timezone.now() - timedelta(seconds=ended_ago)
    Job.objects.filter(pk=job.pk).update(
        status=status, started_at=end - timedelta(seconds=seconds), finished_at=end
    )
    return job


def test_the_job_over_the_daily_compute_budget_is_refused_and_other_modalities_are_free(
    alice_api, alice, tiny_text, tiny_image, settings
):
    settings.GENHUB_QUOTA_COMPUTE_SECONDS_PER_DAY = "text=60"
    ran(alice, tiny_text, seconds=70, ended_ago=3600)
    response = post_text(alice_api)
    detail = refused(response, "compute_seconds_per_day")
    assert "Your text jobs have used 1 min 10 s of worker time in the last 24 hours" in detail
    assert "GENHUB_QUOTA_COMPUTE_SECONDS_PER_DAY" in detail
    # 11 s of it must leave the window: the run's first 11 s, 23 h less 70 s from now.
    expected = 24 * 3600 - 3600 - 70 + 11
    assert abs(int(response["Retry-After"]) - expected) <= 2

    assert post_image(alice_api).status_code == 202  # images have no budget

    move_back(alice, seconds=expected - 5)
    refused(post_text(alice_api), "compute_seconds_per_day")
    move_back(alice, seconds=5)
    assert post_text(alice_api).status_code == 202


def test_a_running_job_counts_its_time_so_far(alice_api, alice, tiny_text, settings):
    settings.GENHUB_QUOTA_COMPUTE_SECONDS_PER_DAY = "60"
    job = submit_job(alice, "text", None, dict(TEXT))
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=timezone.now() - timedelta(seconds=61)
    )
    refused(post_text(alice_api), "compute_seconds_per_day")


def test_a_policys_budget_for_one_modality_leaves_the_others_to_the_default(
    alice_api, alice, tiny_text, tiny_image, settings
):
    settings.GENHUB_QUOTA_COMPUTE_SECONDS_PER_DAY = "0"
    UsagePolicy.objects.create(user=alice, compute_seconds_per_day={"image": 30})
    ran(alice, tiny_image, seconds=40, ended_ago=60)
    ran(alice, tiny_text, seconds=4000, ended_ago=60)
    refused(post_image(alice_api), "compute_seconds_per_day")
    assert post_text(alice_api).status_code == 202


# --- who gets which limit -------------------------------------------------------------


def test_a_groups_policy_overrides_the_settings_and_a_users_own_overrides_the_group(
    alice_api, alice, tiny_text, settings
):
    settings.GENHUB_QUOTA_MAX_QUEUED = 1
    group = Group.objects.create(name="Researchers")
    alice.groups.add(group)
    UsagePolicy.objects.create(group=group, max_queued=3)
    for _ in range(3):
        assert post_text(alice_api).status_code == 202
    assert "(3: GENHUB_QUOTA_MAX_QUEUED" in refused(post_text(alice_api), "max_queued")

    UsagePolicy.objects.create(user=alice, max_queued=5)
    assert post_text(alice_api).status_code == 202
    UsagePolicy.objects.filter(user=alice).update(max_queued=2)
    assert "(2: GENHUB_QUOTA_MAX_QUEUED" in refused(post_text(alice_api), "max_queued")


def test_superusers_have_no_limit_unless_their_own_policy_says_so(
    django_user_model, tiny_text, settings
):
    settings.GENHUB_QUOTA_REQUESTS_PER_MINUTE = 1
    root = django_user_model.objects.create_superuser("root", password="root-pass-123")
    for _ in range(3):
        submit_job(root, "text", None, dict(TEXT))
    UsagePolicy.objects.create(user=root, requests_per_minute=3)
    client = Client()
    client.force_login(root)
    response = client.post("/text/", {"message": "Hi", "max_new_tokens": "2"})
    assert response.status_code == 429


# --- the pages ---------------------------------------------------------------------------


def test_the_form_over_a_limit_shows_the_same_sentence_with_429(
    alice_browser, alice, tiny_image, settings
):
    settings.GENHUB_QUOTA_REQUESTS_PER_MINUTE = 1
    first = alice_browser.post("/images/", {"prompt": "a fox", "steps": "1"})
    assert first.status_code == 302
    response = alice_browser.post("/images/", {"prompt": "a fox", "steps": "1"})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    page = html.unescape(response.content.decode())
    assert "You have submitted 1 job in the last minute" in page
    assert Job.objects.count() == 1


def test_the_account_page_shows_usage_against_each_limit(
    alice_browser, alice, tiny_text, tiny_image, settings
):
    settings.GENHUB_QUOTA_REQUESTS_PER_MINUTE = 2
    settings.GENHUB_QUOTA_MAX_QUEUED = 0
    settings.GENHUB_QUOTA_COMPUTE_SECONDS_PER_DAY = "image=600"
    ran(alice, tiny_image, seconds=90, ended_ago=60)
    page = html.unescape(alice_browser.get("/account/").content.decode())
    assert "<h2>Usage</h2>" in page
    assert "Jobs submitted in the last minute</td><td>1</td>" in page
    assert "Jobs queued or running at once</td><td>0</td>" in page
    assert "Image worker time in the last 24 hours</td><td>1 min 30 s</td>" in page
    assert "<td>10 min</td>" in page and "no limit" in page

    submit_job(alice, "text", None, dict(TEXT))
    page = html.unescape(alice_browser.get("/account/").content.decode())
    assert '<tr class="reached"><td>Jobs submitted in the last minute</td><td>2</td>' in page
    assert "<td>in " in page  # when it frees up


# --- the API ---------------------------------------------------------------------------


def test_usage_over_the_api_is_the_callers_own(alice_api, bob_api, alice, tiny_text, settings):
    settings.GENHUB_QUOTA_REQUESTS_PER_MINUTE = 2
    settings.GENHUB_QUOTA_COMPUTE_SECONDS_PER_DAY = "text=100"
    for _ in range(2):
        post_text(alice_api)
    rows = {(r["limit"], r["modality"]): r for r in alice_api.get("/api/v1/account/usage").json()}
    per_minute = rows[("requests_per_minute", None)]
    assert per_minute["used"] == 2 and per_minute["allowed"] == 2
    assert 1 <= per_minute["resets_in"] <= 60
    assert rows[("max_queued", None)] == {
        "limit": "max_queued",
        "modality": None,
        "label": "Jobs queued or running at once",
        "used": 2,
        "allowed": 0,
        "resets_in": None,
    }
    text = rows[("compute_seconds_per_day", "text")]
    assert text["used"] == 0 and text["allowed"] == 100 and text["resets_in"] is None
    assert ("compute_seconds_per_day", "image") in rows

    bobs = {r["limit"]: r for r in bob_api.get("/api/v1/account/usage").json()}
    assert bobs["requests_per_minute"]["used"] == 0
    assert Client().get("/api/v1/account/usage").status_code == 401


# --- the admin ---------------------------------------------------------------------------


@pytest.fixture
def root_browser(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", password="pw-123456"))
    return client


def test_the_admin_adds_a_policy_and_refuses_a_bad_one(root_browser, alice):
    form = root_browser.get("/admin/genhub/usagepolicy/add/")
    assert form.status_code == 200
    bad = root_browser.post(
        "/admin/genhub/usagepolicy/add/",
        {"user": alice.pk, "compute_seconds_per_day": '{"video": 10}'},
    )
    assert bad.status_code == 200 and "&#x27;video&#x27; is not a modality" in bad.content.decode()
    neither = root_browser.post("/admin/genhub/usagepolicy/add/", {"compute_seconds_per_day": "{}"})
    assert "Choose either a user or a group" in neither.content.decode()

    response = root_browser.post(
        "/admin/genhub/usagepolicy/add/",
        {
            "user": alice.pk,
            "requests_per_minute": "5",
            "max_queued": "",
            "compute_seconds_per_day": '{"image": 600}',
            "note": "demo account",
        },
    )
    assert response.status_code == 302
    policy = UsagePolicy.objects.get(user=alice)
    assert policy.requests_per_minute == 5 and policy.max_queued is None
    assert policy.compute_seconds_per_day == {"image": 600}
    listing = root_browser.get("/admin/genhub/usagepolicy/?q=alice").content.decode()
    assert "policy for alice" in listing and "image: 600" in listing


def test_the_admins_test_action_says_when_a_limit_stops_it(
    root_browser, django_user_model, tiny_text, tiny_image
):
    root = django_user_model.objects.get(username="root")
    UsagePolicy.objects.create(user=root, requests_per_minute=1)
    response = root_browser.post(
        "/admin/genhub/aimodel/",
        {"action": "test_generation", "_selected_action": [str(tiny_text.pk), str(tiny_image.pk)]},
        follow=True,
    )
    said = sorted(str(m) for m in response.context["messages"])
    assert said[0].startswith("Test job for tiny-")
    assert " was not tested. You have submitted 1 job in the last minute" in said[1]
    assert Job.objects.count() == 1
