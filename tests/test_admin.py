"""The admin pages for models, jobs and keys render and do their actions."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from genhub.jobs import submit_job
from genhub.models import AIModel, ApiKey, Job


@pytest.fixture
def admin_client(django_user_model):
    user = django_user_model.objects.create_superuser("root", password="root-pass-123")
    client = Client()
    client.force_login(user)
    return client


def test_changelists_filter_and_search(admin_client, alice, tiny_text):
    submit_job(alice, "text", None, {"prompt": "a lighthouse at dusk"})
    for url in [
        "/admin/genhub/aimodel/?modality=text&enabled__exact=1",
        "/admin/genhub/job/?status__exact=queued&q=lighthouse",
        "/admin/genhub/apikey/",
        f"/admin/genhub/aimodel/{tiny_text.pk}/change/",
        f"/admin/genhub/job/{Job.objects.get().pk}/change/",
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
    assert b"a lighthouse at dusk" in admin_client.get("/admin/genhub/job/?q=lighthouse").content


def test_cancel_action_cancels_queued_jobs(admin_client, alice, tiny_text):
    job = submit_job(alice, "text", None, {"prompt": "hi"})
    admin_client.post(
        "/admin/genhub/job/", {"action": "cancel_jobs", "_selected_action": [str(job.pk)]}
    )
    job.refresh_from_db()
    assert job.status == "cancelled"


def test_adding_a_key_shows_it_once_on_a_page_and_stores_a_hash(admin_client, alice):
    response = admin_client.post("/admin/genhub/apikey/add/", {"user": alice.pk, "name": "laptop"})
    assert response.status_code == 200
    assert "admin/genhub/apikey/created.html" in [t.name for t in response.templates]
    row = ApiKey.objects.get()
    assert row.name == "laptop" and row.user == alice
    key = response.context["key"]
    assert key.startswith(f"gh_{row.prefix}_") and key in response.content.decode()
    assert ApiKey.authenticate(key) == row and key not in row.hashed_key
    assert "no-store" in response["Cache-Control"]
    # Not in a message: those travel in a cookie and come back on the next page.
    assert "messages" not in response.cookies
    assert key not in admin_client.get("/admin/genhub/apikey/").content.decode()


def test_staff_set_a_keys_expiry_and_scopes_and_see_them_listed(admin_client, alice, bob):
    admin_client.post(
        "/admin/genhub/apikey/add/",
        {
            "user": alice.pk,
            "name": "scoped",
            "expires_at_0": "2099-01-02",
            "expires_at_1": "03:04:05",
            "scopes": ["image", "audio"],
        },
    )
    row = ApiKey.objects.get()
    assert row.scopes == ["image", "audio"] and row.expires_at.year == 2099
    ApiKey.issue(bob, name="unscoped")
    listing = admin_client.get("/admin/genhub/apikey/").content.decode()
    assert "image, audio" in listing and "Jan. 2, 2099" in listing and ">all<" in listing
    # A staff member can narrow an existing key of anyone's.
    admin_client.post(
        f"/admin/genhub/apikey/{row.pk}/change/", {"name": "scoped", "scopes": ["text"]}
    )
    row.refresh_from_db()
    assert row.scopes == ["text"] and row.expires_at is None


@pytest.fixture
def key_clerk(django_user_model):
    """Staff allowed to add and see keys, but not a superuser."""
    user = django_user_model.objects.create_user("clerk", password="clerk-pass-123", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="genhub", codename__in=["add_apikey", "view_apikey"]
        )
    )
    client = Client()
    client.force_login(user)
    return user, client


def test_only_a_superuser_makes_keys_for_someone_else(key_clerk, alice):
    clerk, client = key_clerk
    response = client.post("/admin/genhub/apikey/add/", {"user": alice.pk, "name": "x"})
    assert response.status_code == 200
    assert "superuser" in response.context["adminform"].form.errors["user"][0]
    assert not ApiKey.objects.exists()
    response = client.post("/admin/genhub/apikey/add/", {"user": clerk.pk, "name": "mine"})
    assert response.status_code == 200 and ApiKey.objects.get().user == clerk
    assert response.context["key"].startswith("gh_")


def test_a_keys_user_cannot_be_changed(admin_client, alice, bob):
    row, _ = ApiKey.issue(alice)
    admin_client.post(f"/admin/genhub/apikey/{row.pk}/change/", {"user": bob.pk, "name": "moved"})
    row.refresh_from_db()
    assert row.user == alice and row.name == "moved"


# --- models ------------------------------------------------------------------

GOOD_TEXT_MODEL = {
    "name": "new-text",
    "modality": "text",
    "source_type": "local",
    "source": "/models/new-text",
    "revision": "",
    "dtype": "auto",
    "device": "auto",
    "enabled": "on",
    "default_params": '{"temperature": 0.2}',
    "options": "{}",
    "description": "",
}


def add_model(admin_client, **changes):
    return admin_client.post("/admin/genhub/aimodel/add/", {**GOOD_TEXT_MODEL, **changes})


def test_a_models_modality_is_picked_from_the_registry(admin_client, db):
    form = admin_client.get("/admin/genhub/aimodel/add/").content.decode()
    assert '<select name="modality"' in form
    assert '<option value="image">Image</option>' in form
    response = add_model(admin_client, modality="video")
    assert "video is not one of the available choices" in str(
        response.context["adminform"].form.errors["modality"]
    )


@pytest.mark.parametrize(
    "field, value, says",
    [
        ("options", '{"max_width": 512}', "Unknown option(s) max_width for text models"),
        ("options", "[1, 2]", "Options must be a JSON object"),
        ("default_params", "[1, 2]", "Default params must be a JSON object"),
        ("default_params", '{"sharpness": 3}', "Unknown param(s) sharpness"),
        ("default_params", '{"temperature": -1}', "temperature: "),
    ],
)
def test_bad_options_and_default_params_are_shown_beside_their_field(
    admin_client, db, field, value, says
):
    response = add_model(admin_client, **{field: value})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field] and says in errors[field][0]
    assert says in response.content.decode().replace("&#x27;", "'")
    assert not AIModel.objects.exists()


def test_a_good_model_is_saved(admin_client, db):
    response = add_model(admin_client, options="", is_default="on")
    assert response.status_code == 302
    model = AIModel.objects.get()
    assert model.modality == "text" and model.is_default
    assert model.default_params == {"temperature": 0.2} and model.options == {}


def test_a_jobs_page_shows_its_files(admin_client, alice, tiny_image):
    from genhub import artifacts

    job = submit_job(alice, "image", None, {"prompt": "a fox"})
    artifact = artifacts.save_output(
        job, 0, b"png", mime_type="image/png", extension="png", thumbnail=b"jpg", seed=3
    )
    page = admin_client.get(f"/admin/genhub/job/{job.pk}/change/").content.decode()
    assert f"/api/v1/artifacts/{artifact.pk}/thumbnail" in page
    assert admin_client.get(f"/api/v1/artifacts/{artifact.pk}/file").status_code == 200


def test_a_new_default_model_takes_the_flag_from_the_old_one(admin_client, tiny_text):
    response = add_model(admin_client, is_default="on")
    assert response.status_code == 302, response.context["adminform"].form.errors
    tiny_text.refresh_from_db()
    assert AIModel.objects.get(name="new-text").is_default and not tiny_text.is_default


def test_the_model_list_shows_only_the_essential_columns(admin_client, tiny_text):
    source = "/srv/genhub/models/checkpoints/community/" + "x" * 80 + "/model.safetensors"
    AIModel.objects.create(
        name="long-path", modality="image", source_type="safetensors", source=source
    )
    response = admin_client.get("/admin/genhub/aimodel/")
    assert response.status_code == 200
    columns = [
        header["class_attrib"].split("column-")[1].split()[0].rstrip('"')
        for header in response.context["result_headers"]
        if "column-" in header["class_attrib"]
    ]
    assert columns == [
        "name",
        "modality",
        "source_type",
        "short_source",
        "queue",
        "enabled",
        "is_default",
        "pinned",
        "downloaded",
    ]
    page = response.content.decode()
    assert "…" + source[-39:] in page
    assert "/srv/genhub/models/checkpoints" not in page  # cut to its end


def test_the_test_action_submits_a_short_job_per_model_with_a_link(
    admin_client, tiny_text, tiny_image
):
    disabled = AIModel.objects.create(
        name="off", modality="text", source_type="local", source="/nowhere", enabled=False
    )
    response = admin_client.post(
        "/admin/genhub/aimodel/",
        {
            "action": "test_generation",
            "_selected_action": [str(tiny_text.pk), str(tiny_image.pk), str(disabled.pk)],
        },
        follow=True,
    )
    assert response.status_code == 200
    text_job = Job.objects.get(model=tiny_text)
    image_job = Job.objects.get(model=tiny_image)
    assert text_job.owner.username == "root" and text_job.params["max_new_tokens"] == 8
    assert image_job.params["steps"] == 2
    said = [str(m) for m in response.context["messages"]]
    assert len(said) == 3
    by_model = {
        name: next(m for m in said if f"{name} " in m)
        for name in ["tiny-text", "tiny-image", "off"]
    }
    assert by_model["tiny-text"] == (
        f'Test job for tiny-text submitted: <a href="/jobs/{text_job.pk}/">follow it on its page</a>.'
    )
    assert f'<a href="/jobs/{image_job.pk}/">' in by_model["tiny-image"]
    assert by_model["off"] == "off is disabled, so it was not tested."
    assert not Job.objects.filter(model=disabled).exists()


def test_the_test_action_says_why_no_job_was_made(admin_client, tiny_text, settings):
    settings.GENHUB_ACCEPT_WITHOUT_WORKERS = False  # and no worker runs in this test
    broken = AIModel.objects.create(
        name="broken", modality="text", source_type="hub", source="org/x", options={"nope": 1}
    )
    short = AIModel.objects.create(
        name="short",
        modality="audio",
        source_type="hub",
        source="o/m",
        options={"max_duration": 0.5},
    )
    chosen = [str(m.pk) for m in (tiny_text, broken, short)]
    response = admin_client.post(
        "/admin/genhub/aimodel/",
        {"action": "test_generation", "_selected_action": chosen},
        follow=True,
    )
    assert response.status_code == 200
    said = sorted(str(m) for m in response.context["messages"])
    assert said[0].startswith("broken was not tested: Model 'broken' is misconfigured")
    assert said[1].startswith("short was not tested: ") and "0.5" in said[1]
    assert said[2].startswith("tiny-text was not tested. No worker is serving the queue 'text'")
    assert not Job.objects.exists()
