"""create_api_key and bootstrap_models."""

from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from genhub.models import AIModel, ApiKey


def test_create_api_key_prints_a_working_key_once(db):
    out, err = StringIO(), StringIO()
    call_command("create_api_key", "carol", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert "Created user carol" in err.getvalue()
    assert ApiKey.objects.get().hashed_key != key
    response = Client(headers={"Authorization": f"Bearer {key}"}).get("/api/v1/jobs")
    assert response.status_code == 200


def test_create_api_key_for_an_existing_user_keeps_the_user(alice):
    call_command("create_api_key", "alice", stdout=StringIO(), stderr=StringIO())
    assert get_user_model().objects.count() == 1
    assert alice.api_keys.count() == 1


def test_bootstrap_tiny_registers_a_default_and_is_idempotent(db):
    first = StringIO()
    call_command("bootstrap_models", tiny=True, stdout=first)
    for name, modality in (("tiny-text", "text"), ("tiny-image", "image"), ("tiny-audio", "audio")):
        model = AIModel.objects.get(name=name)
        assert model.is_default and model.enabled and model.modality == modality
    again = StringIO()
    call_command("bootstrap_models", tiny=True, stdout=again)
    assert again.getvalue().count("already registered") == 4  # and tiny-audio-melody
    assert "Building" not in again.getvalue()
    assert AIModel.objects.count() == 4


def test_the_default_image_and_audio_models_are_registered_without_a_download(db):
    call_command("bootstrap_models", modality=["image", "audio"], stdout=StringIO())
    image = AIModel.objects.get(modality="image")
    assert (image.name, image.source_type, image.source) == (
        "sd-turbo",
        "hub",
        "stabilityai/sd-turbo",
    )
    assert image.is_default and image.default_params["steps"] == 2
    audio = AIModel.objects.get(modality="audio")
    assert (audio.name, audio.source) == ("musicgen-small", "facebook/musicgen-small")
    assert audio.is_default and audio.options["max_duration"] == 30


def test_a_tiny_model_does_not_take_the_default_from_a_real_one(db):
    AIModel.objects.create(
        name="real", modality="text", source_type="hub", source="org/model", is_default=True
    )
    call_command("bootstrap_models", tiny=True, stdout=StringIO())
    assert AIModel.objects.get(modality="text", is_default=True).name == "real"


def test_only_one_default_per_modality(db):
    a = AIModel.objects.create(
        name="a", modality="text", source_type="hub", source="x", is_default=True
    )
    AIModel.objects.create(
        name="b", modality="text", source_type="hub", source="y", is_default=True
    )
    a.refresh_from_db()
    assert not a.is_default
    assert AIModel.objects.get(is_default=True).name == "b"
