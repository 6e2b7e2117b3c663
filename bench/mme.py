"""make bench-mme: multi-model endpoints, ours against AWS's Hugging Face toolkit on multi-model-server (peer (a)),
one server at a time, on copies of the same full-size DistilBERT sentiment classifier (random weights).

For each server, started with SAGEMAKER_MULTI_MODEL=true and no model:
* models are loaded one by one (POST /models, as SageMaker sends it) until a 507 or the cap; after each load the
  memory of the server's whole process tree is read as the sum of proportional set sizes (a page shared by n
  processes counts 1/n each: what the machine really holds), and the time from POST to its 200 is kept (each
  model is a copy of the files of its own, in the page cache: the copying put it there);
* then, with every model loaded, invocations of one model, one at a time (latency p50/p99), against ours in
  single-model mode on the same model;
* ours only: the same model's latency under load (2 clients) while another model is loaded and unloaded, three
  times, against the same load without that churn (the isolation of issue 15).

    .venv/bin/python -m bench.mme [--cap 8] [--out bench/results] [--name mme-latest]
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import payloads
from bench.loadgen import percentile
from bench.run import machine_meta
from bench.servers import MODEL_DIRS, ROOT, RunningServer, ServerSpec, server_spec

MODEL = "clf"  # build/demo-sentiment: DistilBERT-base size, 66 M parameters, float32 weights (255 MB)
SEQUENTIAL_REQUESTS = 300
CHURN_ROUNDS = 3
MIB = 2**20


def request(
    port: int, method: str, path: str, body: bytes | None = None, timeout_s: float = 400.0
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def tree_pss_bytes(server: RunningServer) -> int:
    total = 0
    for info in server.tree.processes():
        try:
            total += psutil.Process(info.pid).memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def model_copies(work_dir: Path, count: int) -> list[Path]:
    """`count` model directories, each a copy of the model's files: a model per customer is that many files of
    weights, in page cache once each (links to one file would share its pages and flatter every server)."""
    directories = []
    for index in range(count):
        copy = work_dir / "models" / f"m{index}" / "model"
        if not (copy / "config.json").exists():
            shutil.copytree(MODEL_DIRS[MODEL].resolve(), copy, dirs_exist_ok=True)
        directories.append(copy)
    return directories


def sequential_latencies(port: int, path: str, body: bytes, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        began = time.perf_counter()
        status, payload = request(port, "POST", path, body, timeout_s=60)
        if status != 200:
            raise RuntimeError(f"{path}: {status} {payload[:200]!r}")
        latencies.append((time.perf_counter() - began) * 1000)
    return latencies


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
    }


class Traffic(threading.Thread):
    """Two clients invoking one model in a closed loop until stopped; every latency and status kept."""

    def __init__(self, port: int, path: str, body: bytes) -> None:
        super().__init__(daemon=True)
        self.port, self.path, self.body = port, path, body
        self.latencies: list[float] = []
        self.statuses: list[int] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        workers = [threading.Thread(target=self._loop, daemon=True) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            began = time.perf_counter()
            status, _ = request(self.port, "POST", self.path, self.body, timeout_s=60)
            self.statuses.append(status)
            if status == 200:
                self.latencies.append((time.perf_counter() - began) * 1000)


def measure_server(spec: ServerSpec, cap: int, body: bytes, work_dir: Path, with_churn: bool) -> dict[str, Any]:
    log = work_dir / f"{spec.key}-mme.log"
    server = RunningServer(spec, MODEL, work_dir / spec.key, log)
    result: dict[str, Any] = {"server": spec.label, "description": spec.description, "log": str(log)}
    try:
        result["ping_s"] = round(server.wait_ping(), 2)
        time.sleep(3.0)  # let start-up work (the zygote's imports, Java's warm-up) settle before the baseline
        base = tree_pss_bytes(server)
        result["base_pss_mb"] = round(base / MIB)
        loads, previous = [], base
        for index, directory in enumerate(model_copies(work_dir, cap)):
            began = time.perf_counter()
            status, payload = request(
                server.port, "POST", "/models", json.dumps({"model_name": f"m{index}", "url": str(directory)}).encode()
            )
            load_s = time.perf_counter() - began
            if status != 200:
                result["stopped_by"] = f"load {index}: {status} {payload[:300].decode(errors='replace')}"
                break
            check, answer = request(server.port, "POST", f"/models/m{index}/invoke", body, timeout_s=60)
            if check != 200:
                result["stopped_by"] = f"invoke m{index}: {check} {answer[:300]!r}"
                break
            time.sleep(1.0)
            now = tree_pss_bytes(server)
            loads.append(
                {
                    "model": f"m{index}",
                    "load_s": round(load_s, 2),
                    "pss_mb": round(now / MIB),
                    "added_mb": round((now - previous) / MIB),
                }
            )
            previous = now
        else:
            result["stopped_by"] = f"the cap ({cap} models)"
        result["loads"] = loads
        if len(loads) > 1:
            result["mb_per_additional_model"] = round((previous - base) / MIB / len(loads))
        if loads:
            result["invoke_loaded"] = summary(
                sequential_latencies(server.port, "/models/m0/invoke", body, SEQUENTIAL_REQUESTS)
            )
        if with_churn and len(loads) >= 2:
            result["isolation"] = isolation(server.port, body, work_dir, len(loads))
    finally:
        result["stop"] = server.stop()
    return result


def isolation(port: int, body: bytes, work_dir: Path, loaded: int) -> dict[str, Any]:
    """m0's latency under load, first alone, then while another model is loaded and unloaded three times."""
    path = "/models/m0/invoke"
    steady = Traffic(port, path, body)
    steady.start()
    time.sleep(10.0)
    steady.stop_event.set()
    steady.join()
    churn_dir = model_copies(work_dir, loaded + 1)[-1]
    churning = Traffic(port, path, body)
    churning.start()
    began = time.perf_counter()
    for _ in range(CHURN_ROUNDS):
        status, payload = request(
            port, "POST", "/models", json.dumps({"model_name": "churn", "url": str(churn_dir)}).encode()
        )
        if status != 200:
            raise RuntimeError(f"churn load: {status} {payload[:200]!r}")
        status, payload = request(port, "DELETE", "/models/churn")
        if status != 200:
            raise RuntimeError(f"churn unload: {status} {payload[:200]!r}")
    churn_s = time.perf_counter() - began
    churning.stop_event.set()
    churning.join()
    return {
        "steady": {**summary(steady.latencies), "statuses": sorted(set(steady.statuses))},
        "during_churn": {
            **summary(churning.latencies),
            "statuses": sorted(set(churning.statuses)),
            "churn_s": round(churn_s, 1),
        },
        "p99_ratio": round(percentile(churning.latencies, 99) / percentile(steady.latencies, 99), 2),
    }


def single_model_latency(body: bytes, work_dir: Path) -> dict[str, Any]:
    spec = server_spec("ours")
    server = RunningServer(spec, MODEL, work_dir / "ours-single", work_dir / "ours-single.log")
    try:
        server.wait_first_answer(body)
        return summary(sequential_latencies(server.port, "/invocations", body, SEQUENTIAL_REQUESTS))
    finally:
        server.stop()


def mme_spec(key: str) -> ServerSpec:
    base = server_spec(key)
    return ServerSpec(
        base.key,
        base.label,
        base.description,
        base.models,
        base.venv,
        base.in_pid_namespace,
        env=(*base.env, ("SAGEMAKER_MULTI_MODEL", "true")),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="ours,aws")
    parser.add_argument("--cap", type=int, default=8, help="the most models loaded per server")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--name", default="mme-latest")
    args = parser.parse_args(argv)
    work_dir = ROOT / "build" / "bench-mme"
    work_dir.mkdir(parents=True, exist_ok=True)
    body = payloads.build(MODEL_DIRS)["clf60"].body
    meta = machine_meta()
    results: dict[str, Any] = {
        "host": f"{meta['cpu']}, {meta['cores']} cores",
        "machine": meta,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cap": args.cap,
        "model": str(MODEL_DIRS[MODEL]),
        "servers": [],
    }
    for key in args.servers.split(","):
        print(f"bench-mme: {key}", flush=True)
        results["servers"].append(measure_server(mme_spec(key), args.cap, body, work_dir, with_churn=key == "ours"))
    print("bench-mme: ours, single-model mode", flush=True)
    results["ours_single_model"] = single_model_latency(body, work_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / f"{args.name}.md").write_text(render(results))
    print((args.out / f"{args.name}.md").read_text())
    return 0


def render(results: dict[str, Any]) -> str:
    lines = [
        f"# Multi-model endpoints: ours against AWS's HF toolkit ({results['date']})",
        "",
        f"Host: {results['host']}. Model: {results['model']} (random weights), one copy of its files per "
        f"model; the cap is {results['cap']} models per server. Memory is the proportional set size of the "
        "server's whole process tree.",
        "",
        "| server | base MB | models loaded | MB per additional model | load s (first, median) | stopped by |",
        "|---|---|---|---|---|---|",
    ]
    for server in results["servers"]:
        loads = server.get("loads", [])
        times = sorted(load["load_s"] for load in loads)
        median = times[len(times) // 2] if times else float("nan")
        first = loads[0]["load_s"] if loads else float("nan")
        lines.append(
            f"| {server['server']} | {server.get('base_pss_mb')} | {len(loads)} | "
            f"{server.get('mb_per_additional_model', '-')} | {first}, {median} | {server.get('stopped_by')} |"
        )
    lines += ["", "Invocation latency, one request at a time (ms):", "", "| server | p50 | p99 |", "|---|---|---|"]
    for server in results["servers"]:
        if "invoke_loaded" in server:
            latency = server["invoke_loaded"]
            lines.append(
                f"| {server['server']}, multi-model, all models loaded | {latency['p50_ms']} | {latency['p99_ms']} |"
            )
    single = results["ours_single_model"]
    lines.append(f"| ours, single-model mode | {single['p50_ms']} | {single['p99_ms']} |")
    for server in results["servers"]:
        if "isolation" in server:
            iso, steady, churn = server["isolation"], server["isolation"]["steady"], server["isolation"]["during_churn"]
            lines += [
                "",
                f"Isolation ({server['server']}): m0 under 2 clients, p99 {steady['p99_ms']} ms steady "
                f"(statuses {steady['statuses']}), {churn['p99_ms']} ms while another model was loaded and "
                f"unloaded {CHURN_ROUNDS} times in {churn['churn_s']} s (statuses {churn['statuses']}): "
                f"ratio {iso['p99_ratio']}.",
            ]
    lines += ["", "Per load (model, seconds from POST /models to its 200, tree PSS MB after it, MB it added):", ""]
    for server in results["servers"]:
        lines.append(
            f"- {server['server']}: "
            + "; ".join(
                f"{load['model']} {load['load_s']} s, {load['pss_mb']} MB (+{load['added_mb']})"
                for load in server.get("loads", [])
            )
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
