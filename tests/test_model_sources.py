"""Model sources: the single .safetensors file type, which runners take which
source, and how pages, pickers and the API mark a model not downloaded yet."""

import pytest

from genhub import modalities
from genhub.models import AIModel

pytestmark = pytest.mark.unit


def problems(**fields):
    return AIModel(name="m", **fields).config_problems()


def test_a_safetensors_source_must_name_a_safetensors_file():
    bad = problems(modality="image", source_type="safetensors", source="/models/sd15.ckpt")
    assert bad["source_type"] == (
        "A single .safetensors file source must be a path ending in .safetensors."
    )
    assert not problems(modality="image", source_type="safetensors", source="/m/sd15.safetensors")


@pytest.mark.parametrize("modality", ["text", "audio"])
def test_runners_that_cannot_load_a_single_file_refuse_it_in_a_sentence(modality):
    bad = problems(modality=modality, source_type="safetensors", source="/m/x.safetensors")
    assert bad["source_type"].startswith(f"The {modality} runner cannot load source type")
    assert "(Single .safetensors file)" in bad["source_type"]
    assert "hub, local" in bad["source_type"]


def test_every_modality_test_request_is_valid_for_its_schema():
    for modality in modalities.all_modalities():
        modality.params_schema.model_validate(modality.test_params)


def test_local_and_single_file_sources_are_on_disk_when_they_exist(tmp_path):
    weights = tmp_path / "sd15.safetensors"
    single = AIModel(modality="image", source_type="safetensors", source=str(weights))
    folder = AIModel(modality="text", source_type="local", source=str(tmp_path / "llm"))
    assert not single.is_on_disk() and not folder.is_on_disk()
    weights.write_bytes(b"{}")
    (tmp_path / "llm").mkdir()
    assert single.is_on_disk() and folder.is_on_disk()


def test_a_hub_model_is_on_disk_once_its_snapshot_is(settings, tmp_path):
    settings.GENHUB_MODEL_DIR = tmp_path
    pinned = AIModel(modality="text", source_type="hub", source="org/tiny", revision="v1")
    latest = AIModel(modality="text", source_type="hub", source="org/tiny")
    assert not pinned.is_on_disk() and not latest.is_on_disk()
    repo = tmp_path / "hub" / "models--org--tiny"
    (repo / "snapshots" / "c0ffee").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "v1").write_text("c0ffee\n")
    assert pinned.is_on_disk()
    assert latest.is_on_disk()  # main never resolved: any snapshot will do
    (repo / "refs" / "main").write_text("deadbeef")
    assert not AIModel(modality="text", source_type="hub", source="org/tiny").is_on_disk()


@pytest.fixture
def not_downloaded(db):
    return AIModel.objects.create(
        name="far-away", modality="text", source_type="hub", source="org/far-away"
    )


def test_pages_and_the_api_mark_a_model_not_downloaded_yet(
    client, alice, alice_api, tiny_text, not_downloaded
):
    home = client.get("/").content.decode()
    assert "<strong>far-away</strong> (not downloaded yet)" in home
    assert "<strong>tiny-text</strong> (not downloaded yet)" not in home
    client.force_login(alice)
    picker = client.get("/text/").content.decode()
    assert "far-away (not downloaded yet)</option>" in picker
    assert f"{tiny_text.name}{' (default)' if tiny_text.is_default else ''}</option>" in picker
    listed = {m["name"]: m["downloaded"] for m in alice_api.get("/api/v1/models").json()}
    assert listed == {tiny_text.name: True, "far-away": False}
