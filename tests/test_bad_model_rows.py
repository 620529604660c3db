"""A model row written around the admin (a shell, a bulk update, an old
migration) with bad default_params, options or modality never breaks the model
list or a page for everyone: only that model's jobs fail, saying why."""

import pytest
from django.test import Client

from genhub.models import AIModel

pytestmark = pytest.mark.unit

BAD_VALUES = [
    {"default_params": [1, 2]},
    {"default_params": "x"},
    {"options": "x"},
    {"options": [1, 2]},
    # No modality by that name (a typo, or its app removed); not a default, as
    # the database allows only one per modality.
    {"modality": "video", "is_default": False},
]


@pytest.fixture(params=BAD_VALUES, ids=lambda bad: f"{[*bad][0]}={next(iter(bad.values()))}")
def bad_defaults(request, db):
    """A bad default model for each modality, written with update() as a shell would."""
    for modality in ("text", "image", "audio"):
        row = AIModel.objects.create(
            name=f"bad-{modality}",
            modality=modality,
            source_type="local",
            source="/nowhere",
            is_default=True,
        )
        AIModel.objects.filter(pk=row.pk).update(**request.param)
    return request.param


def test_the_model_list_still_answers(alice_api, bad_defaults):
    response = alice_api.get("/api/v1/models")
    assert response.status_code == 200
    assert len(response.json()) == 3
    for model in response.json():
        assert isinstance(model["default_params"], dict)


def test_the_home_page_still_answers(bad_defaults):
    assert Client().get("/").status_code == 200


@pytest.mark.parametrize("path", ["/text/", "/images/", "/audio/"])
def test_the_generation_pages_still_answer(alice, bad_defaults, path):
    browser = Client()
    browser.force_login(alice)
    response = browser.get(path)
    assert response.status_code == 200
    if "modality" not in bad_defaults:
        assert "bad-" in response.content.decode()


@pytest.mark.parametrize(
    "bad", BAD_VALUES[:4], ids=["list-params", "str-params", "str-options", "list-options"]
)
def test_a_job_for_a_bad_row_is_refused_naming_the_model(alice_api, bad):
    row = AIModel.objects.create(
        name="bad-image", modality="image", source_type="local", source="/nowhere"
    )
    AIModel.objects.filter(pk=row.pk).update(**bad)
    response = alice_api.post(
        "/api/v1/images/generations",
        {"prompt": "x", "model": "bad-image"},
        content_type="application/json",
    )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "model"]
    assert "'bad-image' is misconfigured" in error["msg"]
