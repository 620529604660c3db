"""The Grafana dashboard in deploy/grafana/: it parses, Grafana's provisioning
finds it, and every metric its queries name is one GenHub exports."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from genhub.metrics import events  # noqa: F401  (registers the event metrics)
from genhub.metrics.state import StateCollector

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
PROVISIONING = ROOT / "deploy/grafana/provisioning/dashboards"

# Words of PromQL that are not metric names.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "group_left", "group_right"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "gauge": ("",),
    "info": ("_info",),
}


def exported_names() -> set[str]:
    """Every sample name GenHub's endpoints can serve: the event metrics and
    django-prometheus's (the default registry) and the state read at scrape time."""
    from django_prometheus.middleware import Metrics

    Metrics.get_instance()  # django-prometheus registers its metrics on first use
    families = [*REGISTRY.collect(), *StateCollector().describe()]
    return {
        family.name + suffix for family in families for suffix in SUFFIXES.get(family.type, ("",))
    }


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values, which may hold anything
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\$\{?\w+\}?", "", expr)  # Grafana's variables
    found = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", expr):
        if match.group(2) is None and match.group(1).lower() not in KEYWORDS:
            found.add(match.group(1))  # not followed by "(": not a function
    return found


def queries(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression: the panels' (rows' own panels too) and the variables'."""
    panels = [*dashboard["panels"]]
    for panel in dashboard["panels"]:
        panels.extend(panel.get("panels", []))
    found = [target["expr"] for panel in panels for target in panel.get("targets", [])]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else ""
        if variable["type"] == "query" and (values := re.match(r"label_values\((\w+)", text)):
            found.append(values.group(1))
    return found


def test_there_is_a_dashboard():
    assert DASHBOARDS


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_metric_the_dashboard_reads_is_one_genhub_exports(path):
    dashboard = json.loads(path.read_text())
    exported = exported_names()
    expressions = queries(dashboard)
    assert expressions
    read = set().union(*(metric_names(expr) for expr in expressions))
    assert read and read <= exported, f"not exported: {sorted(read - exported)}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_the_dashboard_shows_queues_throughput_errors_and_workers(path):
    dashboard = json.loads(path.read_text())
    read = set().union(*(metric_names(expr) for expr in queries(dashboard)))
    assert {
        "genhub_queue_length",
        "genhub_job_queue_wait_seconds_bucket",
        "genhub_generated_tokens_total",
        "genhub_denoising_steps_total",
        "genhub_audio_generated_seconds_total",
        "genhub_jobs_finished_total",
        "genhub_quota_rejections_total",
        "genhub_workers",
        "genhub_worker_device_memory_free_bytes",
        "genhub_worker_loaded_model_bytes",
    } <= read
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


def test_the_names_found_in_promql_are_the_metrics_only():
    expr = (
        'sum by (model) (rate(genhub_generated_tokens_total{modality=~"$modality", a="b c"}'
        "[$__rate_interval])) / on (model) group_left max(up) > 1e3"
    )
    assert metric_names(expr) == {"genhub_generated_tokens_total", "up"}


def test_grafana_is_told_where_the_dashboards_are():
    [provisioning] = PROVISIONING.glob("*.yml")
    providers = yaml.safe_load(provisioning.read_text())["providers"]
    [provider] = providers
    assert provider["type"] == "file"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts
