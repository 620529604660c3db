"""A model's size before it loads, read from its weights' headers: what the
model cache makes room for (genhub/worker/model_size.py)."""

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save_file

from genhub.models import AIModel
from genhub.worker.model_size import estimated_bytes, safetensors_tensors, weight_files


def _local(name: str, source: Path) -> AIModel:
    return AIModel(name=name, modality="image", source_type="local", source=str(source))


@pytest.mark.e2e  # builds and loads the tiny models
@pytest.mark.parametrize(
    "fixture, runner",
    [
        ("tiny_text", "textgen.runner"),
        ("tiny_image", "imagegen.runner"),
        ("tiny_audio", "audiogen.runner"),
    ],
)
def test_the_estimate_matches_the_loaded_parameter_bytes(
    request: pytest.FixtureRequest, db: None, fixture: str, runner: str
) -> None:
    aimodel = request.getfixturevalue(fixture)
    module = importlib.import_module(runner)
    loaded_bytes = module._nbytes(module.load(aimodel, "cpu"))
    assert estimated_bytes(aimodel, 4) == pytest.approx(loaded_bytes, rel=0.03)


def test_floats_count_in_the_runners_dtype_and_integers_in_their_own(tmp_path: Path) -> None:
    save_file(
        {
            "weight": np.zeros((10, 20), dtype=np.float16),
            "ids": np.zeros(8, dtype=np.int64),
        },
        str(tmp_path / "model.safetensors"),
    )
    assert sorted(safetensors_tensors(tmp_path / "model.safetensors")) == [
        ("F16", 200),
        ("I64", 8),
    ]
    model = _local("m", tmp_path)
    assert estimated_bytes(model, 4) == 200 * 4 + 8 * 8  # float16 on disk, float32 loaded
    assert estimated_bytes(model, 2) == 200 * 2 + 8 * 8


def test_a_weight_file_and_its_variants_count_once(tmp_path: Path) -> None:
    weights = {"weight": np.zeros((4, 4), dtype=np.float32)}
    save_file(weights, str(tmp_path / "model.safetensors"))
    save_file(
        {"weight": np.zeros((4, 4), dtype=np.float16)}, str(tmp_path / "model.fp16.safetensors")
    )
    assert estimated_bytes(_local("m", tmp_path), 2) == 16 * 2


def test_a_pipeline_counts_its_components_not_a_checkpoint_beside_them(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text(
        json.dumps({"_class_name": "X", "unet": ["diffusers", "U"], "vae": ["diffusers", "V"]})
    )
    for part, size in (("unet", 100), ("vae", 10)):
        (tmp_path / part).mkdir()
        save_file(
            {"w": np.zeros(size, dtype=np.float32)},
            str(tmp_path / part / "diffusion_pytorch_model.safetensors"),
        )
    save_file({"w": np.zeros(1000, dtype=np.float32)}, str(tmp_path / "everything.safetensors"))
    model = _local("pipe", tmp_path)
    assert len(weight_files(model)) == 2
    assert estimated_bytes(model, 4) == 110 * 4


def test_a_single_checkpoint_file_is_read_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.safetensors"
    save_file({"w": np.zeros(50, dtype=np.float32)}, str(path))
    assert estimated_bytes(_local("single", path), 2) == 100


def test_a_gguf_file_counts_its_tensors_dequantised(tmp_path: Path) -> None:
    import gguf

    path = tmp_path / "model.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tensor("a", np.zeros((3, 5), dtype=np.float32))
    writer.add_tensor("b", np.zeros(7, dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    model = AIModel(name="g", modality="text", source_type="gguf", source=str(path))
    assert estimated_bytes(model, 4) == 22 * 4


def test_a_hub_model_is_read_from_its_downloaded_snapshot(settings: Any, tmp_path: Path) -> None:
    settings.GENHUB_MODEL_DIR = tmp_path
    repo = tmp_path / "hub" / "models--someone--small"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "v1").write_text("a" * 40)
    (snapshot / "config.json").write_text("{}")
    save_file({"w": np.zeros(10, dtype=np.float32)}, str(snapshot / "model.safetensors"))
    hub = AIModel(
        name="small", modality="text", source_type="hub", source="someone/small", revision="v1"
    )
    assert estimated_bytes(hub, 2) == 20


def test_weights_not_on_disk_have_no_estimate(tmp_path: Path) -> None:
    hub = AIModel(name="h", modality="text", source_type="hub", source="nobody/not-downloaded")
    assert estimated_bytes(hub, 4) is None
    assert estimated_bytes(_local("gone", tmp_path / "missing"), 4) is None
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickled")  # not read: unknown
    assert estimated_bytes(_local("pickled", tmp_path), 4) is None


def test_a_damaged_header_gives_no_estimate(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"\xff" * 16)
    assert estimated_bytes(_local("damaged", tmp_path), 4) is None
