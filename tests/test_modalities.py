"""The modality contract: what a modality registers is all the core needs. A
fourth one appears in the URLs, the nav bar and the home page without a change
to any core file."""

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.core.files.base import ContentFile
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import clear_url_caches, reverse
from ninja import Router

from genhub import modalities
from genhub.models import AIModel, Artifact, Job
from genhub.params import GenerationParams
from genhub.prompts import Prompt

pytestmark = pytest.mark.unit


class SpeechParams(GenerationParams):
    upload_fields: ClassVar[tuple[str, ...]] = ()
    prompt: Prompt
    voice: str = "calm"

    def display_prompt(self) -> str:
        return self.prompt


def speech_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("the speech page")


def _no_model(model_dir: Path, say: Any) -> AIModel:
    raise NotImplementedError


SPEECH = modalities.Modality(
    name="speech",
    label="Speech",
    summary="Read text aloud.",
    params_schema=SpeechParams,
    runner="speechgen.runner.run",
    model_options=frozenset({"voice_dir"}),
    source_types=frozenset({"hub", "local"}),
    test_params={"prompt": "Hello"},
    router=Router(),
    api_prefix="/speech",
    page=speech_page,
    page_path="speech/",
    page_name="speech",
    result_template="partials/result_files.html",
    field_limits=lambda options: {},
    register_default=_no_model,
    register_tiny=_no_model,
)


@pytest.fixture
def speech_registered(settings: Any) -> Iterator[None]:
    modalities.register(SPEECH)
    import genhub.urls

    clear_url_caches()
    importlib.reload(genhub.urls)
    yield
    modalities._registry.pop("speech")
    clear_url_caches()
    importlib.reload(genhub.urls)


def test_every_registered_modality_has_its_page_and_nav_entry(client: Client, alice: Any) -> None:
    client.force_login(alice)
    home = client.get("/").content.decode()
    for modality in modalities.all_modalities():
        assert client.get(reverse(modality.page_name)).status_code == 200
        assert f'href="{reverse(modality.page_name)}"' in home
        assert modality.summary in home


def test_a_fourth_modality_needs_no_core_change(
    client: Client, alice: Any, speech_registered: None
) -> None:
    client.force_login(alice)
    assert client.get("/speech/").content == b"the speech page"
    home = client.get("/").content.decode()
    assert '<a href="/speech/"' in home and "Read text aloud." in home
    row = AIModel(name="voice", modality="speech", source_type="local", source="/x")
    row.options = {"voice_dir": "/voices", "colour": "red"}
    row.default_params = {"voice": "bright"}
    assert row.config_problems() == {
        "options": "Unknown option(s) colour for speech models; known: voice_dir."
    }
    assert ("speech", "Speech") in modalities.choices()


def test_a_fourth_modalitys_jobs_show_and_its_queue_is_served(
    client: Client, alice: Any, speech_registered: None
) -> None:
    from genhub.management.commands.serve import Command as Serve

    model = AIModel.objects.create(
        name="voice", modality="speech", source_type="local", source="/x"
    )
    job = Job.objects.create(
        owner=alice, modality="speech", model=model, prompt="hello there", params={}
    )
    clip = Artifact(job=job, mime_type="audio/wav", bytes=4)
    clip.file.save("speech-0.wav", ContentFile(b"RIFF"), save=False)
    clip.save()
    client.force_login(alice)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "<h1>Speech job</h1>" in page
    assert f'href="/api/v1/artifacts/{clip.pk}/file?download=1"' in page
    assert 'download="hello-there.wav"' in page  # named from its prompt
    options = Serve().create_parser("manage.py", "serve").parse_args([])
    # Every modality's queue, and webhooks' (POSTs of ended jobs to their callback_url).
    assert options.queues.split(",") == [m.queue for m in modalities.all_modalities()] + [
        "webhooks"
    ]
    assert "speech" in options.queues.split(",")


def test_there_are_no_model_changes_without_a_migration(db: None) -> None:
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_uploads_come_from_the_declared_file_fields_only() -> None:
    params = SpeechParams(prompt="hello")
    assert params.uploads() == {}
    assert params.display_prompt() == "hello"
