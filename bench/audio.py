"""Music generation: the model alone against the whole service, side by side in one run.

Same model, prompt, duration and seed; requests one at a time. Each round runs
one raw generate and one service request, in turns first.

raw      `generate` on the model `audiogen.runner.load` returns, as a transformers
         script would call it (sampling, guidance, max_new_tokens from the duration;
         no progress hook, nothing written): seconds of audio per second of compute.
service  POST /api/v1/audio/generations -> Celery worker -> the job's `succeeded`
         event: dispatch, the frame-step events, encoding the file with its tags,
         the waveform, storage and the final write all count.

Goal: service real-time factor >= 0.95 x raw (exit status 1 when missed).

Models: `tiny` (tests' model), `small` (a bigger random decoder: enough work per
step on a CPU), `musicgen-small` (the released small model's decoder size, random
weights: for a GPU), `default` (musicgen-small from the hub: needs a network).

    .venv/bin/python bench/audio.py [--model small] [--duration 10] [--rounds 5]
"""

import argparse
import logging
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import (  # noqa: E402
    BenchEnvironment,
    add_warmups_argument,
    bench_user,
    prepare,
    random_model,
    register_model,
    timed_job,
)

PROMPT = "lo-fi hip hop beat with warm piano chords and vinyl crackle"
GOAL = 0.95


class RawModel:
    def __init__(self, aimodel: Any) -> None:
        from audiogen.runner import load
        from genhub.worker.devices import pick_device

        self.device = pick_device(aimodel.device)
        self.music = load(aimodel, self.device)

    def generate(self, body: dict[str, Any]) -> float:
        """Real-time factor of one call: seconds of audio per second of compute."""
        import math

        import torch

        music = self.music
        frames = math.ceil(body["duration"] * music.frame_rate - 1e-6)
        inputs = music.tokenizer([body["prompt"]], padding=True, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        torch.manual_seed(body["seed"])
        started = time.perf_counter()
        with torch.inference_mode():
            audio = music.model.generate(
                **inputs,
                do_sample=True,
                guidance_scale=body["guidance_scale"],
                top_k=250,
                max_new_tokens=frames + music.num_codebooks - 1,
            )
            audio.cpu()
        return body["duration"] / (time.perf_counter() - started)


def service_request(client: Any, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Real-time factor from POST to the `succeeded` event, and the finished job."""
    seconds, job = timed_job(client, "/audio/generations", body)
    return body["duration"] / seconds, job


def run(env: BenchEnvironment, args: argparse.Namespace) -> bool:
    from tests.stack import Client, WebServer, Worker

    if args.model == "default":
        aimodel = register_model("audio", "default")
    else:
        from audiogen.tiny import build_tiny_music_model

        aimodel = random_model(
            "audio", args.model, build_tiny_music_model, options={"max_duration": 30}
        )
    _, key = bench_user()
    body = {
        "model": aimodel.name,
        "prompt": PROMPT,
        "duration": args.duration,
        "guidance_scale": 3.0,
        "seed": 1234,
        "format": args.format,
    }
    print("Starting the web server and an audio worker...", flush=True)
    raw_runs: list[float] = []
    service_runs: list[float] = []
    worker_runs: list[float] = []
    saving_runs: list[float] = []
    with ExitStack() as running:
        server = WebServer(env.subprocess_env(), env.workdir / "web.log")
        running.callback(server.stop)
        worker = Worker(
            env.subprocess_env(), env.workdir / "worker.log", name="bench", queues="audio"
        )
        running.callback(worker.stop)
        client = Client(server, key)
        raw = RawModel(aimodel)
        print(
            f"model {aimodel.name} on {raw.device} ({raw.music.model.dtype}), "
            f"{args.duration} s clips as {args.format}, {args.rounds} rounds",
            flush=True,
        )
        for _ in range(args.warmups):  # the first loads the worker's model
            raw.generate(body)
            service_request(client, body)
        for number in range(1, args.rounds + 1):
            if number % 2:
                raw_runs.append(raw.generate(body))
            rtf, job = service_request(client, body)
            if not number % 2:
                raw_runs.append(raw.generate(body))
            service_runs.append(rtf)
            worker_runs.append(job["metrics"]["realtime_factor"])
            saving_runs.append(job["metrics"]["save_seconds"])
            print(
                f"  round {number}: raw {raw_runs[-1]:.3f} x real time, "
                f"service {rtf:.3f} x real time",
                flush=True,
            )
    return report(raw_runs, worker_runs, service_runs, saving_runs)


def report(
    raw: list[float], worker: list[float], service: list[float], saving: list[float]
) -> bool:
    """Print the figures (real-time factors per round, and the seconds the worker
    spent saving each clip: its file and waveform) and the goal; True when it passes."""
    ratio = statistics.median(service) / statistics.median(raw)
    paired = statistics.median(s / r for s, r in zip(service, raw, strict=True))
    print("\n| figure (seconds of audio per second) | median | min |")
    print("| --- | ---: | ---: |")
    for name, values in (
        ("raw generate", raw),
        ("worker generate with progress hook (job.metrics)", worker),
        ("service, POST -> succeeded", service),
    ):
        print(f"| {name} | {statistics.median(values):.3f} | {min(values):.3f} |")
    saved = statistics.median(saving) * 1000
    print(f"\nthe worker's saving of the clip (job.metrics): {saved:.1f} ms")
    print(f"service / raw: {ratio:.3f} x (paired {paired:.3f} x)")
    print(f"RESULT audio-raw-realtime-factor {statistics.median(raw):.4g}")
    print(f"RESULT audio-worker-realtime-factor {statistics.median(worker):.4g}")
    print(f"RESULT audio-service-realtime-factor {statistics.median(service):.4g}")
    print(f"RESULT audio-save-ms {saved:.1f}")
    print(f"RESULT audio-service-vs-raw {ratio:.3f}")
    print(f"RESULT audio-service-vs-raw-paired {paired:.3f}")
    passed = ratio >= GOAL
    print(f"{'PASS' if passed else 'FAIL'}  service real-time factor >= {GOAL} x raw")
    return passed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", choices=["tiny", "small", "musicgen-small", "default"], default="small"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds (default 10)")
    parser.add_argument("--format", default="wav", choices=["wav", "flac", "ogg", "mp3"])
    parser.add_argument("--rounds", type=int, default=5)
    add_warmups_argument(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = prepare()  # before anything reads Django settings
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return 0 if run(env, args) else 1


if __name__ == "__main__":
    sys.exit(main())
