"""The benchmark of issue 6: our container against AWS's Hugging Face toolkit, a Flask tutorial server and a
FastAPI sentence-transformers server.

Every server is started in turn (never two at once) on each model it serves (servers.ServerSpec.models: a
server x model pair it does not serve is skipped), timed from start to /ping 200 and to its first answer,
loaded with the same requests by a closed-loop client at each concurrency after a warm-up, measured for peak
RSS over its whole process tree, and stopped. Passes repeat the same order (A B A B) so that drift of a
shared machine falls on every server alike. In-process references run while no server does: our hooks
(bench/inprocess.py) and, for the embeddings, sentence-transformers' encode() (bench/embed_reference.py).
Writes NAME.json, NAME.md and NAME.png under --out. See bench/README.md. From the repository root:

    .venv/bin/python -m bench.run                          # the full run (about 40 minutes)
    .venv/bin/python -m bench.run --seconds 2 --warmup 1 --passes 1 --kinds qa160 --out build/bench-smoke
    .venv/bin/python -m bench.run --servers ours,st-fastapi --kinds emb1,emb8   # the embeddings cell only
    .venv/bin/python -m bench.run --servers ours,aws,ce-fastapi --kinds ner128,zsl5,rerank20 --concurrency 4 \
        --name tasks-latest                                 # issue 27's encoder tasks (make bench-tasks)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from bench import host_cpu, matrix_rate, payloads, report, time_split
from bench.loadgen import CellResult, percentile, run_closed_loop
from bench.servers import (
    MODEL_DIRS,
    MODEL_HINTS,
    ROOT,
    SERVERS,
    STOP_GRACE_S,
    VENVS,
    RunningServer,
    server_spec,
)

COLD_START_GUESS_S = 12.0  # for the up-front estimate only


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--servers",
        default="ours,aws,st-fastapi,ours-int8,ours-fp32,flask",
        help="comma-separated, in run order (each runs on the models it serves)",
    )
    parser.add_argument("--kinds", default="qa160,qa380,clf60,emb1,emb8", help="request kinds (bench/payloads.py)")
    parser.add_argument("--concurrency", default="1,4", help="closed-loop concurrency levels")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per server and kind")
    parser.add_argument("--passes", type=int, default=2, help="repetitions of the whole server order")
    parser.add_argument(
        "--no-overhead",
        action="store_true",
        help="skip the in-process references: our hooks, and sentence-transformers' encode()",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="where results go")
    parser.add_argument("--name", default="latest", help="file stem of the results")
    parser.add_argument(
        "--model-dir",
        action="append",
        default=[],
        metavar="MODEL=DIR",
        help=f"serve another directory as one of the models ({', '.join(MODEL_DIRS)}); repeatable",
    )
    args = parser.parse_args(argv)
    for item in args.model_dir:
        model, _, directory = item.partition("=")
        if model not in MODEL_DIRS or not directory:
            parser.error(f"--model-dir {item!r}: expected MODEL=DIR with MODEL one of {', '.join(MODEL_DIRS)}")
        MODEL_DIRS[model] = Path(directory).resolve()
    args.servers = args.servers.split(",")
    args.kinds = args.kinds.split(",")
    args.concurrency = [int(level) for level in args.concurrency.split(",")]
    unknown = [s for s in args.servers if not _known_server(s)]
    if unknown:
        parser.error(f"unknown server(s) {unknown}; known: {', '.join(SERVERS)}")
    if unknown := [name for name in args.kinds if name not in payloads.KIND_MODELS]:
        parser.error(f"unknown request kind(s) {unknown}; known: {', '.join(payloads.KIND_MODELS)}")
    return args


def _known_server(key: str) -> bool:
    try:
        server_spec(key)
    except KeyError:
        return False
    return True


def serving_pairs(servers: list[str], models: dict[str, list[str]]) -> tuple[list[tuple[str, str]], list[dict]]:
    """The (model, server) starts of one pass in run order, and the pairs skipped because a server does not
    serve that model (ServerSpec.models)."""
    pairs, skipped = [], []
    for model in models:
        for key in servers:
            if server_spec(key).serves(model):
                pairs.append((model, key))
            else:
                skipped.append({"server": key, "model": model})
    return pairs, skipped


def estimate_s(args, models: dict[str, list[str]]) -> float:
    per_kind = args.warmup + args.seconds * len(args.concurrency)
    pairs, _ = serving_pairs(args.servers, models)
    starts = sum(COLD_START_GUESS_S + 3 + per_kind * len(models[model]) for model, _ in pairs)
    in_process = [model for model, key in pairs if key == "ours"] + (["emb"] if "emb" in models else [])
    overhead = (
        0.0 if args.no_overhead else sum(6 + (args.warmup + args.seconds) * len(models[model]) for model in in_process)
    )
    return args.passes * (starts + overhead)


def machine_meta() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next(
        (line.partition(":")[2].strip() for line in cpuinfo if line.startswith("model name")), platform.processor()
    )
    flags = next((set(line.partition(":")[2].split()) for line in cpuinfo if line.startswith("flags")), set())
    # The family and model tell CPU generations apart where the model name does not ("AMD EPYC" is Zen 4 as family
    # 25 and Zen 5 as family 26, and Zen 5 runs AVX-512 bf16 at twice the width): compare figures within one family.
    family, model = (
        next((line.partition(":")[2].strip() for line in cpuinfo if line.split(":")[0].strip() == key), "?")
        for key in ("cpu family", "model")
    )
    cpu += f" family {family} model {model}"
    # What decides bf16 and int8 speed here: AMX tiles (Intel Sapphire Rapids and later) or AVX-512 only.
    cpu += " (" + (", ".join(sorted(flags & {"amx_bf16", "amx_int8", "avx512_bf16", "avx512_vnni"})) or "no bf16") + ")"
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "started_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "commit": commit,
        "python": platform.python_version(),
        "load_start": [round(x, 2) for x in os.getloadavg()],
    }


def check_venvs(pairs: list[tuple[str, str]]) -> None:
    for venv in dict.fromkeys(server_spec(key).venv for _, key in pairs):
        if venv and not (VENVS / venv / ".installed").exists():
            sys.exit(f"peer venv {VENVS / venv} is missing: run bench/peers/setup.sh {venv}")


def check_model_dirs(models: dict[str, list[str]]) -> None:
    for model in models:
        if not MODEL_DIRS[model].is_dir():
            sys.exit(f"model directory {MODEL_DIRS[model]} ({model}) is missing: {MODEL_HINTS[model]}")


def cell_record(server: str, kind: str, pass_no: int, result: CellResult) -> dict:
    values = result.latencies_ms
    return {
        "server": server,
        "kind": kind,
        "concurrency": result.concurrency,
        "pass": pass_no,
        "requests": result.requests,
        "seconds": round(result.seconds, 2),
        "rps": round(result.rps, 2),
        "mean_ms": round(sum(values) / len(values), 2) if values else None,
        **{f"p{q}_ms": round(percentile(values, q), 2) if values else None for q in (50, 95, 99)},
        "errors": result.errors,
        "invalid": result.invalid,
        "error_samples": result.error_samples,
        "client_cpu_s": round(result.client_cpu_s, 3),
    }


class Benchmark:
    def __init__(self, args: argparse.Namespace, kinds: dict[str, payloads.RequestKind], work_dir: Path) -> None:
        self.args, self.kinds, self.work_dir = args, kinds, work_dir
        self.cells: list[dict] = []
        self.starts: list[dict] = []
        self.inprocess: list[dict] = []
        self.reference: list[dict] = []
        self.latencies: dict[tuple[str, str, int], list[float]] = defaultdict(list)

    def run_start(self, key: str, model: str, pass_no: int) -> None:
        spec, kinds = server_spec(key), [k for k in self.kinds.values() if k.model == model]
        record: dict = {
            "server": key,
            "model": model,
            "pass": pass_no,
            "load_before": [round(x, 2) for x in os.getloadavg()],
        }  # was the machine quiet for it?
        # A variant's key may hold a path (ours:DATA_CAPTURE_DESTINATION=/...): one file name all the same.
        log_path = self.work_dir / f"{key.replace('/', '_')}-{model}-pass{pass_no}.log"
        record["log"] = str(log_path.relative_to(ROOT))
        try:
            server = RunningServer(spec, model, self.work_dir, log_path)
        except (RuntimeError, OSError) as exc:
            self._failed(record, exc)
            self.starts.append(record)
            return
        try:
            record["cold_start_s"] = round(server.wait_ping(), 2)
            first_s, answer = server.wait_first_answer(kinds[0].body)
            record["first_answer_s"] = round(first_s, 2)
            record["sample_answer"] = answer[:300].decode(errors="replace").strip()
            if not payloads.valid_response(kinds[0], json.loads(answer)):
                raise RuntimeError(f"unexpected answer: {record['sample_answer']}")
            print(
                f"  {spec.label} on {model}: /ping 200 after {record['cold_start_s']:.1f} s, first answer "
                f"after {first_s:.1f} s: {record['sample_answer'][:100]}",
                flush=True,
            )
            for kind in kinds:
                self._measure(server, spec.key, kind, pass_no)
        except (RuntimeError, ValueError, OSError) as exc:
            self._failed(record, exc)
        finally:
            record.update(server.stop())
            self.starts.append(record)
            print(
                f"  stopped in {record['stop_s']:.1f} s (exit {record['exit_code']}); peak RSS "
                f"{record['peak_rss_mb']:.0f} MB over {len(record['processes_at_peak'])} processes; outlived the "
                f"launcher: {record['outlived_launcher'] or 'nothing'}; killed after {STOP_GRACE_S:.0f} s: "
                f"{record['killed_after_grace'] or 'nothing'}",
                flush=True,
            )

    @staticmethod
    def _failed(record: dict, exc: Exception) -> None:
        record["error"] = str(exc)
        print(f"  FAILED: {exc}", flush=True)

    def _measure(self, server: RunningServer, key: str, kind: payloads.RequestKind, pass_no: int) -> None:
        validate = lambda payload: payloads.valid_response(kind, payload)  # noqa: E731
        run_closed_loop(
            "127.0.0.1", server.port, "/invocations", kind.body, max(self.args.concurrency), self.args.warmup, validate
        )
        for concurrency in self.args.concurrency:
            before = time_split.scrape(server.port)
            cpu_before = host_cpu.snapshot(server.tree)
            result = run_closed_loop(
                "127.0.0.1", server.port, "/invocations", kind.body, concurrency, self.args.seconds, validate
            )
            cpu_after = host_cpu.snapshot(server.tree)
            cell = cell_record(key, kind.name, pass_no, result)
            cell["host_cpu_ms"] = host_cpu.per_request(cpu_before, cpu_after, result.requests)
            cell["time_split"] = time_split.split(
                before, time_split.scrape(server.port), result.seconds, sum(result.latencies_ms)
            )
            self.cells.append(cell)
            self.latencies[(key, kind.name, concurrency)].extend(result.latencies_ms)
            errors = f", {cell['errors']} ERRORS {cell['error_samples'][:1]}" if cell["errors"] else ""
            print(
                f"    {kind.name} c={concurrency}: {cell['rps']:.1f} req/s, p50 {cell['p50_ms']} ms, "
                f"p99 {cell['p99_ms']} ms ({cell['requests']} requests{errors})",
                flush=True,
            )

    def run_inprocess(self, model: str, pass_no: int) -> None:
        """Our hooks in this machine's same conditions, no server running: the serving-overhead baseline."""
        kinds = [k for k in self.kinds.values() if k.model == model]
        _, env, _ = SERVERS["ours"].command_and_env(model, 8080, self.work_dir)  # the port is never bound
        env["PYTHONPATH"] = str(ROOT / "container")
        measured = self._in_process(
            sys.executable,
            "bench.inprocess",
            model,
            kinds,
            env,
            f"inprocess-{model}-pass{pass_no}.log",
            "in-process hooks",
        )
        for kind, stats in (measured or {}).get("kinds", {}).items():
            self.inprocess.append({"kind": kind, "pass": pass_no, **{k: round(v, 2) for k, v in stats.items()}})
            print(f"  in-process hooks {kind}: p50 {stats['p50_ms']:.1f} ms ({stats['requests']} calls)", flush=True)

    def run_reference(self, pass_no: int) -> None:
        """The embeddings' model-only reference: sentence-transformers' encode() on the same texts, in a process
        of its own while no server runs, in the FastAPI peer's venv (its packages and environment) when built."""
        kinds = [k for k in self.kinds.values() if k.model == "emb"]
        peer_python = VENVS / "st-fastapi" / "bin" / "python"
        python = str(peer_python) if peer_python.exists() else sys.executable
        _, env, _ = SERVERS["st-fastapi"].command_and_env("emb", 8080, self.work_dir)  # the port is never bound
        measured = self._in_process(
            python,
            "bench.embed_reference",
            "emb",
            kinds,
            env,
            f"reference-emb-pass{pass_no}.log",
            "encode() in-process",
        )
        for kind, stats in (measured or {}).get("kinds", {}).items():
            self.reference.append(
                {"kind": kind, "pass": pass_no, "python": python, **{k: round(v, 2) for k, v in stats.items()}}
            )
            print(
                f"  encode() in-process {kind}: {stats['ms_per_call']:.1f} ms per call (p50 {stats['p50_ms']:.1f}), "
                f"{stats['seq_per_s']:.1f} seq/s ({stats['calls']} calls of {stats['texts']} texts)",
                flush=True,
            )

    def _in_process(
        self,
        python: str,
        module: str,
        model: str,
        kinds: list[payloads.RequestKind],
        env: dict[str, str],
        log_name: str,
        what: str,
    ) -> dict | None:
        """Run `python -m module MODEL_DIR SECONDS WARMUP KIND=BODY_FILE...` from the repository root; its last
        line of output is a JSON object."""
        files = []
        for kind in kinds:
            path = self.work_dir / f"{kind.name}.json"
            path.write_bytes(kind.body)
            files.append(f"{kind.name}={path}")
        completed = subprocess.run(
            [python, "-m", module, str(MODEL_DIRS[model]), str(self.args.seconds), str(self.args.warmup), *files],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        (self.work_dir / log_name).write_text(completed.stderr)
        if completed.returncode != 0:
            print(f"  {what} FAILED: {completed.stderr[-500:]}", flush=True)
            return None
        return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    models: dict[str, list[str]] = {}
    for name in args.kinds:
        models.setdefault(payloads.KIND_MODELS[name], []).append(name)
    pairs, skipped = serving_pairs(args.servers, models)
    if not pairs:
        sys.exit(f"none of the servers {args.servers} serves the models of {args.kinds} (bench/servers.py SERVERS)")
    check_model_dirs(models)
    check_venvs(pairs)
    all_kinds = payloads.build({model: MODEL_DIRS[model] for model in models})
    kinds = {name: all_kinds[name] for name in args.kinds}
    # SIGTERM unwinds like Ctrl-C: the running server is stopped by run_start's `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    meta = machine_meta()
    meta["command"] = shlex.join(["python", "-m", "bench.run", *argv])
    work_dir = ROOT / "build" / "bench-runs" / meta["started_utc"].replace(":", "")
    work_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"bench: {', '.join(args.servers)} x {', '.join(kinds)} x c={args.concurrency}, {args.passes} pass(es); "
        f"estimated {estimate_s(args, models) / 60:.0f} min; logs in {work_dir.relative_to(ROOT)}",
        flush=True,
    )
    if skipped:
        print("not served, skipped: " + ", ".join(f"{s['server']} x {s['model']}" for s in skipped), flush=True)
    bench = Benchmark(args, kinds, work_dir)
    # The host's own bf16 matrix rate, before any server starts and again after the last stops (issue 29).
    meta["matrix_rate"] = [matrix_rate.measure()]
    for pass_no in range(1, args.passes + 1):
        for model in models:
            for key in [key for served, key in pairs if served == model]:
                print(f"pass {pass_no}: {server_spec(key).label}, {model} model", flush=True)
                bench.run_start(key, model, pass_no)
                if key == "ours" and not args.no_overhead:
                    bench.run_inprocess(model, pass_no)
            if model == "emb" and not args.no_overhead:
                print(f"pass {pass_no}: sentence-transformers encode() in-process, emb model", flush=True)
                bench.run_reference(pass_no)
    meta["load_end"] = [round(x, 2) for x in os.getloadavg()]
    meta["matrix_rate"].append(matrix_rate.measure())
    write_results(args, meta, kinds, bench, skipped)
    return 0


def write_results(
    args, meta: dict, kinds: dict[str, payloads.RequestKind], bench: Benchmark, skipped: list[dict]
) -> None:
    summary = report.summarize(bench.cells, bench.latencies)
    overhead = report.overhead_table(summary, bench.inprocess)
    cpu_s = sum(cell["client_cpu_s"] for cell in bench.cells)
    wall_s = sum(cell["seconds"] for cell in bench.cells)
    requests = sum(cell["requests"] for cell in bench.cells)
    result = {
        "meta": meta,
        "config": {
            "servers": args.servers,
            "concurrency": args.concurrency,
            "seconds": args.seconds,
            "warmup_s": args.warmup,
            "passes": args.passes,
            "model_dirs": {k.model: str(MODEL_DIRS[k.model]) for k in kinds.values()},
            "kinds": {
                k.name: {"tokens": k.tokens, "texts": k.texts, "model": k.model, "description": k.description}
                for k in kinds.values()
            },
        },
        "servers": {
            key: {
                "label": server_spec(key).label,
                "description": server_spec(key).description,
                "models": list(server_spec(key).models),
            }
            for key in args.servers
        },
        "not_served": skipped,
        "summary": summary,
        "overhead": overhead,
        "starts": bench.starts,
        "cells": bench.cells,
        "inprocess": bench.inprocess,
        "model_reference": report.reference_table(summary, bench.reference, {k.name: k.texts for k in kinds.values()}),
        "reference_runs": bench.reference,
        "loadgen": {
            "cpu_s": round(cpu_s, 2),
            "requests": requests,
            "wall_s": round(wall_s, 1),
            "cpu_ms_per_request": round(1000 * cpu_s / requests, 3) if requests else 0.0,
            "cpu_share": round(cpu_s / wall_s, 4) if wall_s else 0.0,
            "rss_sampler_cpu_s": round(sum(s.get("rss_sampler_cpu_s", 0.0) for s in bench.starts), 2),
            "servers_up_s": round(sum(s.get("seconds_up", 0.0) for s in bench.starts), 1),
        },
    }
    result["goals"] = report.goals(summary, bench.starts, overhead)
    rates = meta.get("matrix_rate") or []
    flops = {
        kind.name: matrix_rate.request_flops(
            kind.lengths or (kind.tokens,), matrix_rate.encoder_dims(MODEL_DIRS[kind.model])
        )
        for kind in kinds.values()
        # The tiny model's few FLOPs say nothing of the host's matrix rate: its figure is the stack's own cost.
        if kind.model != "host" and (MODEL_DIRS[kind.model] / "config.json").is_file()
    }
    rate = sum(r["median"] for r in rates) / len(rates) if rates else 0.0
    matrix_share = matrix_rate.shares(summary, flops, rate, max(args.concurrency))
    result["matrix_share"] = matrix_share
    result["other_configurations"] = report.variant_ratios(summary, args.servers)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / args.name
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    text = report.markdown(result)
    text += "\n" + matrix_rate.markdown(matrix_share, rates, max(args.concurrency)) if rates else ""
    labels = {key: server_spec(key).label for key in args.servers}
    split_table = time_split.markdown(bench.cells, labels)
    text += "\n" + split_table if split_table else ""
    cpu_table = host_cpu.markdown(bench.cells, labels)
    text += "\n" + cpu_table if cpu_table else ""
    chart = draw_chart(stem)
    if chart:
        text += f"\n![req/s and p99 per server and request]({chart.name})\n"
    stem.with_suffix(".md").write_text(text)
    print("\n" + text)
    print(f"results: {stem}.json, .md" + (", .png" if chart else " (no chart: bench/peers/setup.sh makes its venv)"))


def draw_chart(stem: Path) -> Path | None:
    python = VENVS / "chart" / "bin" / "python"
    if not python.exists():
        return None
    png = stem.with_suffix(".png")
    completed = subprocess.run(
        [str(python), "-m", "bench.chart", str(stem.with_suffix(".json")), str(png)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        print(f"chart failed: {completed.stderr[-500:]}")
        return None
    return png


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
