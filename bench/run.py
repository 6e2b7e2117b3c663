"""The benchmark of issue 6: our container against AWS's Hugging Face toolkit and a Flask tutorial server.

Every server is started in turn (never two at once) on the same demo model, timed from start to /ping 200
and to its first answer, loaded with the same requests by a closed-loop client at each concurrency after a
warm-up, measured for peak RSS over its whole process tree, and stopped. Passes repeat the same order
(A B A B) so that drift of a shared machine falls on every server alike. Writes NAME.json, NAME.md and
NAME.png under --out. See bench/README.md.

    .venv/bin/python bench/run.py                          # the full run (about 25 minutes)
    .venv/bin/python bench/run.py --seconds 2 --warmup 1 --passes 1 --kinds qa160 --out build/bench-smoke
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import payloads
import report
from loadgen import CellResult, percentile, run_closed_loop
from servers import (
    MODEL_DIRS,
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
    parser.add_argument("--servers", default="ours,aws,ours-int8,ours-fp32,flask",
                        help="comma-separated, in run order")
    parser.add_argument("--kinds", default="qa160,qa380,clf60", help="request kinds (bench/payloads.py)")
    parser.add_argument("--concurrency", default="1,4", help="closed-loop concurrency levels")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per server and kind")
    parser.add_argument("--passes", type=int, default=2, help="repetitions of the whole server order")
    parser.add_argument("--no-overhead", action="store_true", help="skip the in-process baseline of our hooks")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="where results go")
    parser.add_argument("--name", default="latest", help="file stem of the results")
    args = parser.parse_args(argv)
    args.servers = args.servers.split(",")
    args.kinds = args.kinds.split(",")
    args.concurrency = [int(level) for level in args.concurrency.split(",")]
    unknown = [s for s in args.servers if not _known_server(s)]
    if unknown:
        parser.error(f"unknown server(s) {unknown}; known: {', '.join(SERVERS)}")
    return args


def _known_server(key: str) -> bool:
    try:
        server_spec(key)
    except KeyError:
        return False
    return True


def estimate_s(args, models: dict[str, list[str]]) -> float:
    per_kind = args.warmup + args.seconds * len(args.concurrency)
    starts = sum(len(args.servers) * (COLD_START_GUESS_S + 3 + per_kind * len(kinds)) for kinds in models.values())
    overhead = 0.0 if args.no_overhead or "ours" not in args.servers else sum(
        6 + (args.warmup + args.seconds) * len(kinds) for kinds in models.values())
    return args.passes * (starts + overhead)


def machine_meta() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.partition(":")[2].strip() for line in cpuinfo if line.startswith("model name")),
               platform.processor())
    flags = next((set(line.partition(":")[2].split()) for line in cpuinfo if line.startswith("flags")), set())
    # What decides bf16 and int8 speed here: AMX tiles (Intel Sapphire Rapids and later) or AVX-512 only.
    cpu += " (" + (", ".join(sorted(flags & {"amx_bf16", "amx_int8", "avx512_bf16", "avx512_vnni"})) or "no bf16") + ")"
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    return {"started_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "cpu": cpu,
            "cores": len(os.sched_getaffinity(0)), "commit": commit, "python": platform.python_version(),
            "load_start": [round(x, 2) for x in os.getloadavg()]}


def check_venvs(servers: list[str]) -> None:
    for key in ("aws", "flask"):
        if key in servers and not (VENVS / key / ".installed").exists():
            sys.exit(f"peer venv {VENVS / key} is missing: run bench/peers/setup.sh (make bench does)")


def cell_record(server: str, kind: str, pass_no: int, result: CellResult) -> dict:
    values = result.latencies_ms
    return {"server": server, "kind": kind, "concurrency": result.concurrency, "pass": pass_no,
            "requests": result.requests, "seconds": round(result.seconds, 2), "rps": round(result.rps, 2),
            "mean_ms": round(sum(values) / len(values), 2) if values else None,
            **{f"p{q}_ms": round(percentile(values, q), 2) if values else None for q in (50, 95, 99)},
            "errors": result.errors, "invalid": result.invalid, "error_samples": result.error_samples,
            "client_cpu_s": round(result.client_cpu_s, 3)}


class Benchmark:
    def __init__(self, args: argparse.Namespace, kinds: dict[str, payloads.RequestKind], work_dir: Path) -> None:
        self.args, self.kinds, self.work_dir = args, kinds, work_dir
        self.cells: list[dict] = []
        self.starts: list[dict] = []
        self.inprocess: list[dict] = []
        self.latencies: dict[tuple[str, str, int], list[float]] = defaultdict(list)

    def run_start(self, key: str, model: str, pass_no: int) -> None:
        spec, kinds = server_spec(key), [k for k in self.kinds.values() if k.model == model]
        record: dict = {"server": key, "model": model, "pass": pass_no}
        log_path = self.work_dir / f"{key}-{model}-pass{pass_no}.log"
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
            print(f"  {spec.label} on {model}: /ping 200 after {record['cold_start_s']:.1f} s, first answer "
                  f"after {first_s:.1f} s: {record['sample_answer'][:100]}", flush=True)
            for kind in kinds:
                self._measure(server, spec.key, kind, pass_no)
        except (RuntimeError, ValueError, OSError) as exc:
            self._failed(record, exc)
        finally:
            record.update(server.stop())
            self.starts.append(record)
            print(f"  stopped in {record['stop_s']:.1f} s (exit {record['exit_code']}); peak RSS "
                  f"{record['peak_rss_mb']:.0f} MB over {len(record['processes_at_peak'])} processes; outlived the "
                  f"launcher: {record['outlived_launcher'] or 'nothing'}; killed after {STOP_GRACE_S:.0f} s: "
                  f"{record['killed_after_grace'] or 'nothing'}", flush=True)

    @staticmethod
    def _failed(record: dict, exc: Exception) -> None:
        record["error"] = str(exc)
        print(f"  FAILED: {exc}", flush=True)

    def _measure(self, server: RunningServer, key: str, kind: payloads.RequestKind, pass_no: int) -> None:
        validate = lambda payload: payloads.valid_response(kind, payload)  # noqa: E731
        run_closed_loop("127.0.0.1", server.port, "/invocations", kind.body, max(self.args.concurrency),
                        self.args.warmup, validate)
        for concurrency in self.args.concurrency:
            result = run_closed_loop("127.0.0.1", server.port, "/invocations", kind.body, concurrency,
                                     self.args.seconds, validate)
            cell = cell_record(key, kind.name, pass_no, result)
            self.cells.append(cell)
            self.latencies[(key, kind.name, concurrency)].extend(result.latencies_ms)
            errors = f", {cell['errors']} ERRORS {cell['error_samples'][:1]}" if cell["errors"] else ""
            print(f"    {kind.name} c={concurrency}: {cell['rps']:.1f} req/s, p50 {cell['p50_ms']} ms, "
                  f"p99 {cell['p99_ms']} ms ({cell['requests']} requests{errors})", flush=True)

    def run_inprocess(self, model: str, pass_no: int) -> None:
        """Our hooks in this machine's same conditions, no server running: the serving-overhead baseline."""
        kinds = [k for k in self.kinds.values() if k.model == model]
        files = []
        for kind in kinds:
            path = self.work_dir / f"{kind.name}.json"
            path.write_bytes(kind.body)
            files.append(f"{kind.name}={path}")
        _, env, _ = SERVERS["ours"].command_and_env(model, 8080, self.work_dir)  # the port is never bound
        env["PYTHONPATH"] = str(ROOT / "container")
        completed = subprocess.run([sys.executable, str(ROOT / "bench" / "inprocess.py"), str(MODEL_DIRS[model]),
                                    str(self.args.seconds), str(self.args.warmup), *files],
                                   env=env, capture_output=True, text=True)
        (self.work_dir / f"inprocess-{model}-pass{pass_no}.log").write_text(completed.stderr)
        if completed.returncode != 0:
            print(f"  in-process hooks FAILED: {completed.stderr[-500:]}", flush=True)
            return
        measured = json.loads(completed.stdout.strip().splitlines()[-1])
        for kind, stats in measured["kinds"].items():
            self.inprocess.append({"kind": kind, "pass": pass_no, **{k: round(v, 2) for k, v in stats.items()}})
            print(f"  in-process hooks {kind}: p50 {stats['p50_ms']:.1f} ms ({stats['requests']} calls)", flush=True)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    check_venvs(args.servers)
    all_kinds = payloads.build(MODEL_DIRS["qa"], MODEL_DIRS["clf"])
    if unknown := [name for name in args.kinds if name not in all_kinds]:
        sys.exit(f"unknown request kind(s) {unknown}; known: {', '.join(all_kinds)}")
    kinds = {name: all_kinds[name] for name in args.kinds}
    # SIGTERM unwinds like Ctrl-C: the running server is stopped by run_start's `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    models: dict[str, list[str]] = {}
    for kind in kinds.values():
        models.setdefault(kind.model, []).append(kind.name)
    meta = machine_meta()
    work_dir = ROOT / "build" / "bench-runs" / meta["started_utc"].replace(":", "")
    work_dir.mkdir(parents=True, exist_ok=True)
    print(f"bench: {', '.join(args.servers)} x {', '.join(kinds)} x c={args.concurrency}, {args.passes} pass(es); "
          f"estimated {estimate_s(args, models) / 60:.0f} min; logs in {work_dir.relative_to(ROOT)}", flush=True)
    bench = Benchmark(args, kinds, work_dir)
    for pass_no in range(1, args.passes + 1):
        for model in models:
            for key in args.servers:
                print(f"pass {pass_no}: {server_spec(key).label}, {model} model", flush=True)
                bench.run_start(key, model, pass_no)
                if key == "ours" and not args.no_overhead:
                    bench.run_inprocess(model, pass_no)
    meta["load_end"] = [round(x, 2) for x in os.getloadavg()]
    write_results(args, meta, kinds, bench)
    return 0


def write_results(args, meta: dict, kinds: dict[str, payloads.RequestKind], bench: Benchmark) -> None:
    summary = report.summarize(bench.cells, bench.latencies)
    overhead = report.overhead_table(summary, bench.inprocess)
    cpu_s = sum(cell["client_cpu_s"] for cell in bench.cells)
    wall_s = sum(cell["seconds"] for cell in bench.cells)
    requests = sum(cell["requests"] for cell in bench.cells)
    result = {
        "meta": meta,
        "config": {"servers": args.servers, "concurrency": args.concurrency, "seconds": args.seconds,
                   "warmup_s": args.warmup, "passes": args.passes,
                   "kinds": {k.name: {"tokens": k.tokens, "model": k.model, "description": k.description}
                             for k in kinds.values()}},
        "servers": {key: {"label": server_spec(key).label, "description": server_spec(key).description}
                    for key in args.servers},
        "summary": summary, "overhead": overhead, "starts": bench.starts, "cells": bench.cells,
        "inprocess": bench.inprocess,
        "loadgen": {"cpu_s": round(cpu_s, 2), "requests": requests, "wall_s": round(wall_s, 1),
                    "cpu_ms_per_request": round(1000 * cpu_s / requests, 3) if requests else 0.0,
                    "cpu_share": round(cpu_s / wall_s, 4) if wall_s else 0.0,
                    "rss_sampler_cpu_s": round(sum(s.get("rss_sampler_cpu_s", 0.0) for s in bench.starts), 2),
                    "servers_up_s": round(sum(s.get("seconds_up", 0.0) for s in bench.starts), 1)},
    }
    result["goals"] = report.goals(summary, bench.starts, overhead)
    result["other_configurations"] = report.variant_ratios(summary, args.servers)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / args.name
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    text = report.markdown(result)
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
    completed = subprocess.run([str(python), str(ROOT / "bench" / "chart.py"), str(stem.with_suffix(".json")),
                                str(png)], capture_output=True, text=True)
    if completed.returncode != 0:
        print(f"chart failed: {completed.stderr[-500:]}")
        return None
    return png


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
