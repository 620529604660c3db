"""A hub model that is not downloaded fails within seconds, saying why, when the
hub cannot be reached (this test machine has no network)."""

import socket
import time

import pytest
from huggingface_hub import constants

from genhub.errors import JobError
from genhub.models import AIModel

pytestmark = pytest.mark.e2e  # imports a runner (torch)


@pytest.fixture
def made_up_hub_model(db):
    return AIModel.objects.create(
        name="sd-turbo", modality="text", source_type="hub", source="nobody/no-such-model-1234"
    )


def load_fails_fast(aimodel):
    from textgen.runner import load

    started = time.monotonic()
    with pytest.raises(JobError) as caught:
        load(aimodel, "cpu")
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "Model 'sd-turbo' is not downloaded yet" in message
    assert "cannot be reached from this worker" in message
    assert "/" not in message  # no server path, no repo id
    return message


def test_an_unreachable_hub_fails_the_load_within_seconds(made_up_hub_model):
    message = load_fails_fast(made_up_hub_model)
    assert "GENHUB_MODEL_DIR" in message


def test_offline_mode_says_the_worker_is_offline(made_up_hub_model, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert "this worker is offline" in load_fails_fast(made_up_hub_model)


def test_a_hanging_name_lookup_does_not_hold_the_job(made_up_hub_model, monkeypatch):
    def hangs(*args, **kwargs):
        time.sleep(30)
        raise socket.gaierror("timed out")

    monkeypatch.setattr(socket, "getaddrinfo", hangs)
    assert "no answer from huggingface.co" in load_fails_fast(made_up_hub_model)


def test_a_downloaded_snapshot_needs_no_hub(made_up_hub_model, settings, monkeypatch, tmp_path):
    from genhub import hub_access

    settings.GENHUB_MODEL_DIR = tmp_path
    snapshots = tmp_path / "hub" / "models--nobody--no-such-model-1234"
    (snapshots / "snapshots" / "abc123").mkdir(parents=True)
    (snapshots / "refs").mkdir()
    (snapshots / "refs" / "main").write_text("abc123")
    monkeypatch.setattr(hub_access, "hub_unreachable_reason", pytest.fail)
    hub_access.require_hub_or_snapshot(made_up_hub_model)
    assert made_up_hub_model.is_on_disk()
