"""Text generation: the model alone against the whole service, side by side in one run.

Same model, same prompt, greedy decoding, a fixed max_new_tokens, requests one
at a time. Each round runs one raw generate and then one service request, so
background load on the machine hits both alike.

raw      `model.generate` in this process, on the model `textgen.runner.load`
         returns, with the runner's greedy options and no streamer:
         generated tokens / generate seconds.
service  POST /api/v1/text/generations -> Celery worker -> the job's WebSocket.
         End-to-end throughput = result.usage.completion_tokens / (POST sent ->
         `succeeded` event received): dispatch, prompt, streaming and the final
         write all count. Also shown: the streaming rate from the first text to
         `succeeded`, (tokens - 1) / seconds, over the requests whose first
         text came in a `token` event, and the worker's own rate
         (job.metrics.tokens_per_second: generate with the streamer and events).
latency  POST sent -> first generated text at the client: the first `token`
         event, or the `snapshot` when the job streamed before the socket
         subscribed (the socket can only open once POST has returned the id).
dispatch POST sent -> job.started_at (one host, one clock), beside the server's
         own figures: started_at - created_at and job.metrics.queue_seconds
         (enqueued -> claimed).

Goals: end-to-end throughput >= 0.95 x raw; dispatch median < 50 ms. The exit
status is 1 when a goal is missed.

    .venv/bin/python bench/text.py [--model tiny|smollm2] [--requests 20] [--max-new-tokens 128]
"""

import argparse
import json
import logging
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import (  # noqa: E402
    TEXT_MODEL_HELP,
    TEXT_MODELS,
    BenchEnvironment,
    bench_user,
    prepare,
    text_model,
)

PROMPT = "Once upon a time, in a small village by the sea, there lived"
THROUGHPUT_GOAL = 0.95  # end-to-end tokens/s as a share of raw
DISPATCH_GOAL_MS = 50.0  # median POST -> worker start
NAME_WIDTH = 54


@dataclass(frozen=True)
class RawRun:
    tokens: int
    seconds: float

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds


@dataclass(frozen=True)
class ServiceRun:
    completion_tokens: int
    post_to_succeeded: float
    post_to_first_text: float
    first_text_to_succeeded: float | None  # None when the snapshot already held the result
    first_text_in_snapshot: bool
    token_events: int
    post_to_started: float
    created_to_started: float
    queue_seconds: float
    worker_tokens_per_second: float

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.post_to_succeeded

    @property
    def streaming_tokens_per_second(self) -> float | None:
        # A snapshot that already held text started the clock late: no fair figure.
        if self.first_text_to_succeeded is None or self.first_text_in_snapshot:
            return None
        return (self.completion_tokens - 1) / self.first_text_to_succeeded


# --- raw --------------------------------------------------------------------


class RawModel:
    """The model as the worker loads it, generating without a streamer."""

    def __init__(self, aimodel: Any, params: Any) -> None:
        from genhub.worker.devices import pick_device, pick_dtype
        from textgen.runner import encode, load

        self.device = pick_device(aimodel.device)
        self.dtype = pick_dtype(aimodel.dtype, self.device)
        self.model, tokenizer = load(aimodel, self.device)
        encoded = encode(tokenizer, params)
        self.inputs = {k: v.to(self.device) for k, v in encoded.items()}
        config = self.model.generation_config
        # The options textgen.runner passes for temperature 0, less the streamer
        # and the stopping criteria.
        self.options = {
            "do_sample": False,
            "repetition_penalty": params.repetition_penalty,
            "max_new_tokens": params.max_new_tokens,
            "pad_token_id": config.pad_token_id or config.eos_token_id,
        }

    @property
    def prompt_tokens(self) -> int:
        return int(self.inputs["input_ids"].shape[1])

    def generate(self) -> RawRun:
        import torch

        with torch.inference_mode():
            started = time.perf_counter()
            output = self.model.generate(**self.inputs, **self.options)
            if self.device == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - started
        return RawRun(int(output.shape[1]) - self.prompt_tokens, seconds)


# --- service ----------------------------------------------------------------


def timed_events(socket: Any, timeout: float = 300) -> list[tuple[float, dict[str, Any]]]:
    """Every event until the server closes the socket, with its arrival time."""
    from websockets.exceptions import ConnectionClosed

    received: list[tuple[float, dict[str, Any]]] = []
    deadline = time.perf_counter() + timeout
    try:
        while True:
            message = socket.recv(timeout=max(0.0, deadline - time.perf_counter()))
            received.append((time.perf_counter(), json.loads(message)))
    except ConnectionClosed:
        return received


def request(client: Any, body: dict[str, Any]) -> ServiceRun:
    """One generation through the API, timed from the client's side."""
    posted_wall, posted = time.time(), time.perf_counter()
    job_id = client.generate_text(**body)["id"]
    with client.events(job_id) as socket:
        events = timed_events(socket)
    job = client.job(job_id)
    if job["status"] != "succeeded":
        raise RuntimeError(f"job {job_id} ended {job['status']}: {job['error']}")

    snapshot_at, snapshot = events[0]
    if snapshot["text"]:
        first_text_at = snapshot_at
    else:
        first_text_at = next(at for at, e in events if e["type"] == "token")
    succeeded_at = events[-1][0]  # the `succeeded` event, or a terminal snapshot
    streamed = snapshot["status"] != "succeeded"
    started_at = _timestamp(job["started_at"])
    return ServiceRun(
        completion_tokens=job["result"]["usage"]["completion_tokens"],
        post_to_succeeded=succeeded_at - posted,
        post_to_first_text=first_text_at - posted,
        first_text_to_succeeded=succeeded_at - first_text_at if streamed else None,
        first_text_in_snapshot=bool(snapshot["text"]),
        token_events=sum(1 for _, e in events if e["type"] == "token"),
        post_to_started=started_at - posted_wall,
        created_to_started=started_at - _timestamp(job["created_at"]),
        queue_seconds=job["metrics"]["queue_seconds"],
        worker_tokens_per_second=job["metrics"]["tokens_per_second"],
    )


def _timestamp(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


# --- report -----------------------------------------------------------------


def p95(values: Sequence[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


Row = tuple[str, list[float | None]]  # a figure's name, and its value per round (None: no value)


def print_table(title: str, unit: str, rows: list[Row], tail: Callable[..., float]) -> None:
    """A markdown table: median, the slow tail (`tail`) and max of each row."""
    tail_name = "p95" if tail is p95 else "min"
    print(f"\n{title}\n")
    print(
        f"| {'figure (' + unit + ')':<{NAME_WIDTH}} | {'median':>8} | {tail_name:>8} | {'max':>8} |"
    )
    print(f"| {'-' * NAME_WIDTH} | {'-' * 7}: | {'-' * 7}: | {'-' * 7}: |")
    for name, values in rows:
        present = [v for v in values if v is not None]
        if not present:
            continue
        if len(present) < len(values):
            name = f"{name} ({len(present)} of {len(values)})"
        cells = (statistics.median(present), tail(present), max(present))
        print(f"| {name:<{NAME_WIDTH}} | " + " | ".join(f"{c:8.1f}" for c in cells) + " |")


def print_ratios(raw: list[float], rows: list[Row]) -> None:
    """Each figure against raw: as a ratio of medians, and as the median of the
    rounds' own ratios (a round's two runs are seconds apart, so this one is
    less moved by load that comes and goes)."""
    print(f"\n{'Ratios to raw, same run':<{NAME_WIDTH + 2}} {'of medians':>10} {'paired':>8}")
    raw_median = statistics.median(raw)
    for name, values in rows:
        paired = paired_ratio(values, raw)
        if paired is None:
            continue
        of_medians = statistics.median(v for v in values if v is not None) / raw_median
        print(f"  {name:<{NAME_WIDTH}} {of_medians:8.3f} x {paired:6.3f} x")


def paired_ratio(values: list[float | None], raw: list[float]) -> float | None:
    """The median of each round's value over its raw run's; None when no round has one."""
    ratios = [v / r for v, r in zip(values, raw, strict=True) if v is not None]
    return statistics.median(ratios) if ratios else None


def print_goals(ratio: float, dispatch_ms: float) -> bool:
    goals = [
        (
            f"end-to-end throughput >= {THROUGHPUT_GOAL} x raw: {ratio:.3f} x",
            ratio >= THROUGHPUT_GOAL,
        ),
        (
            f"dispatch overhead median < {DISPATCH_GOAL_MS:.0f} ms (POST -> started_at): "
            f"{dispatch_ms:.1f} ms",
            dispatch_ms < DISPATCH_GOAL_MS,
        ),
    ]
    print()
    for text, passed in goals:
        print(f"{'PASS' if passed else 'FAIL'}  {text}")
    return all(passed for _, passed in goals)


def report(raw: list[RawRun], service: list[ServiceRun]) -> bool:
    """Print the figures, the ratios and the goals; True when both goals pass."""
    ms = 1000.0
    raw_tps = [r.tokens_per_second for r in raw]
    e2e_tps = [s.tokens_per_second for s in service]
    worker_tps = [s.worker_tokens_per_second for s in service]
    compared: list[Row] = [
        ("worker generate with streamer + events (job.metrics)", list(worker_tps)),
        ("service, first token -> succeeded", [s.streaming_tokens_per_second for s in service]),
        ("service end to end, POST -> succeeded", list(e2e_tps)),
    ]
    print_table(
        "Throughput",
        "tokens/s",
        [("raw model.generate, no streamer", list(raw_tps)), *compared],
        min,
    )
    dispatch = [s.post_to_started * ms for s in service]
    latency: list[Row] = [
        ("POST -> first text at the client", [s.post_to_first_text * ms for s in service]),
        ("dispatch: POST -> started_at", list(dispatch)),
        ("dispatch: created_at -> started_at", [s.created_to_started * ms for s in service]),
        ("dispatch: queue_seconds, enqueued -> claimed", [s.queue_seconds * ms for s in service]),
        ("POST -> succeeded", [s.post_to_succeeded * ms for s in service]),
    ]
    print_table("Latency", "ms", latency, p95)
    print_ratios(raw_tps, compared)

    in_snapshot = sum(s.first_text_in_snapshot for s in service)
    events = statistics.mean(s.token_events for s in service)
    print(f"\n  token events per job (mean): {events:.1f}")
    print(f"  first text already in the snapshot: {in_snapshot} of {len(service)} requests")
    raw_tokens = {r.tokens for r in raw}
    service_tokens = {s.completion_tokens for s in service}
    if raw_tokens != service_tokens:
        print(f"  NOTE token counts differ: raw {raw_tokens}, service {service_tokens}")

    ratio = statistics.median(e2e_tps) / statistics.median(raw_tps)
    print()
    print(f"RESULT text-raw-tokens-per-s {statistics.median(raw_tps):.4g}")
    print(f"RESULT text-service-tokens-per-s {statistics.median(e2e_tps):.4g}")
    worker_paired = paired_ratio(list(worker_tps), raw_tps)
    if worker_paired is not None:
        print(f"RESULT text-worker-vs-raw-paired {worker_paired:.3f}")
    print(f"RESULT text-service-vs-raw {ratio:.3f}")
    print(f"RESULT text-service-vs-raw-paired {paired_ratio(list(e2e_tps), raw_tps):.3f}")
    print(f"RESULT text-dispatch-ms {statistics.median(dispatch):.1f}")
    return print_goals(ratio, statistics.median(dispatch))


# --- run --------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        choices=TEXT_MODELS,
        help=TEXT_MODEL_HELP,
    )
    parser.add_argument("--requests", type=int, default=20, help="timed requests (default 20)")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    return parser.parse_args(argv)


def run(env: BenchEnvironment, args: argparse.Namespace) -> bool:
    from tests.stack import Client, WebServer, Worker
    from textgen.params import TextParams

    aimodel = text_model(args.model)
    _, key = bench_user()
    body = {
        "model": aimodel.name,
        "prompt": PROMPT,
        "max_new_tokens": args.max_new_tokens,
        "temperature": 0,
        "seed": 0,
    }
    params = TextParams.model_validate({k: v for k, v in body.items() if k != "model"})

    print("Starting the web server and a worker...", flush=True)
    with ExitStack() as running:
        server = WebServer(env.subprocess_env(), env.workdir / "web.log")
        running.callback(server.stop)
        worker = Worker(env.subprocess_env(), env.workdir / "worker.log", name="bench")
        running.callback(worker.stop)
        client = Client(server, key)
        raw = RawModel(aimodel, params)
        print(
            f"model {aimodel.name} on {raw.device} ({raw.dtype}), prompt {raw.prompt_tokens} "
            f"tokens, max_new_tokens {args.max_new_tokens}, {args.requests} requests",
            flush=True,
        )
        raw.generate()
        warm = request(client, body)  # the worker loads the model here
        print(f"warm-up done (first service request {warm.post_to_succeeded:.2f} s)", flush=True)
        raw_runs, service_runs = [], []
        for number in range(1, args.requests + 1):
            raw_runs.append(raw.generate())
            service_runs.append(request(client, body))
            print(
                f"  {number:>3}: raw {raw_runs[-1].tokens_per_second:7.1f} tok/s, "
                f"service {service_runs[-1].tokens_per_second:7.1f} tok/s, "
                f"dispatch {service_runs[-1].post_to_started * 1000:6.1f} ms",
                flush=True,
            )
    return report(raw_runs, service_runs)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = prepare()  # before anything reads Django settings
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    return 0 if run(env, args) else 1


if __name__ == "__main__":
    sys.exit(main())
