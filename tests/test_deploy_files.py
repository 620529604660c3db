"""The deployment files: each Kustomize overlay renders (`kubectl kustomize`) and
its manifests validate against Kubernetes' schemas (kubernetes-validate); the KEDA
ScaledObjects use only the fields KEDA documents for ScaledObject and its Redis
lists scaler, and scale the worker that consumes the list they watch; every queue
GenHub sends to has a worker; the probes point at /healthz, /readyz and
worker_ready; and docker-compose accepts the Compose files.

`make lint-deploy` runs this module after scripts/ensure-deploy-tools installs
kubectl and docker-compose; without them these tests are skipped."""

import functools
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from genhub import modalities
from genhub.celery import WEBHOOK_QUEUE
from genhub.models.aimodel import ENGINE_QUEUE

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
OVERLAYS = sorted(p.name for p in (ROOT / "deploy/k8s/overlays").iterdir() if p.is_dir())
COMPOSE = ROOT / "var/deploy-tools/compose/bin/docker-compose"
NEEDS_TOOLS = "run scripts/ensure-deploy-tools (make lint-deploy does)"

# From KEDA's ScaledObject specification (keda.sh/docs/latest/reference/scaledobject-spec).
SCALED_OBJECT_SPEC = {
    "scaleTargetRef",
    "pollingInterval",
    "cooldownPeriod",
    "initialCooldownPeriod",
    "idleReplicaCount",
    "minReplicaCount",
    "maxReplicaCount",
    "fallback",
    "advanced",
    "triggers",
}
SCALE_TARGET_REF = {"apiVersion", "kind", "name", "envSourceContainerName"}
ADVANCED = {"restoreToOriginalReplicaCount", "horizontalPodAutoscalerConfig", "scalingModifiers"}
HPA_CONFIG = {"name", "behavior"}
TRIGGER = {"type", "metadata", "name", "useCachedMetrics", "authenticationRef", "metricType"}
# The Redis lists scaler, trigger type "redis" (keda.sh/docs/latest/scalers/redis-lists).
REDIS_LIST_METADATA = {
    "address",
    "host",
    "port",
    "addressFromEnv",
    "hostFromEnv",
    "portFromEnv",
    "usernameFromEnv",
    "passwordFromEnv",
    "listName",
    "listLength",
    "activationListLength",
    "enableTLS",
    "unsafeSsl",
    "databaseIndex",
}
WHERE_REDIS_IS = ({"address"}, {"addressFromEnv"}, {"host", "port"}, {"hostFromEnv", "portFromEnv"})


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip(f"kubectl is not installed: {NEEDS_TOOLS}")
    return path


@functools.cache
def rendered(overlay: str) -> str:
    result = subprocess.run(
        [kubectl(), "kustomize", str(ROOT / "deploy/k8s/overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def manifests(overlay: str) -> dict[tuple[str, str], dict[str, Any]]:
    documents = [d for d in yaml.safe_load_all(rendered(overlay)) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in documents}


def of_kind(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {name: d for (k, name), d in manifests(overlay).items() if k == kind}


def container(deployment: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == name
    ]
    return found


def consumed_queues(worker: dict[str, Any]) -> set[str]:
    command = container(worker, "worker")["command"]
    return set(command[command.index("-Q") + 1].split(","))


def environment(overlay: str, spec: dict[str, Any]) -> dict[str, str]:
    """A container's variables, those from ConfigMaps included (Secrets are not rendered)."""
    configmaps = of_kind(overlay, "ConfigMap")
    env: dict[str, str] = {}
    for source in spec.get("envFrom", []):
        if "configMapRef" in source:
            env.update(configmaps[source["configMapRef"]["name"]]["data"])
    env.update({e["name"]: e.get("value", "") for e in spec.get("env", [])})
    return env


# --- Kubernetes -----------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_overlay_renders_and_validates_against_the_kubernetes_schemas(overlay, tmp_path):
    path = tmp_path / f"{overlay}.yaml"
    path.write_text(rendered(overlay))
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "kubernetes-validate"),
            "--strict",
            "--quiet",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Only the custom resources (KEDA, Prometheus Operator) lack a schema there;
    # tests below check the ScaledObjects against KEDA's documented fields.
    unchecked = set(
        re.findall(r"Couldn't find schema for kind (\w+)", result.stdout + result.stderr)
    )
    assert unchecked <= {"ScaledObject", "ServiceMonitor", "PodMonitor"}


def test_there_are_a_cpu_and_a_gpu_overlay():
    assert {"cpu", "gpu"} <= set(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_queue_genhub_sends_to_has_a_worker_and_a_scaler(overlay):
    queues = {m.queue for m in modalities.all_modalities()} | {ENGINE_QUEUE, WEBHOOK_QUEUE}
    workers = {name: d for name, d in of_kind(overlay, "Deployment").items() if "-worker-" in name}
    served = set().union(*(consumed_queues(w) for w in workers.values()))
    assert queues <= served
    scaled = {
        so["spec"]["scaleTargetRef"]["name"] for so in of_kind(overlay, "ScaledObject").values()
    }
    assert scaled == set(workers)
    # KEDA owns the count; a replicas field would reset it on every apply.
    assert all("replicas" not in w["spec"] for w in workers.values())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scaled_objects_use_keda_s_documented_fields(overlay):
    deployments = of_kind(overlay, "Deployment")
    scaled_objects = of_kind(overlay, "ScaledObject")
    assert scaled_objects
    for name, so in scaled_objects.items():
        assert so["apiVersion"] == "keda.sh/v1alpha1", name
        spec = so["spec"]
        assert set(spec) <= SCALED_OBJECT_SPEC, name
        ref = spec["scaleTargetRef"]
        assert set(ref) <= SCALE_TARGET_REF and ref.get("kind", "Deployment") == "Deployment"
        assert ref.get("apiVersion", "apps/v1") == "apps/v1"
        target = deployments[ref["name"]]
        assert target["metadata"]["namespace"] == so["metadata"]["namespace"]
        env = environment(overlay, container(target, ref.get("envSourceContainerName", "worker")))
        for field in ("pollingInterval", "cooldownPeriod", "minReplicaCount", "maxReplicaCount"):
            assert isinstance(spec[field], int) and spec[field] >= 0, (name, field)
        assert 1 <= spec["maxReplicaCount"] and spec["minReplicaCount"] <= spec["maxReplicaCount"]
        if "idleReplicaCount" in spec:
            assert spec["idleReplicaCount"] < spec["minReplicaCount"]
        if "advanced" in spec:
            assert set(spec["advanced"]) <= ADVANCED
            assert set(spec["advanced"].get("horizontalPodAutoscalerConfig", {})) <= HPA_CONFIG
        assert spec["triggers"]
        for trigger in spec["triggers"]:
            assert set(trigger) <= TRIGGER and trigger["type"] == "redis", name
            metadata = trigger["metadata"]
            assert set(metadata) <= REDIS_LIST_METADATA, name
            assert all(isinstance(v, str) for v in metadata.values()), "metadata values are strings"
            assert [w for w in WHERE_REDIS_IS if w <= set(metadata)] != [], name
            assert (
                int(metadata["listLength"]) > 0
                and int(metadata.get("activationListLength", 0)) >= 0
            )
            # Celery's Redis transport keeps a queue as a list named after it.
            assert metadata["listName"] in consumed_queues(target), name
            for key in ("addressFromEnv", "hostFromEnv", "portFromEnv"):
                if key in metadata:
                    assert metadata[key] in env, (
                        f"{name}: {metadata[key]} is not in the worker's env"
                    )
            if "addressFromEnv" in metadata:
                assert re.fullmatch(r"[\w.-]+:\d+", env[metadata["addressFromEnv"]])
            assert metadata.get("databaseIndex", "0") == _redis_db(env["REDIS_URL"])
        if spec["minReplicaCount"] == 0:
            # Otherwise its jobs are refused while it is at zero, and it never starts.
            assert env["GENHUB_ACCEPT_WITHOUT_WORKERS"] == "true", name


def _redis_db(url: str) -> str:
    match = re.fullmatch(r"rediss?://[^/]+(?:/(\d+))?", url)
    assert match, url
    return match.group(1) or "0"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_use_the_health_endpoints_and_worker_ready(overlay):
    deployments = of_kind(overlay, "Deployment")
    web = container(deployments["genhub-web"], "web")
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["startupProbe"]["httpGet"]["path"] == "/healthz"
    for name, deployment in deployments.items():
        if "-worker-" not in name:
            continue
        worker = container(deployment, "worker")
        for probe in ("startupProbe", "readinessProbe"):
            command = worker[probe]["exec"]["command"]
            assert command[:3] == ["python", "manage.py", "worker_ready"], (name, probe)
            assert set(command[command.index("--queue") + 1].split(",")) <= consumed_queues(
                deployment
            )
        assert "livenessProbe" not in worker  # see the comment in workers.yaml
        # Scaling in must let the running job finish: longer than the job time limit.
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 1860


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_run_once_in_a_job_and_secrets_stay_out_of_git(overlay):
    rendered_manifests = manifests(overlay)
    job = rendered_manifests[("Job", "genhub-migrate")]
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command == ["python", "manage.py", "migrate", "--noinput"]
    assert not [key for key in rendered_manifests if key[0] == "Secret"]
    assert "SECRET_KEY" not in rendered(overlay) and "DATABASE_URL" not in rendered(overlay)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_carries_websockets_to_the_web_service(overlay):
    (ingress,) = of_kind(overlay, "Ingress").values()
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] in of_kind(overlay, "Service")
    # A job's socket may sit quiet for minutes while it waits in the queue.
    annotations = ingress["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600


def test_the_gpu_overlay_puts_workers_and_vllm_on_gpus():
    deployments = of_kind("gpu", "Deployment")
    for name in ("genhub-worker-text", "genhub-worker-image", "genhub-worker-audio", "genhub-vllm"):
        pod = deployments[name]["spec"]["template"]["spec"]
        (main,) = pod["containers"]
        assert main["resources"]["limits"]["nvidia.com/gpu"] == "1", name
        assert pod["nodeSelector"] and pod["tolerations"], name
    worker = container(deployments["genhub-worker-image"], "worker")
    assert worker["image"].endswith("-cuda")
    assert {"name": "GENHUB_DEVICE", "value": "cuda"} in worker["env"]
    engine = container(deployments["genhub-worker-engine"], "worker")
    assert "nvidia.com/gpu" not in engine["resources"].get("limits", {})
    assert engine["command"][engine["command"].index("-P") :][:4] == ["-P", "threads", "-c", "32"]
    # The engine model points at the vLLM Service.
    register = manifests("gpu")[("Job", "genhub-register-vllm")]
    env = environment("gpu", register["spec"]["template"]["spec"]["containers"][0])
    service = of_kind("gpu", "Service")["genhub-vllm"]
    assert env["VLLM_URL"] == f"http://genhub-vllm:{service['spec']['ports'][0]['port']}/v1"
    vllm_args = container(deployments["genhub-vllm"], "vllm")["args"]
    assert f"--served-model-name={env['VLLM_SERVED_MODEL']}" in vllm_args


def test_the_cpu_overlay_asks_for_no_gpu():
    assert "nvidia.com/gpu" not in rendered("cpu")
    assert "genhub-vllm" not in of_kind("cpu", "Deployment")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_there_is_a_service_monitor_for_the_web_metrics(overlay):
    (monitor,) = of_kind(overlay, "ServiceMonitor").values()
    service = of_kind(overlay, "Service")["genhub-web"]
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_worker_serves_its_metrics_and_a_pod_monitor_scrapes_it(overlay):
    (monitor,) = of_kind(overlay, "PodMonitor").values()
    selector = monitor["spec"]["selector"]
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    (components,) = [
        e["values"]
        for e in selector["matchExpressions"]
        if e["key"] == "app.kubernetes.io/component"
    ]
    workers = {name: d for name, d in of_kind(overlay, "Deployment").items() if "-worker-" in name}
    assert workers
    for worker in workers.values():
        labels = worker["spec"]["template"]["metadata"]["labels"]
        assert selector["matchLabels"].items() <= labels.items()
        assert labels["app.kubernetes.io/component"] in components
        spec = container(worker, "worker")
        ports = {p["name"]: p["containerPort"] for p in spec.get("ports", [])}
        env = environment(overlay, spec)
        assert ports[endpoint["port"]] == int(env["GENHUB_WORKER_METRICS_PORT"])
        # The pool processes' files live in a volume of the pod's own.
        mounts = {m["mountPath"]: m["name"] for m in spec["volumeMounts"]}
        volume = mounts[env["PROMETHEUS_MULTIPROC_DIR"]]
        volumes = {v["name"]: v for v in worker["spec"]["template"]["spec"]["volumes"]}
        assert "emptyDir" in volumes[volume]


# --- Docker -------------------------------------------------------------------------------


def compose_config(*files: str, profile: str | None = None) -> dict[str, Any]:
    if not COMPOSE.exists():
        pytest.skip(f"docker-compose is not installed: {NEEDS_TOOLS}")
    args = [str(COMPOSE), *(a for f in files for a in ("-f", f))]
    if profile:
        args += ["--profile", profile]
    result = subprocess.run(
        [*args, "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "lint-only"},
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_docker_compose_accepts_the_compose_file():
    services = compose_config("docker-compose.yml")["services"]
    assert {
        "web",
        "migrate",
        "worker-text",
        "worker-image",
        "worker-audio",
        "worker-engine",
        "redis",
        "postgres",
        "prometheus",
        "grafana",
    } <= set(services)
    assert services["vllm"]["profiles"] == ["gpu"]  # started only with --profile gpu
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    engine = services["worker-engine"]["command"]
    assert "-Q engine,webhooks" in engine and "-P threads -c 32" in engine
    for name in ("worker-text", "worker-image", "worker-audio", "worker-engine"):
        assert services[name]["healthcheck"]["test"][1:4] == ["python", "manage.py", "worker_ready"]
        assert "/models" in {v.split(":")[1] for v in services[name]["volumes"]}


def test_docker_compose_accepts_the_gpu_files_with_vllm():
    services = compose_config("docker-compose.yml", "docker-compose.gpu.yml", profile="gpu")[
        "services"
    ]
    assert {"vllm", "vllm-register"} <= set(services)
    for name in ("worker-text", "worker-image", "worker-audio", "vllm"):
        devices = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["capabilities"] == ["gpu"], name
    assert services["worker-image"]["build"]["target"] == "cuda"
    assert services["web"]["build"]["target"] == "cpu"
    assert "source_type='engine'" in " ".join(services["vllm-register"]["command"])


def test_the_dockerfile_has_cpu_and_cuda_targets_and_runs_as_a_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, re.MULTILINE)
    assert {"cpu", "cuda"} <= set(stages)
    for target in ("cpu", "cuda"):
        stage = dockerfile.split(f" AS {target}\n", 1)[1].split("\nFROM ", 1)[0]
        assert re.search(r"^USER genhub$", stage, re.MULTILINE), target
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var", ".env", "tests"} <= set(ignored)
