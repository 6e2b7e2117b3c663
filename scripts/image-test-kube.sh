#!/usr/bin/env bash
# The Kubernetes manifests, run for real: renders deploy/kubernetes/overlays/dev with a test layer on top (the model
# archive from tests/fixtures/tiny-qa on a hostPath, the port published on 127.0.0.1), runs the Deployment's pod with
# `podman kube play` (init container unpacking model.tar.gz, emptyDirs, read-only root, uid 1000, the ConfigMap and
# the Secret), checks /ping, an answer and the API key, then stops the pod as the kubelet does while 12 slow requests are in
# flight: every one must be answered 200, the server gone within terminationGracePeriodSeconds; then `podman kube down`.
#   scripts/image-test-kube.sh [IMAGE]       (the end of scripts/image-test.sh; podman only: Docker has no kube play)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/image-engine.sh

image=${1:-localhost/hf-serving:cpu}
work=build/kube-test
kubectl=.venv/bin/kubectl
[ -x "$kubectl" ] || kubectl=$(command -v kubectl)
passed=0

check() {  # check DESCRIPTION COMMAND...: as in scripts/image-test.sh
    if "${@:2}"; then passed=$((passed + 1)); echo "image-test-kube: ok   $1"
    else echo "image-test-kube: FAIL $1" >&2; echo "image-test-kube: $passed passed, 1 failed" >&2; exit 1; fi
}

if [ "$ENGINE" != podman ]; then
    echo "image-test-kube: skipped: podman kube play needs ENGINE=podman (this run: $ENGINE)"
    exit 0
fi

# A pod's infra container is built locally from catatonit (no registry here), which scripts/podman-setup.sh installs.
if ! command -v catatonit >/dev/null && [ ! -x /usr/libexec/podman/catatonit ]; then
    echo "image-test-kube: no catatonit (podman's pod infra container): run scripts/podman-setup.sh" >&2
    exit 1
fi

rm -rf "$work"
mkdir -p "$work/archive"
.venv/bin/python -m hf_serving package tests/fixtures/tiny-qa -o "$work/archive/model.tar.gz" >/dev/null
chmod -R a+rX "$work"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/kustomization.yaml" <<EOF
# Written by scripts/image-test-kube.sh: the dev overlay, the image under test, the archive on a hostPath.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../deploy/kubernetes/overlays/dev
images:
  - name: localhost/hf-serving
    newName: ${image%:*}
    newTag: ${image##*:}
patches:
  - patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: hf-serving
        annotations:
          io.podman.annotations.init.container.type: always
      spec:
        template:
          metadata:
            annotations:
              # podman 4.3 tries to remove a "once" init container before it has exited: keep it instead.
              io.podman.annotations.init.container.type: always
          spec:
            containers:
              - name: hf-serving
                ports:
                  - {name: http, containerPort: 8080, hostPort: $port, hostIP: 127.0.0.1, protocol: TCP}
            volumes:
              - name: model-archive
                persistentVolumeClaim: null
                hostPath: {path: $PWD/$work/archive, type: Directory}
EOF

render() {  # what podman kube play takes of it: the Deployment, its ConfigMap and Secret (not Service, not HPA)
    "$kubectl" kustomize "$work" >"$work/rendered.yaml" || return 1
    .venv/bin/python - "$work" "$image" <<'EOF'
import base64, json, sys, yaml
work, image = sys.argv[1:]
docs = [d for d in yaml.safe_load_all(open(f"{work}/rendered.yaml")) if d]
kept = [d for d in docs if d["kind"] in ("Deployment", "ConfigMap", "Secret")]
assert {d["kind"] for d in kept} == {"Deployment", "ConfigMap", "Secret"}, [d["kind"] for d in docs]
spec = next(d for d in kept if d["kind"] == "Deployment")["spec"]["template"]["spec"]
assert all(c["image"] == image for c in spec["containers"] + spec["initContainers"]), spec
secret = next(d for d in kept if d["kind"] == "Secret")
# podman 4.3 (Debian bookworm's) stores a Secret of the YAML in a form its own secretRef cannot read back ("not valid
# JSON"), and cannot read one made by `podman secret create` either: here the Secret travels as a ConfigMap of the same
# name and the same values, and envFrom's secretRef becomes a configMapRef. Kubernetes itself reads the Secret.
values = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
kept[kept.index(secret)] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": secret["metadata"], "data": values}
for container in spec["containers"]:
    for source in container.get("envFrom", []):
        if "secretRef" in source:
            source["configMapRef"] = source.pop("secretRef")
yaml.safe_dump_all(kept, open(f"{work}/pod.yaml", "w"))
open(f"{work}/api-key", "w").write(values["SERVE_API_KEY"])
print(f"rendered: {', '.join(d['kind'] for d in kept)}; grace {spec['terminationGracePeriodSeconds']} s")
EOF
}
check "kubectl kustomize $work (overlays/dev + the test layer)" render
grace=$(.venv/bin/python -c 'import sys, yaml; print(next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d["kind"] == "Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"])' "$work/pod.yaml")

podman kube down "$work/pod.yaml" >/dev/null 2>&1 || true
trap 'podman kube down "$work/pod.yaml" >/dev/null 2>&1 || true' EXIT
play() {  # its output has harmless systemd errors (no systemd here to run podman's healthcheck timers): kept aside
    podman kube play "$work/pod.yaml" >"$work/play.log" 2>&1 || { cat "$work/play.log" >&2; return 1; }
}
check "podman kube play (the init container unpacks model.tar.gz)" play
container=$(podman ps -a --format '{{.Names}}' | grep -E -- '^hf-serving-pod(-[0-9]+)?-hf-serving$')
url=http://127.0.0.1:$port

wait_ready() {
    local deadline=$(( $(date +%s) + 180 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if [ "$(podman inspect --format '{{.State.Running}}' "$container")" != true ]; then
            podman logs "$container" 2>&1 | tail -n 40 >&2; return 1
        fi
        python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/ping", timeout=2)' "$url" \
            2>/dev/null && return 0
        sleep 1
    done
    podman logs "$container" 2>&1 | tail -n 40 >&2
    return 1
}
check "/ping 200 through the hostPort 127.0.0.1:$port" wait_ready

confined() {  # the securityContext as podman applied it
    local uids
    uids=$(podman exec "$container" sh -c 'cat /proc/[0-9]*/status 2>/dev/null' | awk '/^Uid:/ {print $2}' | sort -u)
    echo "uids: $(echo $uids); read-only root: $(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$container")"
    [ "$uids" = 1000 ] || return 1
    ! podman exec "$container" touch /opt/hf-serving/probe 2>/dev/null || return 1
    ! podman exec "$container" touch /opt/ml/model/probe 2>/dev/null || return 1
    podman exec "$container" sh -c 'touch /tmp/probe /home/model-server/probe && rm /tmp/probe /home/model-server/probe'
}
check "runs as uid 1000 with a read-only root and model; /tmp and \$HOME writable" confined

answers() {
    python3 - "$url" "$(cat "$work/api-key")" <<'EOF'
import json, sys, urllib.error, urllib.request
url, key = sys.argv[1:]
context = "The Eiffel Tower is a wrought-iron lattice tower in Paris, France."
body = json.dumps({"question": "Where is the Eiffel Tower?", "context": context}).encode()
def call(headers):
    request = urllib.request.Request(url + "/invocations", data=body, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
status, answer = call({"X-Api-Key": key})
assert status == 200 and set(answer) == {"answer", "score", "start", "end"}, (status, answer)
assert answer["answer"] and context[answer["start"]:answer["end"]] == answer["answer"], answer
status, refused = call({})
assert status == 401 and refused["error"]["code"] == "unauthorized", (status, refused)
print("answer:", answer, "| without the Secret's key:", status)
EOF
}
check "an answer from /invocations with the Secret's API key; 401 without it" answers

# What the kubelet does to a pod it deletes: SIGTERM to the app container (after preStop, which podman does not run),
# SIGKILL once terminationGracePeriodSeconds have passed, the sandbox last. podman 4.3's `kube down` alone is not
# that: it stops every container of the pod at once, the infra container holding the network too (open connections
# are cut at once: 11 of 12 requests lost when tried), and waits 10 s, not the grace period. So the server container
# is stopped first with the pod's grace period, then `kube down` removes the rest.
drain() {  # 12 slow requests in flight, then the stop: all answered, the container gone within the grace period
    python3 - "$url" "$(cat "$work/api-key")" "$work/pod.yaml" "$grace" "$container" <<'EOF'
import json, subprocess, sys, threading, time, urllib.error, urllib.request
url, key, pod_yaml, grace, container = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
context = " ".join(f"Sentence {i} says that the tower stands in Paris, France, near the river." for i in range(2000))
body = json.dumps({"question": "Where does the tower stand?", "context": context}).encode()
results, started = [], threading.Barrier(13)
def call():
    request = urllib.request.Request(url + "/invocations", data=body,
                                     headers={"Content-Type": "application/json", "X-Api-Key": key})
    started.wait()
    began = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
            ok = context[answer["start"]:answer["end"]] == answer["answer"]
            results.append((response.status if ok else -1, time.monotonic() - began))
    except urllib.error.HTTPError as error:
        results.append((error.code, time.monotonic() - began))
    except OSError as error:
        results.append((repr(error), time.monotonic() - began))
threads = [threading.Thread(target=call) for _ in range(12)]
for thread in threads:
    thread.start()
started.wait()
time.sleep(1.0)  # all 12 sent and in the server
stop_began = time.monotonic()
stop = subprocess.run(["podman", "stop", "-t", f"{grace:.0f}", container], capture_output=True, text=True)
stopped_s = time.monotonic() - stop_began
exit_code = subprocess.run(["podman", "inspect", "--format", "{{.State.ExitCode}}", container],
                           capture_output=True, text=True).stdout.strip()
down = subprocess.run(["podman", "kube", "down", pod_yaml], capture_output=True, text=True)
for thread in threads:
    thread.join()
statuses = sorted(str(status) for status, _ in results)
slowest = max(seconds for _, seconds in results)
print(f"in flight at SIGTERM: 12; answered: {statuses}; slowest request {slowest:.1f} s; "
      f"the server stopped in {stopped_s:.1f} s (grace {grace:.0f} s), exit {exit_code}; kube down rc {down.returncode}")
assert stop.returncode == 0 and down.returncode == 0, (stop.stderr, down.stderr)
assert exit_code in ("0", "143"), exit_code
assert statuses == ["200"] * 12, statuses
assert slowest > 1.0, "the requests were not in flight when the pod was stopped: make them slower"
assert stopped_s < grace, stopped_s
EOF
}
check "stopped (SIGTERM, grace period) with 12 requests in flight: all answered 200, exit 0 within the grace; kube down" drain

echo "image-test-kube: $passed passed, 0 failed"
