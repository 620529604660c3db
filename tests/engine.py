"""OpenAI-compatible engines for tests and benchmarks: a real one, `transformers
serve --continuous-batching` (the `serving` extra of the pinned transformers) on a
free port, serving a local model folder offline (on CPU unless told); one that never answers
(SilentEngine); and one that streams a scripted answer (ScriptedEngine)."""

import json
import os
import re
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.services import free_port
from tests.stack import Process, _wait_for


class EngineServer(Process):
    """`transformers serve` pinned to one model folder. Being pinned, it answers
    only requests that name that folder, so `model` is the path. `dtype` is its
    `--dtype`: benches pass bfloat16 on a CPU that computes it in hardware
    (docs/models.md, "Precision on CPU"), and on a GPU with `device` "cuda"."""

    def __init__(
        self, model_dir: Path, log: Path, dtype: str = "auto", device: str = "cpu"
    ) -> None:
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
            # The `transformers` command, through this interpreter: it need not sit
            # beside it (pip --target on a GPU host puts it elsewhere).
            sys.executable,
            "-c",
            "from transformers.cli.transformers import main; main()",
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
            device,
            "--dtype",
            dtype,
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


# What a scripted engine answers a request (its JSON body) with: the text it
# "generates". It ends with "stop", or "length" where max_tokens cuts it.
Script = Callable[[dict[str, Any]], str]


class ScriptedEngine:
    """An OpenAI-compatible engine that streams a scripted answer, piece by piece
    (a word, a space or a punctuation mark at a time) with a small delay, in the
    shapes real engines send: SSE `chat.completion.chunk` for /chat/completions,
    `text_completion` for /completions, then a usage chunk and `[DONE]`. An answer
    longer than the request's `max_tokens` pieces is cut there with finish_reason
    "length". `requests` keeps every body it was sent. Deterministic text for
    tests of what a page shows (the tiny model writes gibberish)."""

    def __init__(self, script: Script, *, delay: float = 0.02, model: str = "scripted") -> None:
        self.script = script
        self.delay = delay
        self.model = model
        self.requests: list[dict[str, Any]] = []
        engine = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json(
                        {"object": "list", "data": [{"id": engine.model, "object": "model"}]}
                    )
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                engine.requests.append(body)
                chat = self.path.endswith("/chat/completions")
                if not chat and not self.path.endswith("/completions"):
                    self.send_error(404)
                    return
                try:
                    engine._stream(self, body, chat)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client closed the stream: a cancel

            def _json(self, data: Any) -> None:
                raw = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _stream(self, handler: BaseHTTPRequestHandler, body: dict[str, Any], chat: bool) -> None:
        pieces = re.findall(r"\w+|\s+|[^\w\s]", self.script(body))
        limit = int(body.get("max_tokens") or 16)
        finish = "length" if len(pieces) > limit else "stop"
        pieces = pieces[:limit]
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")
        handler.end_headers()
        made = int(time.time())
        kind = "chat.completion.chunk" if chat else "text_completion"

        def send(choices: list[dict[str, Any]], **more: Any) -> None:
            chunk = {"id": "scripted-1", "object": kind, "created": made, "model": self.model}
            handler.wfile.write(
                f"data: {json.dumps({**chunk, 'choices': choices, **more})}\n\n".encode()
            )
            handler.wfile.flush()

        def choice(text: str, finish_reason: str | None) -> dict[str, Any]:
            if chat:
                delta = {"role": "assistant", "content": text} if text else {}
                return {"index": 0, "delta": delta, "finish_reason": finish_reason}
            return {"index": 0, "text": text, "finish_reason": finish_reason, "logprobs": None}

        for piece in pieces:
            time.sleep(self.delay)
            send([choice(piece, None)])
        send([choice("", finish)])
        prompt_tokens = len(json.dumps(body.get("messages") or body.get("prompt"))) // 4
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(pieces),
            "total_tokens": prompt_tokens + len(pieces),
        }
        send([], usage=usage)
        handler.wfile.write(b"data: [DONE]\n\n")
        handler.wfile.flush()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
