"""The web tier: how many requests a second the ASGI app answers, with one client.

The service as it is deployed: two uvicorn processes serving
genhub.asgi:application on one port, as two replicas behind a balancer
(start_server), on a database of its own (a temporary SQLite file, or
with --postgres a fresh PostgreSQL database on that server, dropped after). It
holds one user with an API key, a model, some finished jobs (so queued jobs have
an ETA from recent runs), a few queued jobs and one live worker.

Targets, each driven for --seconds by one client keeping --connections requests
in flight (wrk when it is installed, else an asyncio httpx client):

status-finished  GET /api/v1/jobs/{id} with the key, a succeeded job
status-queued    the same for a queued job: it also pays for its place, the
                 workers of its queue and its ETA (genhub/waiting.py, genhub/eta.py)
list             GET /api/v1/jobs?page_size=20 with the key, a page of jobs
trivial          GET /api/v1/version: an endpoint of the same API with no auth and
                 no query, through the same middleware chain, URL routing and ninja
healthz          GET /healthz: answered by the first middleware (genhub/health.py),
                 before the chain, the routing and ninja: the server's own floor

Each round runs every target once, in turn, so background load on the machine
hits them alike; the ratios to `trivial` and to `healthz` are taken within each
round. Printed: the median requests/s per target over the rounds, its spread
(min-max), the median ratios and their spread.

Goals: the status read of a finished job at >= STATUS_GOAL_RPS requests/s (three
times the 2-process figure before the web tier was profiled, docs/benchmarks.md),
and at >= STATUS_VS_TRIVIAL_GOAL of `trivial` in the same rounds. The exit status
is 1 when one is missed.

    .venv/bin/python bench/web.py [--seconds 5] [--rounds 3] [--connections 16]
                                  [--postgres postgres://postgres@127.0.0.1:5432]
"""

import argparse
import asyncio
import atexit
import logging
import re
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import BenchEnvironment, bench_user, prepare  # noqa: E402

STATUS_GOAL_RPS = 660.0  # 3 x the ~220/s measured before (docs/benchmarks.md, "Web tier")
STATUS_VS_TRIVIAL_GOAL = 0.6
WEB_PROCESSES = 2
FINISHED_JOBS = 40
QUEUED_JOBS = 5
TARGETS = ("status-finished", "status-queued", "list", "trivial", "healthz")


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    authenticated: bool


@dataclass(frozen=True)
class Measure:
    requests_per_second: float
    errors: int  # non-2xx answers and socket errors


# --- the service ------------------------------------------------------------


def create_data() -> tuple[str, dict[str, Target]]:
    """The bench user's key and the targets, on jobs made here."""
    from django.utils import timezone

    from genhub.models import AIModel, Job, JobStatus, Worker

    user, key = bench_user()
    model = AIModel.objects.create(
        name="bench-web-text",
        modality="text",
        source_type=AIModel.SourceType.LOCAL,
        source="/nonexistent/bench-web",
        is_default=True,
    )
    now = timezone.now()
    params = {"max_new_tokens": 64, "temperature": 0, "seed": 0}
    finished = []
    for number in range(FINISHED_JOBS):
        started = now - timedelta(minutes=FINISHED_JOBS - number)
        finished.append(
            Job(
                owner=user,
                modality="text",
                model=model,
                prompt=f"finished prompt {number}",
                params=params,
                status=JobStatus.SUCCEEDED,
                progress=1.0,
                result={"text": "Once upon a time " * 8, "usage": {"completion_tokens": 64}},
                metrics={"tokens_per_second": 50.0, "queue_seconds": 0.01},
                attempts=1,
                started_at=started,
                finished_at=started + timedelta(seconds=2),
            )
        )
    Job.objects.bulk_create(finished)
    queued = Job.objects.bulk_create(
        Job(
            owner=user,
            modality="text",
            model=model,
            prompt=f"queued prompt {number}",
            params=params,
        )
        for number in range(QUEUED_JOBS)
    )
    Worker.objects.create(
        node="bench@web", hostname="web", pid=1, queues="text", pool="prefork", version="bench"
    )
    targets = [
        Target("status-finished", f"/api/v1/jobs/{finished[-1].id}", True),
        Target("status-queued", f"/api/v1/jobs/{queued[-1].id}", True),
        Target("list", "/api/v1/jobs?page_size=20", True),
        Target("trivial", "/api/v1/version", False),
        Target("healthz", "/healthz", False),
    ]
    return key, {target.name: target for target in targets}


def start_server(env: BenchEnvironment, running: ExitStack, db_pool: bool) -> str:
    """WEB_PROCESSES single-process uvicorn servers listening on one port, each on
    a socket of its own (SO_REUSEPORT), as replicas behind a balancer are. The
    kernel gives each new connection to one socket by a hash of its addresses, so
    wrk's connections split about evenly. Under `uvicorn --workers 2` the processes
    share one socket, and the one that wakes first takes every waiting
    connection: 16:0 or 14:2 in most rounds (seen with `ss`), and such a round
    runs on one core, at half the requests/s (docs/benchmarks.md, "Web tier")."""
    from tests.services import free_port
    from tests.stack import Process, _wait_for

    port = free_port()
    # As the launchers of the web process set it (genhub/settings.py, GENHUB_DB_POOL).
    server_env = {**env.subprocess_env(), "GENHUB_DB_POOL": "1" if db_pool else "0"}
    url = f"http://127.0.0.1:{port}"
    for number in range(WEB_PROCESSES):
        args = [sys.executable, str(Path(__file__).resolve()), "--serve-on", str(port)]
        server = Process(args, server_env, env.workdir / f"web-{number}.log")
        running.callback(server.stop)
        # Each one, not the port: the first to start answers for both.
        _wait_for(partial(_started, server.log), 60, "web server", server.log)
    _wait_for(lambda: _answers(url), 60, "web server", server.log)
    return url


def _started(log: Path) -> bool:
    return log.exists() and "Application startup complete" in log.read_text()


def serve_on(port: int) -> None:
    """One uvicorn server process on its own SO_REUSEPORT socket at `port`, with the
    options of tests.stack.uvicorn_command."""
    import socket

    import uvicorn

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind(("127.0.0.1", port))
    config = uvicorn.Config("genhub.asgi:application", ws_per_message_deflate=False)
    uvicorn.Server(config).run(sockets=[listener])


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


# --- the client -------------------------------------------------------------


def drive(url: str, key: str, target: Target, seconds: float, connections: int) -> Measure:
    headers = {"Authorization": f"Bearer {key}"} if target.authenticated else {}
    if shutil.which("wrk"):
        return _wrk(url + target.path, headers, seconds, connections)
    return asyncio.run(_httpx(url + target.path, headers, seconds, connections))


def _wrk(url: str, headers: dict[str, str], seconds: float, connections: int) -> Measure:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    output = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if found is None:
        raise RuntimeError(f"wrk said:\n{output}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    if socket := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(n) for n in socket.groups())
    return Measure(float(found.group(1)), errors)


async def _httpx(url: str, headers: dict[str, str], seconds: float, connections: int) -> Measure:
    import httpx

    done = 0
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10) as client:
        deadline = time.perf_counter() + seconds

        async def loop() -> None:
            nonlocal done, errors
            while time.perf_counter() < deadline:
                response = await client.get(url)
                done += 1
                errors += response.status_code >= 300

        started = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return Measure(done / elapsed, errors)


# --- report -----------------------------------------------------------------


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}" if len(values) > 1 else "-"


def report(rounds: list[dict[str, Measure]]) -> bool:
    rps = {name: [r[name].requests_per_second for r in rounds] for name in TARGETS}

    def ratios_to(base: str) -> dict[str, list[float]]:
        """Each target's requests/s over `base`'s, round by round."""
        return {
            name: [r[name].requests_per_second / r[base].requests_per_second for r in rounds]
            for name in TARGETS
        }

    ratios, to_healthz = ratios_to("trivial"), ratios_to("healthz")
    print(
        f"\n{'target':<18}{'req/s median':>14}{'min-max':>20}{'vs trivial':>12}{'min-max':>14}"
        f"{'vs healthz':>12}{'min-max':>14}"
    )
    for name in TARGETS:
        low, high = min(rps[name]), max(rps[name])
        print(
            f"{name:<18}{statistics.median(rps[name]):>14.0f}{f'{low:.0f}-{high:.0f}':>20}"
            f"{statistics.median(ratios[name]):>12.3f}{spread(ratios[name]):>14}"
            f"{statistics.median(to_healthz[name]):>12.3f}{spread(to_healthz[name]):>14}"
        )
    errors = sum(m.errors for r in rounds for m in r.values())
    status = statistics.median(rps["status-finished"])
    print()
    print(f"RESULT web-status-read-rps {status:.0f}")
    print(f"RESULT web-status-queued-rps {statistics.median(rps['status-queued']):.0f}")
    print(f"RESULT web-job-list-rps {statistics.median(rps['list']):.0f}")
    print(f"RESULT web-trivial-rps {statistics.median(rps['trivial']):.0f}")
    print(f"RESULT web-status-vs-trivial {statistics.median(ratios['status-finished']):.3f}")
    print(f"RESULT web-status-queued-vs-trivial {statistics.median(ratios['status-queued']):.3f}")
    print(f"RESULT web-job-list-vs-trivial {statistics.median(ratios['list']):.3f}")
    print(f"RESULT web-healthz-rps {statistics.median(rps['healthz']):.0f}")
    print(f"RESULT web-status-vs-healthz {statistics.median(to_healthz['status-finished']):.3f}")
    print(f"RESULT web-errors {errors}")
    to_trivial = statistics.median(ratios["status-finished"])
    ok = status >= STATUS_GOAL_RPS and to_trivial >= STATUS_VS_TRIVIAL_GOAL and errors == 0
    verdict = "PASS" if ok else "FAIL"
    print(
        f"{verdict} status read {status:.0f}/s (goal >= {STATUS_GOAL_RPS:.0f}/s), "
        f"{to_trivial:.2f} x trivial (goal >= {STATUS_VS_TRIVIAL_GOAL}), {errors} errors"
    )
    return ok


# --- run --------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5, help="per target and round (5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every target (3)")
    parser.add_argument("--connections", type=int, default=16, help="requests in flight (16)")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="a PostgreSQL server (postgres://user@host:port): the bench creates a "
        "database there and drops it after; by default a temporary SQLite file",
    )
    parser.add_argument(
        "--no-db-pool",
        dest="db_pool",
        action="store_false",
        help="serve without the PostgreSQL connection pool (to measure what it buys)",
    )
    parser.add_argument("--serve-on", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def postgres_database(server: str) -> str:
    """A fresh database on `server`, dropped at exit: its URL."""
    import psycopg

    name = f"genhub_bench_web_{int(time.time())}"
    admin = server.rstrip("/") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    atexit.register(drop)
    return f"{server.rstrip('/')}/{name}"


def run(env: BenchEnvironment, args: argparse.Namespace) -> bool:
    from django.conf import settings

    key, targets = create_data()
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    client = "wrk -t1" if shutil.which("wrk") else "asyncio httpx"
    print(
        f"{WEB_PROCESSES} uvicorn processes, {database}; client {client}, "
        f"{args.connections} connections, {args.seconds:g} s per target, {args.rounds} rounds",
        flush=True,
    )
    if client == "asyncio httpx":
        print(
            "  (no wrk: this client tops out under a thousand requests a second on two "
            "cores, so it, not the server, sets the figures; scripts/ensure-bench-tools "
            "installs wrk)",
            flush=True,
        )
    rounds: list[dict[str, Measure]] = []
    with ExitStack() as running:
        url = start_server(env, running, args.db_pool)
        for target in targets.values():  # warm-up: imports, first connections, caches
            drive(url, key, target, 1, args.connections)
        for number in range(1, args.rounds + 1):
            measures = {
                name: drive(url, key, targets[name], args.seconds, args.connections)
                for name in TARGETS
            }
            rounds.append(measures)
            line = ", ".join(f"{n} {m.requests_per_second:.0f}/s" for n, m in measures.items())
            print(f"  round {number}: {line}", flush=True)
    return report(rounds)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_on:  # a server process of start_server's
        serve_on(args.serve_on)
        return 0
    database_url = postgres_database(args.postgres) if args.postgres else None
    env = prepare(database_url=database_url)  # before anything reads Django settings
    # httpx logs every request at INFO: thousands of lines a second from the client,
    # on the same two cores as the server it measures.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return 0 if run(env, args) else 1


if __name__ == "__main__":
    sys.exit(main())
