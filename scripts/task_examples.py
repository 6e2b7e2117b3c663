"""Every task page's request and answer (docs/tasks/, and one each in the README), produced as `make serve`
produces them: entrypoint/serve on each demo model in turn (its default engine and dtype), each request sent with
curl's flags shown and the answer printed as the server sent it.

    .venv/bin/python scripts/task_examples.py > build/task-examples.md     # after `make demo-models`

A demo model whose directory is missing is skipped with a line saying so.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
START_DEADLINE_S = 300.0

# (model directory, extra environment, [(path, body), ...])
EXAMPLES: list[tuple[str, dict[str, str], list[tuple[str, object]]]] = [
    (
        "build/demo-sentiment-trained",
        {},
        [
            ("/invocations", {"inputs": "The hotel was dreadful."}),
            ("/invocations", {"text": "The staff were friendly.", "text_pair": "We would stay again."}),
        ],
    ),
    (
        "build/demo-ner-trained",
        {},
        [
            (
                "/invocations",
                {"inputs": "Maria Garcia lives in Berlin.", "parameters": {"aggregation_strategy": "simple"}},
            ),
            ("/invocations", {"inputs": "Maria Garcia lives in Berlin."}),
            (
                "/invocations",
                {
                    "inputs": ["Kwame Mensah works at Northwind Traders in Tokyo.", "The weather was nice today."],
                    "parameters": {"aggregation_strategy": "first"},
                },
            ),
        ],
    ),
    (
        "build/demo-nli",
        {},
        [  # its README.md says pipeline_tag: zero-shot-classification
            (
                "/invocations",
                {
                    "inputs": "The striker scored twice in the final.",
                    "parameters": {"candidate_labels": ["sports", "politics", "cooking"]},
                },
            ),
            (
                "/invocations",
                {
                    "inputs": ["Parliament passed the budget.", "Add the eggs one at a time."],
                    "parameters": {"candidate_labels": "politics, cooking", "multi_label": True},
                },
            ),
        ],
    ),
    (
        "build/demo-fill-mask-trained",
        {},
        [
            ("/invocations", {"inputs": "Paris is the [MASK] of France.", "parameters": {"top_k": 2}}),
            ("/invocations", {"inputs": "I drink [MASK] every morning.", "parameters": {"targets": ["coffee", "tea"]}}),
            (
                "/invocations",
                {"inputs": ["A doctor works in a [MASK].", "A young cat is a [MASK]."], "parameters": {"top_k": 1}},
            ),
        ],
    ),
    (
        "build/demo-fill-mask",
        {},
        [
            ("/invocations", {"inputs": "Paris is the [MASK] of France.", "parameters": {"top_k": 2}}),
        ],
    ),
    (
        "build/demo-reranker",
        {},
        [
            (
                "/invocations",
                {
                    "inputs": {
                        "query": "What is the capital of France?",
                        "texts": [
                            "Paris is the capital of France.",
                            "Berlin is in Germany.",
                            "The Eiffel Tower is in Paris.",
                        ],
                    },
                    "parameters": {"return_text": True},
                },
            ),
            (
                "/invocations",
                {
                    "query": "What is the capital of France?",
                    "texts": ["Paris is the capital of France.", "Berlin is in Germany."],
                    "raw_scores": True,
                },
            ),
        ],
    ),
    (
        "build/demo-embeddings",
        {},
        [
            (
                "/invocations",
                {
                    "inputs": {
                        "source_sentence": "A man is eating food.",
                        "sentences": ["A man is eating bread.", "A woman plays the violin."],
                    }
                },
            ),
        ],
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(model_dir: Path, env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "SERVE_", "MODEL_"))}
    environment.update(
        HF_MODEL_DIR=str(model_dir), SAGEMAKER_BIND_TO_PORT=str(port), SERVE_BIND_ADDRESS="127.0.0.1", **env
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(ROOT / "entrypoint" / "serve")],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited {process.returncode}: see {log_path}")
        try:
            if requests.get(f"{url}/ping", timeout=2).status_code == 200:
                return process, url
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"not ready in {START_DEADLINE_S:.0f} s: see {log_path}")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, 15)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="task-examples-"))
    for directory, env, requests_to_send in EXAMPLES:
        model_dir = ROOT / directory
        if not model_dir.is_dir():
            print(f"(skipped {directory}: not built)\n")
            continue
        settings = " ".join(f"{key}={value}" for key, value in env.items())
        print(f"From `make serve MODEL_DIR={directory}{' ' + settings if settings else ''}`:\n\n```")
        process, url = serve(model_dir, env, work / f"{model_dir.name}.log")
        try:
            for path, body in requests_to_send:
                text = json.dumps(body, ensure_ascii=False)
                answer = requests.post(
                    f"{url}{path}", data=text.encode(), timeout=60, headers={"Content-Type": "application/json"}
                )
                print(f"$ curl -s localhost:8080{path} -H 'Content-Type: application/json' -d '{text}'")
                print(answer.text.rstrip("\n"))
                print()
        finally:
            stop(process)
        print("```\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
