"""Image generation: the pipeline alone against the whole service, side by side in one run.

Same model, prompt, size, steps and seed; requests one at a time, at each batch
size. Each round runs one raw call and one service request, in turns first, so
background load on the machine hits both alike.

raw      the pipeline `imagegen.runner.load` returns, called as a diffusers script
         would (the model's scheduler, one CPU generator per image, PIL images
         out, nothing saved): seconds per image.
service  POST /api/v1/images/generations -> Celery worker -> the job's `succeeded`
         event on its WebSocket. Dispatch, a step event per step, the previews,
         PNG encoding with the generation record, thumbnails, storage and the
         final database write all count: seconds per image.

Goal: raw seconds / service seconds >= 0.95 at every batch size (exit status 1
when missed).

Models: `tiny` (tests' pipeline), `small` (a bigger random config, enough work per
step on a CPU), `sd15` (Stable Diffusion 1.5's architecture, random weights: for
a GPU), `default` (the registered default, sd-turbo from the hub: needs a network).

    .venv/bin/python bench/image.py [--model small] [--size 256] [--steps 10]
                                    [--rounds 5] [--batches 1,4]
                                    [--dtype auto|float32|bfloat16]
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
    DTYPES,
    BenchEnvironment,
    add_warmups_argument,
    bench_user,
    prepare,
    random_model,
    register_model,
    timed_job,
)

PROMPT = "a lighthouse on a cliff at dusk, oil painting"
GOAL = 0.95


class RawPipeline:
    def __init__(self, aimodel: Any) -> None:
        from genhub.worker.devices import pick_device
        from imagegen.runner import load

        self.device = pick_device(aimodel.device)
        self.pipe = load(aimodel, self.device).text2image

    def generate(self, body: dict[str, Any]) -> float:
        """Seconds per image for one call."""
        import torch

        count = body["num_images"]
        generators = [torch.Generator("cpu").manual_seed(body["seed"] + i) for i in range(count)]
        started = time.perf_counter()
        images = self.pipe(
            prompt=body["prompt"],
            num_inference_steps=body["steps"],
            guidance_scale=body["guidance_scale"],
            width=body["width"],
            height=body["height"],
            num_images_per_prompt=count,
            generator=generators,
            output_type="pil",
        ).images
        seconds = time.perf_counter() - started
        assert len(images) == count
        return seconds / count


def service_request(client: Any, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Seconds per image from POST to the `succeeded` event, and the finished job."""
    seconds, job = timed_job(client, "/images/generations", body)
    return seconds / body["num_images"], job


def run(env: BenchEnvironment, args: argparse.Namespace) -> bool:
    from tests.stack import Client, WebServer, Worker

    if args.model == "default":
        aimodel = register_model("image", "default")
    else:
        from imagegen.tiny import build_random_pipeline

        aimodel = random_model("image", args.model, build_random_pipeline, dtype=args.dtype)
    _, key = bench_user()
    batches = [int(b) for b in args.batches.split(",")]

    print("Starting the web server and an image worker...", flush=True)
    results: list[tuple[int, list[float], list[float], list[float], list[float]]] = []
    with ExitStack() as running:
        server = WebServer(env.subprocess_env(), env.workdir / "web.log")
        running.callback(server.stop)
        worker = Worker(
            env.subprocess_env(), env.workdir / "worker.log", name="bench", queues="image"
        )
        running.callback(worker.stop)
        client = Client(server, key)
        raw = RawPipeline(aimodel)
        print(
            f"model {aimodel.name} on {raw.device} ({raw.pipe.dtype}), {args.size}x{args.size}, "
            f"{args.steps} steps, {args.rounds} rounds per batch size",
            flush=True,
        )
        for batch in batches:
            body = {
                "model": aimodel.name,
                "prompt": PROMPT,
                "width": args.size,
                "height": args.size,
                "steps": args.steps,
                "guidance_scale": 7.5,
                "seed": 1234,
                "num_images": batch,
            }
            for _ in range(args.warmups):  # the first loads the worker's model
                raw.generate(body)
                service_request(client, body)
            raw_runs, service_runs, worker_runs, saving_runs = [], [], [], []
            for number in range(1, args.rounds + 1):
                # Alternate which goes first, so neither always follows the other.
                if number % 2:
                    raw_runs.append(raw.generate(body))
                seconds, job = service_request(client, body)
                if not number % 2:
                    raw_runs.append(raw.generate(body))
                service_runs.append(seconds)
                worker_runs.append(job["metrics"]["seconds_per_image"])
                saving_runs.append(job["metrics"]["save_seconds"] / batch)
                print(
                    f"  batch {batch} round {number}: raw {raw_runs[-1]:.3f} s/image, "
                    f"service {seconds:.3f} s/image",
                    flush=True,
                )
            results.append((batch, raw_runs, service_runs, worker_runs, saving_runs))
    return report(results)


def report(results: list[tuple[int, list[float], list[float], list[float], list[float]]]) -> bool:
    """Per batch size: seconds an image per round, raw, through the service, in the
    worker's denoising call, and in the worker's saving (PNGs, thumbnails, files)."""
    print(
        "\n| batch | raw s/image | worker denoise s/image | service s/image "
        "| service - denoise, ms/image | of which saving | raw/service (medians) | paired |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    passed = True
    lines: list[str] = []  # RESULT lines, printed after the table
    for batch, raw, service, worker, saving in results:
        ratio = statistics.median(raw) / statistics.median(service)
        paired = statistics.median(r / s for r, s in zip(raw, service, strict=True))
        passed = passed and ratio >= GOAL
        # What the service adds around the denoising loop, free of the run-to-run
        # spread of the loop itself between two processes.
        added = statistics.median(s - w for s, w in zip(service, worker, strict=True)) * 1000
        saved = statistics.median(saving) * 1000
        print(
            f"| {batch} | {statistics.median(raw):.3f} | {statistics.median(worker):.3f} "
            f"| {statistics.median(service):.3f} | {added:.0f} | {saved:.0f} "
            f"| {ratio:.3f} x | {paired:.3f} x |"
        )
        lines += [
            f"RESULT image-batch{batch}-raw-s-per-image {statistics.median(raw):.4g}",
            f"RESULT image-batch{batch}-worker-s-per-image {statistics.median(worker):.4g}",
            f"RESULT image-batch{batch}-service-s-per-image {statistics.median(service):.4g}",
            f"RESULT image-batch{batch}-service-less-denoise-ms {added:.1f}",
            f"RESULT image-batch{batch}-save-ms {saved:.1f}",
            f"RESULT image-batch{batch}-service-vs-raw {ratio:.3f}",
            f"RESULT image-batch{batch}-service-vs-raw-paired {paired:.3f}",
        ]
    print("", *lines, sep="\n")
    print(f"\n{'PASS' if passed else 'FAIL'}  service >= {GOAL} x raw at every batch size")
    return passed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["tiny", "small", "sd15", "default"], default="small")
    parser.add_argument("--size", type=int, default=256, help="width and height (default 256)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per batch size")
    add_warmups_argument(parser)
    parser.add_argument("--batches", default="1,4", help="batch sizes (default 1,4)")
    parser.add_argument(
        "--dtype",
        choices=DTYPES,
        default="auto",
        help="the random models' precision (default auto: float32 on CPU, as GenHub runs "
        "a model by default; bfloat16 is what a CPU with AMX would be set to)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = prepare()  # before anything reads Django settings
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return 0 if run(env, args) else 1


if __name__ == "__main__":
    sys.exit(main())
