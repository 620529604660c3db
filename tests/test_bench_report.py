"""bench/report.py: the bench logs become result blocks in the document, and only
those blocks change."""

from datetime import UTC, datetime

import pytest

from bench.report import parse_log, render, render_block, replace_block, series_of

pytestmark = pytest.mark.unit

LOG = """Starting the web server and the workers...
  1 client(s): 1 jobs in 1.95 s, aggregate 16.37 tokens/s
2026-12-02 04:54:08,102 INFO celery: a log record

text-engine: aggregate and per-stream throughput (tokens/s)

| clients | aggregate tokens/s |
| ---: | ---: |
| 1 | 19.33 |
| 8 | 60.10 |
RESULT text-engine-1way-tokens-per-s 19.33
RESULT text-engine-8way-tokens-per-s 60.1
RESULT text-engine-8way-vs-1 3.109
PASS  something held
"""

DOCUMENT = """# Benchmarks

How each bench measures: hand-written prose.

<!-- bench:text -->
old text figures
<!-- /bench:text -->

What moved the figures: more prose.

<!-- bench:new -->
"""


def test_a_log_gives_its_results_and_its_summary_from_the_first_table_on():
    log = parse_log("concurrency", LOG)
    assert log.results == [
        ("text-engine-1way-tokens-per-s", "19.33"),
        ("text-engine-8way-tokens-per-s", "60.1"),
        ("text-engine-8way-vs-1", "3.109"),
    ]
    assert log.summary[0] == "text-engine: aggregate and per-stream throughput (tokens/s)"
    assert not any(line.startswith(("RESULT", "Starting", "2026-")) for line in log.summary)
    assert log.summary[-1] == "PASS  something held"


def test_a_log_without_tables_keeps_its_last_words():
    log = parse_log("gpu_smoke", "no CUDA device; skipped\n")
    assert log.summary == ["no CUDA device; skipped"]
    assert log.results == []


def test_clients_series_are_found_by_name():
    series = series_of(parse_log("concurrency", LOG).results)
    assert series == {
        "text-engine": {
            "tokens-per-s": [(1, 19.33), (8, 60.1)],
            "vs-1": [(8, 3.109)],
        }
    }


def test_a_block_is_replaced_and_the_prose_around_it_kept():
    updated = replace_block(DOCUMENT, "text", "new text figures")
    assert "new text figures" in updated and "old text figures" not in updated
    assert updated.replace("new text figures", "old text figures") == DOCUMENT


def test_a_new_block_goes_before_the_mark():
    updated = replace_block(DOCUMENT, "web", "web figures")
    assert updated.index("<!-- bench:web -->") < updated.index("<!-- bench:new -->")
    assert replace_block(updated, "web", "web figures") == updated  # a rerun changes nothing


def test_a_rendered_block_has_the_tables_the_results_and_the_plot():
    log = parse_log("concurrency", LOG)
    block = render_block(log, datetime(2026, 12, 2, tzinfo=UTC), "a test machine", "bench/c.png")
    assert "### `bench/concurrency.py`" in block
    assert "Run 2026-12-02 00:00 UTC by `make bench`; a test machine." in block
    assert "| 8 | 60.10 |" in block
    assert "| `text-engine-8way-vs-1` | 3.109 |" in block
    assert "![concurrency: throughput against clients](bench/c.png)" in block


def test_render_writes_the_plot_beside_the_document(tmp_path):
    pytest.importorskip("matplotlib")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "concurrency.log").write_text(LOG)
    doc = tmp_path / "docs" / "benchmarks.md"
    doc.parent.mkdir()

    rendered = render(DOCUMENT, logs, doc, tmp_path / "docs" / "bench")

    assert (tmp_path / "docs" / "bench" / "concurrency.png").read_bytes()[:4] == b"\x89PNG"
    assert "](bench/concurrency.png)" in rendered
    assert "old text figures" in rendered  # no log for it: left alone


def test_the_image_and_audio_reports_give_their_ratios_as_results(capsys):
    from bench import audio, image

    # Seconds an image per round: raw 2.0, 1.0, 3.0; the service 2.5, 1.2, 3.0; the
    # worker's own call 0.1 s under the service each time, 4-6 ms of it saving. Of
    # medians 2.0/2.5 = 0.8; paired, the median of 0.8, 0.833 and 1.0 is 0.833.
    rounds = [2.0, 1.0, 3.0], [2.5, 1.2, 3.0], [2.4, 1.1, 2.9], [0.004, 0.006, 0.005]
    assert not image.report([(1, *rounds)])
    log = parse_log("image", capsys.readouterr().out)
    results = dict(log.results)
    assert results["image-batch1-service-vs-raw"] == "0.800"
    assert results["image-batch1-service-vs-raw-paired"] == "0.833"
    assert float(results["image-batch1-service-less-denoise-ms"]) == pytest.approx(100.0)
    assert results["image-batch1-save-ms"] == "5.0"
    assert log.summary[-1].startswith("FAIL")

    # Real-time factors per round: raw 1.0, 2.0, 0.8; the worker 0.99, 1.95, 0.8; the
    # service 0.9, 1.9, 0.8. Of medians 0.9/1.0; paired, the median of 0.9, 0.95, 1.0.
    assert not audio.report([1.0, 2.0, 0.8], [0.99, 1.95, 0.8], [0.9, 1.9, 0.8], [0.01, 0.02, 0.03])
    results = dict(parse_log("audio", capsys.readouterr().out).results)
    assert results["audio-service-vs-raw"] == "0.900"
    assert results["audio-service-vs-raw-paired"] == "0.950"
    assert results["audio-raw-realtime-factor"] == "1"
    assert results["audio-worker-realtime-factor"] == "0.99"
    assert results["audio-save-ms"] == "20.0"


def test_text_pairs_each_round_with_its_raw_run_and_skips_rounds_without_a_value():
    from bench.text import paired_ratio

    assert paired_ratio([9.0, None, 30.0, 8.0], [10.0, 10.0, 20.0, 10.0]) == pytest.approx(0.9)
    assert paired_ratio([None, None], [10.0, 10.0]) is None
