"""Write the latest bench results into docs/benchmarks.md, with plots.

`make bench` runs each bench script with its output kept in var/bench/<name>.log,
then this script. For each log it rewrites one block of the document, between
`<!-- bench:NAME -->` and `<!-- /bench:NAME -->`: when and where it ran, the
script's summary (its tables and PASS/FAIL lines, from its first table on), and its
`RESULT <name> <value>` lines as a table. Everything outside the blocks (how each
bench measures, what moved the figures) is hand-written and left as it is. A log
with no block yet gets one just before `<!-- bench:new -->`, or at the end.

RESULT names of the form `<series>-<N>way-<metric>` are plotted against N (clients)
into <plots>/<name>.png, linked from the block.

    .venv/bin/python bench/report.py [--logs var/bench] [--doc docs/benchmarks.md]
                                     [--plots docs/bench]
"""

import argparse
import importlib.metadata
import io
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEW_BLOCKS_MARK = "<!-- bench:new -->"
RESULT_LINE = re.compile(r"^RESULT (\S+) (\S+)\s*$")
SERIES_NAME = re.compile(r"^(?P<series>.+)-(?P<clients>\d+)way-(?P<metric>.+)$")
LOG_NOISE = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d|\r")  # log records, progress bars


@dataclass
class BenchLog:
    name: str
    results: list[tuple[str, str]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)  # from the first table on, less RESULTs


def parse_log(name: str, text: str) -> BenchLog:
    log = BenchLog(name)
    lines = text.splitlines()
    kept = [line for line in lines if not RESULT_LINE.match(line) and not LOG_NOISE.search(line)]
    first_table = next((i for i, line in enumerate(kept) if line.startswith("|")), None)
    if first_table is None:  # no table (a skip, a crash): its last words
        log.summary = [line for line in kept if line.strip()][-5:]
    else:
        # A caption right above the first table belongs to it.
        start = first_table
        if start >= 2 and not kept[start - 1].strip() and kept[start - 2][:1] not in ("", " "):
            start -= 2
        log.summary = kept[start:]
    for line in lines:
        if match := RESULT_LINE.match(line):
            log.results.append((match[1], match[2]))
    return log


def summary_markdown(lines: list[str]) -> str:
    """Tables as they are, indented runs as code, other lines as short paragraphs."""
    out: list[str] = []
    group: list[str] = []
    kind = ""

    def flush() -> None:
        if not group:
            return
        if kind == "code":
            out.extend(["```text", *group, "```", ""])
        elif kind == "table":
            out.extend([*group, ""])
        else:
            out.extend(["  \n".join(group), ""])
        group.clear()

    for line in lines:
        if not line.strip():
            flush()
            kind = ""
            continue
        line_kind = "table" if line.startswith("|") else "code" if line[:1] == " " else "text"
        if line_kind != kind:
            flush()
            kind = line_kind
        group.append(line.rstrip())
    flush()
    return "\n".join(out).rstrip() + "\n"


# --- plots ------------------------------------------------------------------

Series = dict[str, dict[str, list[tuple[int, float]]]]  # series -> metric -> [(clients, value)]


def series_of(results: list[tuple[str, str]]) -> Series:
    found: Series = {}
    for name, value in results:
        if match := SERIES_NAME.match(name):
            metrics = found.setdefault(match["series"], {})
            metrics.setdefault(match["metric"], []).append((int(match["clients"]), float(value)))
    return found


def plot(series: Series, target: Path) -> None:
    """One panel per series (its throughputs against clients) and one with every
    series' aggregate relative to one client."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = len(series) + 1
    columns = 2 if panels > 1 else 1
    rows = -(-panels // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.8 * rows), squeeze=False)
    flat = list(axes.flat)
    every_n: set[int] = set()
    for ax, (name, metrics) in zip(flat, series.items(), strict=False):
        for metric, points in metrics.items():
            if metric == "vs-1":
                continue
            points = sorted(points)
            every_n.update(n for n, _ in points)
            per_stream = metric.startswith("per-stream-")
            ax.plot(
                [n for n, _ in points],
                [v for _, v in points],
                "--" if per_stream else "-",
                marker="o",
                label="per stream" if per_stream else "aggregate",
            )
            unit = metric.removeprefix("per-stream-").removesuffix("-per-s")
            ax.set_ylabel(f"{unit}/s", fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
    scaling = flat[len(series)]
    for name, metrics in series.items():
        if "vs-1" in metrics:
            points = sorted([(1, 1.0), *metrics["vs-1"]])
            scaling.plot([n for n, _ in points], [v for _, v in points], marker="o", label=name)
    scaling.set_title("aggregate throughput / 1 client", fontsize=9)
    if scaling.lines:
        scaling.legend(fontsize=7)
    for ax in flat[: len(series) + 1]:
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(every_n) or [1], [str(n) for n in sorted(every_n) or [1]])
        ax.set_xlabel("clients", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in flat[len(series) + 1 :]:
        ax.set_visible(False)
    figure.tight_layout()
    drawn = io.BytesIO()
    figure.savefig(drawn, format="png", dpi=72)
    plt.close(figure)
    # A few dozen colours are all a line plot has: a palette image is a quarter the size.
    from PIL import Image

    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(drawn) as image:
        small = image.convert("RGB").quantize(colors=64)
        small.save(target, format="PNG", optimize=True)


# --- the document -----------------------------------------------------------


def machine() -> str:
    """Where the figures were taken, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = "no GPU"
    if shutil.which("nvidia-smi"):
        listed = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        gpu = ", ".join(listed.splitlines()) or gpu
    try:
        torch = f", torch {importlib.metadata.version('torch')}"
    except importlib.metadata.PackageNotFoundError:
        torch = ""
    return f"{os.cpu_count()} CPUs ({cpu}), {gpu}; Python {platform.python_version()}{torch}"


def render_block(log: BenchLog, taken: datetime, where: str, plot_link: str | None) -> str:
    parts = [
        f"### `bench/{log.name}.py`",
        "",
        f"Run {taken:%Y-%m-%d %H:%M} UTC by `make bench`; {where}.",
        "",
        summary_markdown(log.summary).rstrip(),
        "",
    ]
    if log.results:
        parts += ["| RESULT | value |", "| --- | ---: |"]
        parts += [f"| `{name}` | {value} |" for name, value in log.results]
        parts.append("")
    if plot_link:
        parts += [f"![{log.name}: throughput against clients]({plot_link})", ""]
    return "\n".join(parts)


def replace_block(document: str, name: str, content: str) -> str:
    """The document with the block `name` holding `content`; nothing else changes."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{content.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(document):
        return pattern.sub(lambda _: block, document, count=1)
    mark = document.rfind(NEW_BLOCKS_MARK)  # the last one: prose may quote the mark
    if mark >= 0:
        return f"{document[:mark]}{block}\n\n{document[mark:]}"
    return document.rstrip("\n") + f"\n\n{block}\n"


def render(document: str, logs: Path, doc_path: Path, plots: Path) -> str:
    where = machine()
    for log_path in sorted(logs.glob("*.log")):
        log = parse_log(log_path.stem, log_path.read_text(errors="replace"))
        taken = datetime.fromtimestamp(log_path.stat().st_mtime, UTC)
        link = None
        if series := series_of(log.results):
            image = plots / f"{log.name}.png"
            plot(series, image)
            link = os.path.relpath(image, doc_path.parent)
        document = replace_block(document, log.name, render_block(log, taken, where, link))
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logs", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--plots", type=Path, default=ROOT / "docs" / "bench")
    args = parser.parse_args(argv)
    if not any(args.logs.glob("*.log")):
        print(f"no bench logs in {args.logs}; run `make bench`")
        return 1
    args.doc.write_text(render(args.doc.read_text(), args.logs, args.doc, args.plots))
    print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
