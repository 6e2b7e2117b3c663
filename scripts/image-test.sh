#!/usr/bin/env bash
# Builds the image and runs it as SageMaker does (`IMAGE serve`, the model mounted read-only at
# /opt/ml/model, the port published on 127.0.0.1 only), checks /ping and real answers through the
# container's port, then stops it and checks that SIGTERM was honoured (exit 0 or 143, not 137).
#   scripts/image-test.sh [IMAGE]        ENGINE=docker|podman as in scripts/image-engine.sh
# Works with podman (no daemon) and with Docker (`docker stop` is always given -t).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/image-engine.sh

image=${1:-localhost/hf-serving:cpu}
model=$PWD/tests/fixtures/tiny-qa
name=hf-serving-image-test-$$
hadolint=${HADOLINT:-.venv-deploy/bin/hadolint}
passed=0

check() {  # check DESCRIPTION COMMAND...: run it, count it, stop at the first failure
    if "${@:2}"; then passed=$((passed + 1)); echo "image-test: ok   $1"
    else echo "image-test: FAIL $1" >&2; echo "image-test: $passed passed, 1 failed" >&2; exit 1; fi
}

cleanup() { "$ENGINE" rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT

lint() {
    [ -x "$hadolint" ] || { echo "no hadolint at $hadolint: run make install-deploy" >&2; return 1; }
    "$hadolint" --failure-threshold error docker/Dockerfile docker/Dockerfile.gpu
}
check "hadolint (failure threshold: error) on docker/Dockerfile and docker/Dockerfile.gpu" lint

started=$(date +%s)
check "build $image" scripts/image-build.sh "$image"
build_s=$(( $(date +%s) - started ))

metadata() {
    local label mme ports entrypoint
    label=$("$ENGINE" image inspect --format \
        '{{index .Config.Labels "com.amazonaws.sagemaker.capabilities.accept-bind-to-port"}}' "$image")
    mme=$("$ENGINE" image inspect --format \
        '{{index .Config.Labels "com.amazonaws.sagemaker.capabilities.multi-models"}}' "$image")
    ports=$("$ENGINE" image inspect --format '{{json .Config.ExposedPorts}}' "$image")
    entrypoint=$("$ENGINE" image inspect --format '{{json .Config.Entrypoint}}' "$image")
    echo "labels accept-bind-to-port=$label multi-models=$mme, exposed $ports, entrypoint $entrypoint"
    [ "$label" = true ] && [ "$mme" = true ] && [[ $ports == *'"8080/tcp"'* ]] \
        && [ "$entrypoint" = '["/opt/hf-serving/entrypoint/serve"]' ]
}
check "labels, EXPOSE 8080 and exec-form ENTRYPOINT" metadata

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$ENGINE" run -d --name "$name" -p "127.0.0.1:$port:8080" -v "$model:/opt/ml/model:ro" "$image" serve >/dev/null
url=http://127.0.0.1:$port

wait_ready() {
    local deadline=$(( $(date +%s) + 180 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if [ "$("$ENGINE" inspect --format '{{.State.Running}}' "$name")" != true ]; then
            "$ENGINE" logs "$name" 2>&1 | tail -n 40 >&2; return 1
        fi
        python3 - "$url" <<'EOF' && return 0
import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen(sys.argv[1] + "/ping", timeout=2).status == 200 else 1)
except OSError:
    sys.exit(1)
EOF
        sleep 1
    done
    "$ENGINE" logs "$name" 2>&1 | tail -n 40 >&2
    return 1
}
started=$(date +%s)
check "/ping 200 through 127.0.0.1:$port" wait_ready
ready_s=$(( $(date +%s) - started ))

answers() {
    python3 - "$url" <<'EOF'
import json, sys, urllib.error, urllib.request

url = sys.argv[1]

def call(path, body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())

status, body = call("/ping")
assert (status, body) == (200, {"status": "ready"}), (status, body)
context = "The Eiffel Tower is a wrought-iron lattice tower in Paris, France."
status, body = call("/invocations", {"question": "Where is the Eiffel Tower?", "context": context})
assert status == 200 and set(body) == {"answer", "score", "start", "end"}, (status, body)
assert body["answer"] and context[body["start"]:body["end"]] == body["answer"], body
print("single:", body)
pairs = [{"question": "Who wrote Hamlet?", "context": "Hamlet is a tragedy written by William Shakespeare."},
         {"question": "What is the capital of Italy?", "context": "Rome is the capital of Italy."}]
status, body = call("/invocations", {"inputs": pairs})
assert status == 200 and isinstance(body, list) and len(body) == 2, (status, body)
for pair, answer in zip(pairs, body):
    assert pair["context"][answer["start"]:answer["end"]] == answer["answer"], answer
print("batch:", body)
status, body = call("/invocations", raw=b"{not json")
assert status == 400 and body["error"]["code"] == "bad_request", (status, body)
status, body = call("/execution-parameters")
assert status == 200 and body["MaxPayloadInMB"] == 6, (status, body)
EOF
}
check "answers through the container's port (single, batch, a 400, /execution-parameters)" answers

docs() {  # GET /docs: our page, the Swagger UI files fetched and checked at build time, the description written at start
    python3 - "$url" <<'EOF'
import json, sys, urllib.request

url = sys.argv[1]

def get(path):
    with urllib.request.urlopen(url + path, timeout=10) as response:
        return response.status, response.headers["Content-Type"], response.read()

status, content_type, page = get("/docs")
assert (status, content_type) == (200, "text/html; charset=utf-8") and b"docs/swagger-ui/swagger-ui-bundle.js" in page
status, content_type, bundle = get("/docs/swagger-ui/swagger-ui-bundle.js")
assert (status, content_type) == (200, "text/javascript; charset=utf-8") and len(bundle) > 1_000_000, len(bundle)
status, content_type, notice = get("/docs/swagger-ui/LICENSE")
assert status == 200 and b"Apache License" in notice, notice[:200]
status, content_type, described = get("/openapi.json")
document = json.loads(described)
assert (status, content_type) == (200, "application/json") and document["servers"][0]["url"] == ".", document
print(f"docs: /docs {len(page)} bytes, swagger-ui-bundle.js {len(bundle)} bytes, /openapi.json {len(document['paths'])} paths")
EOF
}
check "/docs (text/html), a Swagger UI file and /openapi.json, served by the image" docs

metrics() {  # /metrics inside the image: the edge's counts of the answers above and the worker's own series
    python3 - "$url" <<'EOF'
import re, sys, urllib.request

url = sys.argv[1]
request = urllib.request.Request(url + "/invocations", data=b'{"question": "Which port?", "context": "Port 8080."}',
                                 headers={"Content-Type": "application/json"})
with urllib.request.urlopen(request, timeout=30) as response:
    timing = response.headers["Server-Timing"]
assert re.fullmatch(r"queue;dur=[0-9.]+, tokenise;dur=[0-9.]+, inference;dur=[0-9.]+, encode;dur=[0-9.]+, "
                    r"total;dur=[0-9.]+", timing), timing
with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4"), response.headers
    text = response.read().decode()
answered = re.search(r'^hf_serving_requests_total\{route="/invocations",kind="inference",code="200",model="model"\} (\d+)',
                     text, re.M)
assert answered and int(answered.group(1)) >= 3, text[:2000]
assert re.search(r'^hf_serving_workers_ready\{model="model"\} 1\.0$', text, re.M), text[-3000:]
assert re.search(r'^hf_serving_stage_duration_seconds_count\{model="model",stage="inference",'
                 r'task="question-answering"\} ', text, re.M), text[-3000:]
print("metrics:", answered.group(0), "| server timing:", timing)
EOF
}
check "/metrics counts the answers and the worker's stages; Server-Timing on an answer" metrics

protocols() {  # the protocols' routes through the image: KServe v2's readiness at the edge, TEI's /tokenize and KServe
    # v2's /infer through the worker, OpenAI's /v1/embeddings refused in OpenAI's shape on this QA model
    python3 - "$url" <<'EOF'
import json, sys, urllib.error, urllib.request

url = sys.argv[1]

def call(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())

status, body = call("/v2/health/ready")
assert (status, body) == (200, {"ready": True}), (status, body)
status, body = call("/tokenize", {"inputs": "Port 8080"})
assert status == 200 and [token["text"] for token in body[0]][0] == "[CLS]", (status, body)
status, body = call("/v2/models/model/infer", {"inputs": [
    {"name": "question", "shape": [1], "datatype": "BYTES", "data": ["Which port?"]},
    {"name": "context", "shape": [1], "datatype": "BYTES", "data": ["The container listens on port 8080."]}]})
assert status == 200 and [output["name"] for output in body["outputs"]] == ["answer", "score", "start", "end"], body
status, body = call("/v1/embeddings", {"model": "m", "input": "x"})
assert status == 400 and body["error"]["param"] == "model" and body["error"]["type"] == "invalid_request_error", body
print("protocols: v2 ready, /tokenize, v2 infer;", body["error"]["message"][:60])
EOF
}
check "the protocols' routes (KServe v2 at the edge and in the worker, TEI's /tokenize, OpenAI's 400 in its shape)" protocols

explains() {  # "explain": true through the image: the explanation worker (float32 torch, Captum), as the non-root user
    python3 - "$url" <<'EOF'
import json, sys, urllib.request

url = sys.argv[1]
context = "The container listens on port 8080 for requests to /invocations."
body = {"inputs": {"question": "Which port?", "context": context}, "parameters": {"explain": True}}
texts = {"question": body["inputs"]["question"], "context": context}
for accept in ("application/json", "text/html"):
    request = urllib.request.Request(url + "/predict", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "Accept": accept})
    with urllib.request.urlopen(request, timeout=120) as response:
        status, content_type, answer = response.status, response.headers["Content-Type"], response.read()
    assert status == 200, (status, answer[:300])
    if accept == "text/html":
        assert content_type == "text/html; charset=utf-8" and answer.startswith(b"<!doctype html>"), answer[:200]
        continue
    found = json.loads(answer)
    start, end = found["explanation"]["targets"]
    assert (start["target"], end["target"]) == ("start", "end") and start["tokens"], found
    assert all(texts[t["field"]][t["start"]:t["end"]] == t["token"] for t in start["tokens"]), start["tokens"]
    print(f"explain: answer {found['answer']!r}, start delta {start['delta']:.2g} in {start['steps']} steps")
EOF
}
check "an explain request (and its page) answered by the explanation worker in the image" explains

non_root() {  # every process in the container: serve, nginx, Java and the Python workers
    local uids
    uids=$("$ENGINE" exec "$name" sh -c 'cat /proc/[0-9]*/status 2>/dev/null' | awk '/^Uid:/ {print $2}' | sort -u)
    echo "processes in the container run as uid(s): $(echo $uids)"
    [ -n "$uids" ] && ! grep -qx 0 <<<"$uids"
}
check "serve, nginx, the model server and its workers run as a non-root user" non_root

read_only() { ! "$ENGINE" exec "$name" sh -c 'touch /opt/ml/model/probe' 2>/dev/null; }
check "/opt/ml/model is read-only inside the container" read_only

decoder_fix() {  # MMS's fixed response decoder (launcher/java), compiled at build time, first on Java's class path
    local cmdlines  # read whole first: grep -q closing the pipe early would fail the pipeline (pipefail)
    cmdlines=$("$ENGINE" exec "$name" sh -c 'for f in /proc/[0-9]*/cmdline; do tr "\0" " " < "$f"; echo; done')
    grep -q -- "-cp /opt/hf-serving/container/hf_serving/launcher/java/classes:" <<<"$cmdlines"
}
check "the model server runs with the fixed response decoder built into the image" decoder_fix

stopped() {
    "$ENGINE" stop -t 20 "$name" >/dev/null
    local code
    code=$("$ENGINE" inspect --format '{{.State.ExitCode}}' "$name")
    "$ENGINE" logs "$name" 2>&1 | tail -n 4
    echo "exit code after SIGTERM: $code"
    [ "$code" = 0 ] || [ "$code" = 143 ]
}
check "SIGTERM honoured (exit 0 or 143, not 137)" stopped

# A multi-model endpoint, as SageMaker runs one: SAGEMAKER_MULTI_MODEL=true, no model at start, the models'
# directories under /opt/ml/models (read-only), each loaded by POST /models. Two tasks: QA and sentiment.
models=$(mktemp -d)
mme_name=$name-mme
trap 'cleanup; "$ENGINE" rm -f "$mme_name" >/dev/null 2>&1 || true; rm -rf "$models"' EXIT
mkdir -p "$models/qa" "$models/sentiment"
cp -r "$model" "$models/qa/model"
.venv/bin/python -m hf_serving demo-model --task text-classification --labels sentiment --size tiny \
    -o "$models/sentiment/model" >/dev/null
chmod -R a+rX "$models"
mme_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$ENGINE" run -d --name "$mme_name" -p "127.0.0.1:$mme_port:8080" -e SAGEMAKER_MULTI_MODEL=true \
    -v "$models:/opt/ml/models:ro" "$image" serve >/dev/null
name=$mme_name url=http://127.0.0.1:$mme_port check "multi-model: /ping 200 with no model" wait_ready

multi_model() {
    python3 - "http://127.0.0.1:$mme_port" <<'EOF'
import json, sys, urllib.error, urllib.request

url = sys.argv[1]

def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())

assert call("GET", "/models") == (200, {"models": [], "nextPageToken": None})
for name in ("qa", "sentiment"):
    status, body = call("POST", "/models", {"model_name": name, "url": f"/opt/ml/models/{name}/model"})
    assert status == 200 and body["status"] == "ready", (status, body)
    print(f"loaded {name} in {body['loadSeconds']} s: {body['loaded']}")
context = "The Eiffel Tower is a wrought-iron lattice tower in Paris, France."
status, body = call("POST", "/models/qa/invoke", {"question": "Where is the Eiffel Tower?", "context": context})
assert status == 200 and body["answer"] and context[body["start"]:body["end"]] == body["answer"], (status, body)
status, body = call("POST", "/models/sentiment/invoke", {"inputs": "What a lovely day."})
assert status == 200 and body[0]["label"] in ("NEGATIVE", "POSITIVE"), (status, body)
assert call("POST", "/models", {"model_name": "qa", "url": "/opt/ml/models/qa/model"})[0] == 409
assert call("DELETE", "/models/qa") == (200, {"status": "model 'qa' unloaded"})
status, body = call("POST", "/models/qa/invoke", {"question": "Where?", "context": context})
assert status == 404 and body["error"]["code"] == "model_not_found", (status, body)
assert [m["modelName"] for m in call("GET", "/models")[1]["models"]] == ["sentiment"]
print("multi-model: two tasks loaded, answered, one unloaded")
EOF
}
check "multi-model: load two models of two tasks, answer, 409, unload, 404" multi_model

# A CPU quota, as `docker run --cpus=1` or a pod's CPU limit sets it: the host's cores stay schedulable (affinity),
# only the CFS quota limits the container, and the stack must size its threads from the quota, not the cores.
quota_name=$name-quota
# One name per `rm -f`: podman 4.3 given a name that is already gone removes none of the others.
trap 'cleanup; for c in "$mme_name" "$quota_name"; do "$ENGINE" rm -f "$c" >/dev/null 2>&1 || true; done
      rm -rf "$models"' EXIT
quota_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$ENGINE" run -d --name "$quota_name" --cpus=1 -p "127.0.0.1:$quota_port:8080" -v "$model:/opt/ml/model:ro" \
    "$image" serve >/dev/null
name=$quota_name url=http://127.0.0.1:$quota_port check "--cpus=1: /ping 200" wait_ready

sized_by_quota() {
    local banner environ
    banner=$("$ENGINE" logs "$quota_name" 2>&1 | grep -E "cores: |torch threads per worker" || true)
    echo "$banner"
    # What the workers really got: OMP_NUM_THREADS in each Python worker's environment.
    environ=$("$ENGINE" exec "$quota_name" sh -c \
        'for f in /proc/[0-9]*/environ; do tr "\0" "\n" < "$f" 2>/dev/null | grep "^OMP_NUM_THREADS="; done' | sort -u)
    echo "workers' environment: $(echo $environ)"
    grep -q "cores: 1 (CPU quota 1 CPUs, cgroup v[12] " <<<"$banner" \
        && grep -q "torch threads per worker: 1," <<<"$banner" && [ "$environ" = OMP_NUM_THREADS=1 ] \
        && python3 - "http://127.0.0.1:$quota_port" <<'EOF'
import json, sys, urllib.request
context = "The Eiffel Tower is a wrought-iron lattice tower in Paris, France."
request = urllib.request.Request(sys.argv[1] + "/invocations", headers={"Content-Type": "application/json"},
                                 data=json.dumps({"question": "Where is it?", "context": context}).encode())
with urllib.request.urlopen(request, timeout=30) as response:
    body = json.loads(response.read())
assert response.status == 200 and context[body["start"]:body["end"]] == body["answer"], body
print("answer under the quota:", body)
EOF
}
check "--cpus=1: sized from the CPU quota (banner, workers' OMP_NUM_THREADS=1) and answers" sized_by_quota
"$ENGINE" rm -f "$quota_name" >/dev/null

check "the Kubernetes manifests under podman kube play (scripts/image-test-kube.sh)" scripts/image-test-kube.sh "$image"
size=$("$ENGINE" image inspect --format '{{.Size}}' "$image")
echo "image-test: $image is $((size / 1000000)) MB; build ${build_s} s, ready ${ready_s} s after start ($ENGINE)"
echo "image-test: $passed passed, 0 failed"
