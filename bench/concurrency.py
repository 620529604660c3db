"""Concurrency: 1, 2, 4 and 8 clients at once on each generation path.

Paths:
  text-inprocess  text on the in-process runner: one worker process on queue `text`,
                  one job at a time
  text-engine     the same text model served by `transformers serve
                  --continuous-batching` (an OpenAI-compatible engine, batching
                  concurrent requests) behind a thread-pool worker on queue `engine`
                  (`-P threads -c 32`, as docs/models.md runs it)
  image           one worker process on queue `image`
  audio           one worker process on queue `audio`

For N clients, each client (a thread with its own HTTP client) POSTs a job, follows
it on its WebSocket to `succeeded`, and does that `--jobs` times; the clients
start together and all send the same job. Per round:

  aggregate   units made by all jobs / wall time from the first POST to the last
              `succeeded` (units: completion tokens, images, seconds of audio)
  per stream  the mean over jobs of units / (its POST -> its `succeeded`): what one
              user sees, waiting in the queue included
  vs 1        the round's aggregate / the 1-client round's aggregate

A path whose jobs run one at a time stays near 1x however many clients come; an
engine that batches, or a worker that batches images, rises with them. The script
measures whatever the service does. Lines `RESULT <name> <value>` give every
figure: `<path>-<N>way-<unit>-per-s`, `<path>-<N>way-per-stream-<unit>-per-s`,
`<path>-<N>way-vs-1`.

    .venv/bin/python bench/concurrency.py [--paths text-inprocess,text-engine,image,audio]
                                          [--clients 1,2,4,8] [--jobs 2] [--quick]
"""

import argparse
import logging
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import (  # noqa: E402
    DTYPES,
    TEXT_MODEL_HELP,
    TEXT_MODELS,
    BenchEnvironment,
    bench_user,
    prepare,
    random_model,
    timed_job,
)
from bench.environment import text_model as registered_text_model  # noqa: E402

PATHS = ("text-inprocess", "text-engine", "image", "audio")
TEXT_PROMPT = "Once upon a time, in a small village by the sea, there lived"
IMAGE_PROMPT = "a lighthouse on a cliff at dusk, oil painting"
AUDIO_PROMPT = "lo-fi hip hop beat with warm piano chords and vinyl crackle"


@dataclass(frozen=True)
class Route:
    """One generation path: where its jobs go and how their output is counted."""

    name: str
    endpoint: str
    unit: str  # what a job makes: tokens, images, audio-s
    body: dict[str, Any]
    units: Callable[[dict[str, Any]], float]  # the finished job -> units it made


@dataclass(frozen=True)
class Round:
    clients: int
    jobs: int
    wall_seconds: float
    units: float
    per_job_rates: list[float]  # units / (POST -> succeeded), one per job

    @property
    def aggregate(self) -> float:
        return self.units / self.wall_seconds

    @property
    def per_stream(self) -> float:
        return statistics.mean(self.per_job_rates)


# --- one client -------------------------------------------------------------


def follow_job(client: Any, path: Route) -> tuple[float, dict[str, Any]]:
    """POST one job and follow its WebSocket to the end: (seconds, finished job)."""
    return timed_job(client, path.endpoint, path.body, timeout=1800)


def run_round(server: Any, key: str, path: Route, clients: int, jobs: int) -> Round:
    """`clients` clients at once, each running `jobs` jobs one after another."""
    from tests.stack import Client

    began: list[float] = []
    start = threading.Barrier(clients, action=lambda: began.append(time.perf_counter()))
    ends: list[float] = []
    rates: list[float] = []
    units: list[float] = []
    lock = threading.Lock()

    def one_client() -> None:
        client = Client(server, key)  # its own connection pool, as separate users have
        start.wait()
        for _ in range(jobs):
            seconds, job = follow_job(client, path)
            made = path.units(job)
            with lock:
                ends.append(time.perf_counter())
                rates.append(made / seconds)
                units.append(made)

    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(one_client) for _ in range(clients)]:
            future.result()
    return Round(clients, clients * jobs, max(ends) - began[0], sum(units), rates)


# --- the service ------------------------------------------------------------


def text_model(args: argparse.Namespace) -> Any:
    return registered_text_model("tiny" if args.quick else args.text_model)


def model_folder(aimodel: Any) -> Path:
    """The transformers folder an engine can serve for a registered text model."""
    if aimodel.source_type == "gguf":
        from textgen.gguf import converted_gguf_dir

        return converted_gguf_dir(aimodel.source)
    return Path(aimodel.source)


def engine_model(running: ExitStack, env: BenchEnvironment, text: Any, dtype: str) -> Any:
    """Start `transformers serve` on the text model's folder, in `dtype`, on the GPU
    when there is one; register it as an engine."""
    from genhub.models import AIModel
    from genhub.registration import register_model as register
    from genhub.worker.devices import pick_device, pick_dtype
    from tests.engine import EngineServer

    device = pick_device()
    if device == "cuda" and dtype == "auto":
        # The engine's own "auto" is the checkpoint's dtype; GenHub's is half precision.
        dtype = str(pick_dtype(dtype, device)).removeprefix("torch.")
    print(
        f"Starting transformers serve --continuous-batching --device {device} --dtype {dtype}...",
        flush=True,
    )
    engine = EngineServer(
        model_folder(text), env.workdir / "engine.log", dtype=dtype, device=device
    )
    running.callback(engine.stop)
    model, _ = register(
        "bench-engine-text",
        make_default=False,
        modality="text",
        source_type=AIModel.SourceType.ENGINE,
        source=engine.url,
        options={"engine_model": engine.model},
    )
    return model


def build_paths(env: BenchEnvironment, running: ExitStack, args: argparse.Namespace) -> list[Route]:
    tokens = 32 if args.quick else args.max_new_tokens
    paths: list[Route] = []
    text = text_model(args) if {"text-inprocess", "text-engine"} & set(args.paths) else None

    def completion_tokens(job: dict[str, Any]) -> float:
        return float(job["result"]["usage"]["completion_tokens"])

    for name in args.paths:
        if name in ("text-inprocess", "text-engine"):
            assert text is not None
            aimodel = (
                text
                if name == "text-inprocess"
                else engine_model(running, env, text, args.engine_dtype)
            )
            body = {
                "model": aimodel.name,
                "prompt": TEXT_PROMPT,
                "max_new_tokens": tokens,
                "temperature": 0,
                "seed": 0,
            }
            paths.append(Route(name, "/text/generations", "tokens", body, completion_tokens))
        elif name == "image":
            from imagegen.tiny import build_random_pipeline

            size = "tiny" if args.quick else args.image_model
            aimodel = random_model(
                "image",
                size,
                build_random_pipeline,
                dtype=args.image_dtype,
                options={"batch_wait_ms": args.image_batch_wait_ms},
            )
            print(
                f"image model {aimodel.name} in {args.image_dtype}, batch_wait_ms "
                f"{args.image_batch_wait_ms}",
                flush=True,
            )
            side = 64 if args.quick else args.image_size
            body = {
                "model": aimodel.name,
                "prompt": IMAGE_PROMPT,
                "width": side,
                "height": side,
                "steps": 4 if args.quick else args.image_steps,
                "guidance_scale": 7.5,
                "seed": 1234,
                "num_images": 1,
            }
            paths.append(Route(name, "/images/generations", "images", body, lambda job: 1.0))
        elif name == "audio":
            from audiogen.tiny import build_tiny_music_model

            size = "tiny" if args.quick else args.audio_model
            aimodel = random_model(
                "audio", size, build_tiny_music_model, options={"max_duration": 30}
            )
            duration = 2.0 if args.quick else args.audio_duration
            body = {
                "model": aimodel.name,
                "prompt": AUDIO_PROMPT,
                "duration": duration,
                "guidance_scale": 3.0,
                "seed": 1234,
                "format": "wav",
            }
            paths.append(Route(name, "/audio/generations", "audio-s", body, audio_seconds))
    return paths


def audio_seconds(job: dict[str, Any]) -> float:
    return float(job["params"]["duration"])


# Which worker serves each path: (queue, pool, concurrency).
WORKERS = {
    "text-inprocess": ("text", "prefork", 1),
    "text-engine": ("engine", "threads", 32),
    "image": ("image", "prefork", 1),
    "audio": ("audio", "prefork", 1),
}


def start_workers(env: BenchEnvironment, running: ExitStack, names: list[str]) -> None:
    from tests.stack import Worker

    for name in names:
        queue, pool, concurrency = WORKERS[name]
        worker = Worker(
            env.subprocess_env(),
            env.workdir / f"worker-{queue}.log",
            name=f"bench-{queue}",
            queues=queue,
            pool=pool,
            concurrency=concurrency,
        )
        running.callback(worker.stop)


# --- report -----------------------------------------------------------------


def report(path: Route, rounds: list[Round]) -> None:
    unit = path.unit
    print(f"\n{path.name}: aggregate and per-stream throughput ({unit}/s)\n")
    print(f"| clients | jobs | wall s | aggregate {unit}/s | per stream {unit}/s | vs 1 client |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    one = next((r for r in rounds if r.clients == 1), None)
    for r in rounds:
        ratio = f"{r.aggregate / one.aggregate:.2f} x" if one else "-"
        print(
            f"| {r.clients} | {r.jobs} | {r.wall_seconds:.2f} | {r.aggregate:.2f} "
            f"| {r.per_stream:.2f} | {ratio} |"
        )
    for r in rounds:
        prefix = f"{path.name}-{r.clients}way"
        print(f"RESULT {prefix}-{unit}-per-s {r.aggregate:.4g}")
        print(f"RESULT {prefix}-per-stream-{unit}-per-s {r.per_stream:.4g}")
        if one is not None and r.clients != 1:
            print(f"RESULT {prefix}-vs-1 {r.aggregate / one.aggregate:.3f}")
    sys.stdout.flush()


# --- run --------------------------------------------------------------------


def run(env: BenchEnvironment, args: argparse.Namespace) -> None:
    from tests.stack import Client, WebServer

    _, key = bench_user()
    jobs = 1 if args.quick and args.jobs is None else (args.jobs or 2)
    with ExitStack() as running:
        paths = build_paths(env, running, args)
        print("Starting the web server and the workers...", flush=True)
        server = WebServer(env.subprocess_env(), env.workdir / "web.log")
        running.callback(server.stop)
        start_workers(env, running, [p.name for p in paths])
        measured: list[tuple[Route, list[Round]]] = []
        for path in paths:
            print(f"\n{path.name}: {path.body}, {jobs} job(s) per client", flush=True)
            warm, _ = follow_job(Client(server, key), path)  # the worker loads the model here
            print(f"  warm-up job {warm:.2f} s", flush=True)
            rounds = []
            for clients in args.clients:
                rounds.append(run_round(server, key, path, clients, jobs))
                r = rounds[-1]
                print(
                    f"  {clients} client(s): {r.jobs} jobs in {r.wall_seconds:.2f} s, "
                    f"aggregate {r.aggregate:.2f} {path.unit}/s, "
                    f"per stream {r.per_stream:.2f} {path.unit}/s",
                    flush=True,
                )
            measured.append((path, rounds))
    for path, rounds in measured:  # together at the end, where bench/report.py finds them
        report(path, rounds)


def add_dtype_arguments(parser: argparse.ArgumentParser, *names: str) -> None:
    """--NAME-dtype for each name ("engine", "image"); unset, resolve_dtypes fills
    them with bench.environment.fast_dtype()."""
    for name in names:
        parser.add_argument(
            f"--{name}-dtype",
            choices=DTYPES,
            default=None,
            help="default: bfloat16 on a CPU that computes it in hardware, else auto",
        )


def resolve_dtypes(args: argparse.Namespace) -> None:
    """Fill the dtype arguments left unset; call after prepare() (Django settings)."""
    from bench.environment import fast_dtype

    for name in ("engine_dtype", "image_dtype"):
        if getattr(args, name, "unset") is None:
            setattr(args, name, fast_dtype())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--paths",
        type=lambda s: [p for p in s.split(",") if p],
        default=list(PATHS),
        help=f"comma-separated, of {', '.join(PATHS)} (default all)",
    )
    parser.add_argument(
        "--clients", type=lambda s: [int(n) for n in s.split(",")], default=[1, 2, 4, 8]
    )
    parser.add_argument(
        "--jobs", type=int, help="jobs each client runs one after another (default 2; --quick 1)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny models and short jobs: proves the plumbing, measures little",
    )
    parser.add_argument(
        "--text-model",
        choices=TEXT_MODELS,
        help=TEXT_MODEL_HELP,
    )
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--image-model", choices=["tiny", "small", "sd15"], default="small")
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--image-steps", type=int, default=10)
    parser.add_argument(
        "--image-batch-wait-ms",
        type=int,
        default=100,
        help="the image model's options.batch_wait_ms (default 100; 0: no wait)",
    )
    parser.add_argument(
        "--audio-model", choices=["tiny", "small", "musicgen-small"], default="small"
    )
    parser.add_argument("--audio-duration", type=float, default=5.0)
    add_dtype_arguments(parser, "engine", "image")
    args = parser.parse_args(argv)
    unknown = set(args.paths) - set(PATHS)
    if unknown:
        parser.error(f"unknown paths: {', '.join(sorted(unknown))}")
    if 1 not in args.clients:
        parser.error("--clients must include 1: the other rounds are compared with it")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Many jobs from one user in a minute: the bench measures throughput, not quotas.
    os.environ["GENHUB_QUOTA_REQUESTS_PER_MINUTE"] = "0"
    os.environ["GENHUB_QUOTA_MAX_QUEUED"] = "0"
    env = prepare()  # before anything reads Django settings
    resolve_dtypes(args)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    run(env, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
