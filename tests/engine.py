"""A real OpenAI-compatible engine for tests and benchmarks: `transformers serve
--continuous-batching` (the `serving` extra of the pinned transformers) on a free
port, serving a local model folder on CPU, offline."""

import os
import socket
import sys
import tempfile
import threading
from pathlib import Path

import httpx

from tests.services import free_port
from tests.stack import Process, _wait_for


class EngineServer(Process):
    """`transformers serve` pinned to one model folder. Being pinned, it answers
    only requests that name that folder, so `model` is the path."""

    def __init__(self, model_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.model = str(model_dir)
        cache = Path(tempfile.mkdtemp(prefix="genhub-engine-hf-"))
        env = {
            **os.environ,
            # /v1/models scans the Hugging Face cache and fails when there is none.
            "HF_HUB_CACHE": str(cache / "hub"),
            "HF_HUB_OFFLINE": "1",
            "HF_HUB_DISABLE_UPDATE_CHECK": "1",  # the CLI would ask PyPI for a newer release
            "PYTHONUNBUFFERED": "1",
        }
        (cache / "hub").mkdir(parents=True)
        args = [
            str(Path(sys.executable).parent / "transformers"),
            "serve",
            "--continuous-batching",
            # Unsized, the paged KV cache takes a share of all RAM on CPU (9 GB for
            # a 64-wide model) and the first request waits half a minute for it.
            "--cb-num-blocks",
            "256",
            "--cb-block-size",
            "32",
            "--cb-max-batch-tokens",
            "512",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--device",
            "cpu",
            "--log-level",
            "info",
            self.model,  # force_model: loaded at start, the only one it serves
        ]
        super().__init__(args, env, log)
        _wait_for(self._answers, 90, "transformers serve", log)
        self._warm_up()

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/models", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def _warm_up(self) -> None:
        # The first continuous-batching request builds the paged cache (seconds);
        # timings in tests start after it.
        body = {"model": self.model, "prompt": "Hello", "max_tokens": 2}
        httpx.post(f"{self.url}/completions", json=body, timeout=120).raise_for_status()


class SilentEngine:
    """Accepts connections and never answers: an engine that is stuck."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/v1"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self.socket.close()
        for connection in self.held:
            connection.close()
