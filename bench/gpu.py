"""The GPU benchmark of issue 6: model-only seq/s next to the whole stack's req/s and p99, on one GPU.

Three measurements on the same full-size demo model (random weights) and the same ~380-token QA request:
1. model only: the served model's forward pass on the GPU, as model_fn loads it, at 384 tokens and several
   batch sizes, per dtype (bfloat16, float16): the ceiling.
2. hooks in-process: the default predict_fn on a batch of N decoded requests (tokenisation, the forward pass,
   span decoding), no server: what one model-server worker can do at best.
3. end to end: entrypoint/serve (nginx -> multi-model-server -> one worker per GPU), a closed loop at each
   concurrency (1, 16, 64 by default) with the client spread over several processes, for each variant of
   the settings given (the first is the default configuration).

Writes NAME.json and NAME.md under --out. Needs a CUDA GPU, java and nginx (bench/README.md, "GPU"), and
hf_serving importable (the project's venv has it installed editable; another Python needs PYTHONPATH=container,
which the servers it starts inherit). From the repository root:

    python -m bench.gpu --seconds 15 --variants 'default,MODEL_SERVER_BATCH_SIZE=64'
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bench import payloads
from bench.loadgen import percentile, run_closed_loop_processes
from bench.run import cell_record
from bench.servers import MODEL_DIRS, ROOT, SERVERS, RunningServer, ServerSpec, server_spec

SEQ_LEN = 384


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIRS["qa"])
    parser.add_argument("--dtypes", default="bfloat16,float16", help="model-only dtypes")
    parser.add_argument("--batch-sizes", default="1,16,64,256", help="model-only batch sizes")
    parser.add_argument("--hook-batches", default="1,64", help="in-process predict_fn batch sizes")
    parser.add_argument(
        "--variants", default="default", help="comma-separated; each 'default' or K=V;K=V settings of our server"
    )
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--client-processes", type=int, default=8, help="processes of the load generator")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--parts", default="model,hooks,e2e", help="which of model,hooks,e2e to run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--name", default="gpu-latest")
    args = parser.parse_args(argv)
    args.dtypes = [d for d in args.dtypes.split(",") if d]
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    args.hook_batches = [int(b) for b in args.hook_batches.split(",")]
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.variants = args.variants.split(",")
    args.parts = set(args.parts.split(","))
    return args


def gpu_meta() -> dict:
    import torch

    try:
        gpu = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except FileNotFoundError:
        gpu = "no GPU: a smoke run on the CPU" if not torch.cuda.is_available() else torch.cuda.get_device_name()
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.partition(":")[2].strip() for line in cpuinfo if line.startswith("model name")), "")
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "started_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "gpu": gpu,
        "torch": torch.__version__,
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "commit": commit or "unknown",
    }


def load(model_dir: Path, dtype: str):
    from hf_serving.loading.loader import load_served_model
    from hf_serving.settings import Settings

    return load_served_model(model_dir, Settings.from_environ({"HF_MODEL_DIR": str(model_dir), "MODEL_DTYPE": dtype}))


def model_only(model_dir: Path, dtypes: list[str], batch_sizes: list[int], seconds: float) -> list[dict]:
    """seq/s of the bare forward pass at SEQ_LEN tokens, synchronised with the GPU."""
    import torch

    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    rows = []
    for dtype in dtypes:
        served = load(model_dir, dtype)
        # The torch module itself, on its device: tensors made there, no numpy round trip (the engine's run() adds
        # those copies, which the hooks measurement below includes).
        module, device = served.engine.module, served.engine.device
        for batch in batch_sizes:
            inputs = {
                "input_ids": torch.randint(1000, 29000, (batch, SEQ_LEN), device=device),
                "attention_mask": torch.ones(batch, SEQ_LEN, dtype=torch.long, device=device),
            }
            with torch.inference_mode():
                for _ in range(3):
                    module(**inputs)
                sync()
                calls, started = 0, time.perf_counter()
                while time.perf_counter() - started < seconds / len(batch_sizes):
                    module(**inputs)
                    calls += 1
                    if calls % 8 == 0:
                        sync()
                sync()
                elapsed = time.perf_counter() - started
            rows.append(
                {
                    "dtype": dtype,
                    "batch": batch,
                    "seq_len": SEQ_LEN,
                    "ms_per_batch": round(1000 * elapsed / calls, 3),
                    "seq_per_s": round(batch * calls / elapsed, 1),
                }
            )
            print(
                f"  model only {dtype} batch {batch}: {rows[-1]['seq_per_s']:.0f} seq/s "
                f"({rows[-1]['ms_per_batch']:.2f} ms per batch)",
                flush=True,
            )
        del served
        torch.cuda.empty_cache()
    return rows


def hooks_in_process(model_dir: Path, body: bytes, batches: list[int], seconds: float) -> list[dict]:
    """The default predict_fn on N decoded requests at once, as a worker runs a model-server batch."""
    from hf_serving.formats.media import JSON
    from hf_serving.formats.records import RecordBatch

    served = load(model_dir, "auto")
    payload = json.loads(body)
    rows = []
    for batch in batches:
        records = RecordBatch(JSON, [payload] * batch)
        for _ in range(3):
            served.predict_records(records)
        latencies = []
        started = time.perf_counter()
        while time.perf_counter() - started < seconds / len(batches):
            call = time.perf_counter()
            served.predict_records(records)
            latencies.append(1000 * (time.perf_counter() - call))
        rows.append(
            {
                "batch": batch,
                "calls": len(latencies),
                "p50_ms": round(percentile(latencies, 50), 2),
                "requests_per_s": round(1000 * batch / percentile(latencies, 50), 1),
            }
        )
        print(
            f"  hooks in-process, batch {batch}: {rows[-1]['p50_ms']:.1f} ms per call, "
            f"{rows[-1]['requests_per_s']:.0f} requests/s",
            flush=True,
        )
    return rows


class GpuSampler(threading.Thread):
    """GPU utilisation every 100 ms through NVML, when the nvidia-ml-py package is there."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[int] = []
        self.stop_event = threading.Event()
        try:
            import pynvml

            pynvml.nvmlInit()
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            self._read = lambda: pynvml.nvmlDeviceGetUtilizationRates(self._handle).gpu
        except Exception:  # noqa: BLE001 - utilisation is a nice-to-have
            self._read = None

    def run(self) -> None:
        while self._read is not None and not self.stop_event.wait(0.1):
            self.samples.append(self._read())

    def mean(self) -> float | None:
        self.stop_event.set()
        self.join()
        return round(sum(self.samples) / len(self.samples), 1) if self.samples else None


def variant_spec(variant: str, model_dir: Path = MODEL_DIRS["qa"]) -> ServerSpec:
    """Our server by default or as a variant `K=V;K=V` (servers.server_spec), on model_dir and this run's Python."""
    spec = SERVERS["ours"] if variant == "default" else server_spec(f"ours:{variant}")
    extra = [("HF_MODEL_DIR", str(model_dir)), ("HF_SERVING_PYTHON", sys.executable)]
    # The server runs with this run's packages (a server's environment is scrubbed of PYTHONPATH otherwise).
    if os.environ.get("PYTHONPATH"):
        extra.append(("PYTHONPATH", os.environ["PYTHONPATH"]))
    return replace(spec, key=f"ours:{variant}", env=spec.env + tuple(extra))


def end_to_end(args: argparse.Namespace, kind: payloads.RequestKind, work_dir: Path) -> tuple[list[dict], list[dict]]:
    cells, starts = [], []
    validate = lambda payload: payloads.valid_response(kind, payload)  # noqa: E731
    for variant in args.variants:
        spec = variant_spec(variant, args.model_dir)
        print(f"{spec.label}", flush=True)
        record: dict = {"variant": variant}
        server = RunningServer(spec, "qa", work_dir, work_dir / f"{variant.replace(';', '_')}.log")
        try:
            record["cold_start_s"] = round(server.wait_ping(), 2)
            record["first_answer_s"] = round(server.wait_first_answer(kind.body)[0], 2)
            run_closed_loop_processes(
                "127.0.0.1",
                server.port,
                "/invocations",
                kind.body,
                max(args.concurrency),
                args.warmup,
                validate,
                args.client_processes,
            )
            for concurrency in args.concurrency:
                sampler = GpuSampler()
                sampler.start()
                result = run_closed_loop_processes(
                    "127.0.0.1",
                    server.port,
                    "/invocations",
                    kind.body,
                    concurrency,
                    args.seconds,
                    validate,
                    args.client_processes,
                )
                cell = cell_record(variant, kind.name, 1, result)
                cell["gpu_util_pct"] = sampler.mean()
                cells.append(cell)
                errors = f", {cell['errors']} ERRORS {cell['error_samples'][:1]}" if cell["errors"] else ""
                print(
                    f"    c={concurrency}: {cell['rps']:.0f} req/s, p50 {cell['p50_ms']} ms, "
                    f"p99 {cell['p99_ms']} ms, GPU {cell['gpu_util_pct']}% ({cell['requests']} requests{errors})",
                    flush=True,
                )
        except (RuntimeError, OSError, ValueError) as exc:
            record["error"] = str(exc)
            print(f"  FAILED: {exc}", flush=True)
        finally:
            record.update(server.stop())
            starts.append(record)
    return cells, starts


def markdown(result: dict) -> str:
    meta = result["meta"]
    lines = [
        f"# GPU benchmark: {meta['gpu']}",
        "",
        f"{meta['started_utc']}, commit {meta['commit']}, torch {meta['torch']}, {meta['cores']} CPU cores "
        f"({meta['cpu']}). Full-size DistilBERT QA with RANDOM weights; request: {result['request']}.",
        "",
    ]
    if result["model_only"]:
        lines += [
            "## Model only (forward pass at 384 tokens)",
            "",
            "| dtype | batch | ms per batch | seq/s |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r['dtype']} | {r['batch']} | {r['ms_per_batch']} | {r['seq_per_s']:.0f} |"
            for r in result["model_only"]
        ]
    if result["hooks"]:
        lines += [
            "",
            "## Hooks in-process (default predict_fn on N requests at once, no server)",
            "",
            "| requests per call | ms per call (p50) | requests/s |",
            "|---|---|---|",
        ]
        lines += [f"| {r['batch']} | {r['p50_ms']} | {r['requests_per_s']:.0f} |" for r in result["hooks"]]
    lines += [
        "",
        "## End to end (nginx -> multi-model-server -> worker), closed loop",
        "",
        "| variant | concurrency | req/s | p50 ms | p95 ms | p99 ms | GPU util % | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {c['server']} | {c['concurrency']} | {c['rps']:.0f} | {c['p50_ms']} | {c['p95_ms']} | {c['p99_ms']} "
        f"| {c['gpu_util_pct']} | {c['errors']} |"
        for c in result["cells"]
    ]
    lines += ["", "| variant | /ping 200 after s | first answer after s | peak RSS MB |", "|---|---|---|---|"]
    lines += [
        f"| {s['variant']} | {s.get('cold_start_s')} | {s.get('first_answer_s')} | {s.get('peak_rss_mb')} |"
        for s in result["starts"]
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    kind = payloads.build({"qa": args.model_dir})["qa380"]
    meta = gpu_meta()
    work_dir = ROOT / "build" / "bench-runs" / ("gpu-" + meta["started_utc"].replace(":", ""))
    work_dir.mkdir(parents=True, exist_ok=True)
    print(f"GPU bench on {meta['gpu']}; logs in {work_dir}", flush=True)
    model_rows = (
        model_only(args.model_dir, args.dtypes, args.batch_sizes, args.seconds) if "model" in args.parts else []
    )
    hook_rows = (
        hooks_in_process(args.model_dir, kind.body, args.hook_batches, args.seconds) if "hooks" in args.parts else []
    )
    cells, starts = end_to_end(args, kind, work_dir) if "e2e" in args.parts else ([], [])
    result = {
        "meta": meta,
        "request": kind.description,
        "config": {k: str(v) for k, v in vars(args).items()},
        "model_only": model_rows,
        "hooks": hook_rows,
        "cells": cells,
        "starts": starts,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(result, indent=1) + "\n")
    text = markdown(result)
    (args.out / f"{args.name}.md").write_text(text)
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
