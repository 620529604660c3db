"""Engine text: one job through GenHub against the engine's own streaming speed.

The engine is real: `transformers serve --continuous-batching` (tests/engine.py)
serving the text model's folder on this machine, registered in GenHub as an
engine model behind the thread-pool worker on queue `engine` (`-P threads`), as
docs/models.md runs it. Each round, taking turns going first:

  direct    the official openai client streams the completion from the engine
            itself, with what GenHub's worker sends (prompt, max_tokens,
            temperature 0, seed, usage in the stream): completion tokens /
            (request sent -> stream ended)
  service   POST /api/v1/text/generations to the engine model, followed on the
            job's WebSocket: completion tokens / (POST sent -> `succeeded`).
            Dispatch, the worker's stream, token events, the final write and
            the socket all count.

Greedy, so both make the same tokens. "paired" is the median of each round's own
service/direct ratio. Goal: at least GOAL (the issue's 0.95).

Then --direct-clients streams at once straight from the engine, no GenHub: what
the engine itself gives concurrent clients on this machine, the yardstick for
bench/concurrency.py's text-engine rounds.

    .venv/bin/python bench/engine.py [--text-model smollm2|tiny] [--rounds 8]
                                     [--max-new-tokens 128] [--direct-clients 8]
                                     [--engine-dtype auto|float32|bfloat16]
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
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.concurrency import add_dtype_arguments, resolve_dtypes  # noqa: E402
from bench.environment import (  # noqa: E402
    TEXT_MODEL_HELP,
    TEXT_MODELS,
    BenchEnvironment,
    bench_user,
    prepare,
    timed_job,
)

GOAL = 0.95
PROMPT = "Once upon a time, in a small village by the sea, there lived"


def direct(engine_url: str, engine_model: str, tokens: int) -> tuple[float, int]:
    """One streamed completion straight from the engine: (seconds, completion tokens)."""
    import openai

    with openai.OpenAI(base_url=engine_url, api_key="none", max_retries=0, timeout=600) as client:
        sent = time.perf_counter()
        stream = client.completions.create(
            model=engine_model,
            prompt=PROMPT,
            max_tokens=tokens,
            temperature=0,
            top_p=1.0,
            seed=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        pieces, usage = 0, None
        for chunk in stream:
            usage = chunk.usage or usage
            pieces += bool(chunk.choices and chunk.choices[0].text)
        seconds = time.perf_counter() - sent
    return seconds, usage.completion_tokens if usage else pieces


def run(env: BenchEnvironment, args: argparse.Namespace) -> bool:
    from bench.concurrency import engine_model, start_workers, text_model
    from tests.stack import Client, WebServer

    _, key = bench_user()
    with ExitStack() as running:
        model = engine_model(running, env, text_model(args), args.engine_dtype)
        print("Starting the web server and the engine worker...", flush=True)
        server = WebServer(env.subprocess_env(), env.workdir / "web.log")
        running.callback(server.stop)
        start_workers(env, running, ["text-engine"])
        client = Client(server, key)
        body = {
            "model": model.name,
            "prompt": PROMPT,
            "max_new_tokens": args.max_new_tokens,
            "temperature": 0,
            "seed": 0,
        }
        engine_url, engine_name = model.source, model.options["engine_model"]

        def through_genhub() -> tuple[float, int]:
            seconds, job = timed_job(client, "/text/generations", body)
            return seconds, int(job["result"]["usage"]["completion_tokens"])

        def straight() -> tuple[float, int]:
            return direct(engine_url, engine_name, args.max_new_tokens)

        through_genhub(), straight()  # warm-up: the worker's client, the engine's caches
        rows: list[tuple[float, float]] = []  # (direct tok/s, service tok/s)
        for number in range(1, args.rounds + 1):
            first, second = (straight, through_genhub) if number % 2 else (through_genhub, straight)
            done = {first: first(), second: second()}
            (d_s, d_t), (s_s, s_t) = done[straight], done[through_genhub]
            rows.append((d_t / d_s, s_t / s_s))
            print(
                f"  round {number}: direct {d_t} tokens in {d_s:.2f} s ({d_t / d_s:.2f}/s), "
                f"service {s_t} in {s_s:.2f} s ({s_t / s_s:.2f}/s), ratio {rows[-1][1] / rows[-1][0]:.3f}",
                flush=True,
            )
        alone = engine_alone(straight, args.direct_clients) if args.direct_clients > 1 else None
    ok = report(rows)
    if alone is not None:
        one = statistics.median(r[0] for r in rows)
        aggregate, per_stream = alone
        n = args.direct_clients
        print(
            f"\nthe engine alone, {n} streams at once (openai client, no GenHub): aggregate "
            f"{aggregate:.2f} tokens/s ({aggregate / one:.2f} x one stream), per stream "
            f"{per_stream:.2f} ({per_stream / one:.2f} x)"
        )
        print(f"RESULT text-engine-direct-{n}way-vs-1 {aggregate / one:.3f}")
        print(f"RESULT text-engine-direct-{n}way-per-stream-vs-1 {per_stream / one:.3f}")
    return ok


def engine_alone(straight: Callable[[], tuple[float, int]], n: int) -> tuple[float, float]:
    """`n` direct streams at once: (aggregate tokens/s, mean per-stream tokens/s).
    What the engine itself gives to concurrent clients, to set bench/concurrency.py's
    text-engine figures against."""
    start = threading.Barrier(n)

    def one() -> tuple[float, int]:
        start.wait()
        return straight()

    began = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        done = list(pool.map(lambda _: one(), range(n)))
    wall = time.perf_counter() - began
    return sum(t for _, t in done) / wall, statistics.mean(t / s for s, t in done)


def report(rows: list[tuple[float, float]]) -> bool:
    direct_rate = statistics.median(r[0] for r in rows)
    service_rate = statistics.median(r[1] for r in rows)
    ratios = [service / direct for direct, service in rows]
    paired = statistics.median(ratios)
    print()
    print("| tokens/s | median | min | max |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in (
        ("engine, openai client direct", [r[0] for r in rows]),
        ("GenHub engine job, POST -> succeeded", [r[1] for r in rows]),
    ):
        print(
            f"| {name} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |"
        )
    print(
        f"\nservice/direct: {service_rate / direct_rate:.3f} x of medians, {paired:.3f} x paired "
        f"(rounds {min(ratios):.3f}-{max(ratios):.3f})"
    )
    print(f"RESULT text-engine-direct-tokens-per-s {direct_rate:.4g}")
    print(f"RESULT text-engine-service-tokens-per-s {service_rate:.4g}")
    print(f"RESULT text-engine-service-vs-direct {paired:.3f}")
    ok = paired >= GOAL
    print(
        f"{'PASS' if ok else 'FAIL'} engine job through GenHub {paired:.3f} x the engine direct "
        f"(goal >= {GOAL})"
    )
    return ok


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--text-model",
        choices=TEXT_MODELS,
        help=TEXT_MODEL_HELP,
    )
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument(
        "--direct-clients",
        type=int,
        default=8,
        help="then this many direct streams at once, the engine alone (default 8; 0 skips)",
    )
    add_dtype_arguments(parser, "engine")
    args = parser.parse_args(argv)
    args.quick = False  # what bench.concurrency.text_model reads
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["GENHUB_QUOTA_REQUESTS_PER_MINUTE"] = "0"
    env = prepare()  # before anything reads Django settings
    resolve_dtypes(args)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("openai").setLevel(logging.WARNING)
    return 0 if run(env, args) else 1


if __name__ == "__main__":
    sys.exit(main())
