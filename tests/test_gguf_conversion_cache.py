"""A GGUF file is converted for transformers once, into a folder named by the
file's path, size and modification time (textgen/gguf.py): the same file is
found converted, a replaced one is not."""

import os

from textgen.gguf import _converted_dir, is_converted


def test_a_converted_file_is_found_and_a_replaced_one_is_not(tmp_path, settings):
    settings.GENHUB_MODEL_DIR = tmp_path / "models"
    gguf = tmp_path / "model.Q4_1.gguf"
    gguf.write_bytes(b"GGUF not really")
    assert not is_converted(str(gguf))

    folder = _converted_dir(gguf)
    assert folder.parent == settings.GENHUB_MODEL_DIR / "converted"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    assert is_converted(str(gguf))

    stat = gguf.stat()
    os.utime(gguf, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert not is_converted(str(gguf))  # a new file at the same path converts again
    assert not is_converted(str(tmp_path / "missing.gguf"))
