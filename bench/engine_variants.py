"""make bench-engine: OpenVINO's CPU settings side by side, model only, with the host's bf16 matrix rate (issue 29).

The served model's torch module is converted once, as the server converts it (engines/openvino/engine.convert), and
compiled under each variant: the server's own settings (engine.compile_config), float32, int8, several streams (one a
thread unless --streams) with a pass's rows split between them and run at once, threads left unpinned, tokens padded
to a multiple of 32, and a graph compiled for each cell's exact shape. The same rows go through every variant, the
variants alternating within each round so that a shared machine's drift falls on all of them alike; per variant and
cell the median over rounds of the time for a pass.

The share is what a variant delivers of the host's bf16 matrix rate (bench/matrix_rate.py, measured at the start and
the end of the run in a subprocess): rows per second x the matrix FLOPs of a row at its own length, over the rate. A
padded variant computes more and is credited only with the row's own tokens.

    .venv/bin/python -m bench.engine_variants [--model-dir build/demo-model] [--rounds 7]

Writes bench/results/engine-variants.{json,md} (--out, --name) with the host. No figure here includes the server:
`make bench` measures the stack end to end.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench import matrix_rate, pass_size, report
from bench.run import ROOT, machine_meta

TOKENS = (64, 164, 376)  # the sizes of make bench's classification and QA requests
ROWS = (1, 4)  # a request alone, and the batch of concurrency 4
PAD_MULTIPLE = 32  # AMX's bf16 tiles take 32 values along the inner dimension and 16 rows


@dataclass(frozen=True)
class Variant:
    name: str
    what: str
    dtype: str = "bfloat16"  # engine.compile_config's base settings for this MODEL_DTYPE
    overrides: dict[str, Any] = field(default_factory=dict)  # over compile_config's
    streams: int = 1  # infer requests the rows are split over, run at once
    pad_to: int = 1  # tokens padded up to a multiple of this
    static: bool = False  # a graph compiled for the cell's exact [rows, tokens]


def variants(threads: int, streams: int) -> list[Variant]:
    return [
        Variant("default", "the server's settings: bf16, LATENCY hint, threads pinned (one worker)"),
        Variant("float32", "f32 precision (the pipeline-exact reference)", dtype="float32"),
        Variant("int8", "MODEL_DTYPE=int8: int8 weights, activations quantised at run time", dtype="int8"),
        Variant(
            "streams",
            f"THROUGHPUT hint, {streams} streams sharing {threads} threads, the rows split over {streams} requests at "
            "once",
            overrides={"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": streams},
            streams=streams,
        ),
        Variant("unpinned", "threads not pinned to cores", overrides={"ENABLE_CPU_PINNING": False}),
        Variant(f"pad {PAD_MULTIPLE}", f"tokens padded to a multiple of {PAD_MULTIPLE} (masked)", pad_to=PAD_MULTIPLE),
        Variant("static shape", "a graph compiled for each cell's exact [rows, tokens]", static=True),
    ]


def padded(feed: dict[str, np.ndarray], multiple: int, pad_id: int) -> dict[str, np.ndarray]:
    """The feed with its tokens padded up to a multiple: pad ids, a zero attention mask, zero token types."""
    tokens = feed["input_ids"].shape[1]
    extra = -tokens % multiple
    if not extra:
        return feed
    filler = {"input_ids": pad_id}
    return {
        name: np.pad(array, ((0, 0), (0, extra)), constant_values=filler.get(name, 0)) for name, array in feed.items()
    }


def unpadded(output: np.ndarray, tokens: int) -> np.ndarray:
    """A padded pass's output cut back to the row's own tokens, where it has one value (or vector) a token."""
    return output[:, :tokens] if output.ndim >= 2 and output.shape[1] > tokens else output


def row_parts(rows: int, streams: int) -> list[slice]:
    """The rows cut into up to `streams` contiguous non-empty parts, as even as they go."""
    bounds = np.linspace(0, rows, min(rows, streams) + 1).round().astype(int)
    return [slice(int(start), int(end)) for start, end in itertools.pairwise(bounds)]


class Compiled:
    """One variant's compiled graph (or graphs, one per shape) and a pass through it."""

    def __init__(self, variant: Variant, graph: Any, threads: int, ov: Any) -> None:
        from hf_serving.engines.openvino import engine, int8

        self.variant = variant
        self._ov = ov
        self._graph = graph.clone()
        if variant.dtype == "int8":
            int8.compress_linear_weights(self._graph)
        self._config = {**engine.compile_config(variant.dtype, threads, pin_threads=True), **variant.overrides}
        self._by_shape: dict[tuple[int, int], list[Any]] = {}
        self._shared = None if variant.static else self._requests(self._graph)

    def _requests(self, graph: Any) -> list[Any]:
        compiled = self._ov.Core().compile_model(graph, "CPU", self._config)
        return [compiled.create_infer_request() for _ in range(self.variant.streams)]

    def requests_for(self, feed: dict[str, np.ndarray]) -> list[Any]:
        if self._shared is not None:
            return self._shared
        shape = feed["input_ids"].shape
        if shape not in self._by_shape:
            graph = self._graph.clone()
            graph.reshape({port.get_any_name(): list(shape) for port in graph.inputs})
            self._by_shape[shape] = self._requests(graph)
        return self._by_shape[shape]

    def run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        """One pass; the first output (logits or hidden states) for the whole feed."""
        requests = self.requests_for(feed)
        rows = len(feed["input_ids"])
        parts = row_parts(rows, len(requests))
        if len(parts) == 1:
            return np.array(requests[0].infer(feed)[0])
        for request, part in zip(requests, parts, strict=False):
            request.start_async({name: array[part] for name, array in feed.items()})
        outputs = []
        for request, _ in zip(requests, parts, strict=False):
            request.wait()
            outputs.append(np.array(request.get_output_tensor(0).data))
        return np.concatenate(outputs)


def passes_for(run: Callable[[], Any], seconds: float) -> int:
    """How many passes fill about `seconds` (at least one), from the time of one."""
    started = time.perf_counter()
    run()
    return max(1, round(seconds / max(time.perf_counter() - started, 1e-6)))


def load_model(model_dir: Path) -> tuple[Any, Any, tuple[str, ...]]:
    """The model as transformers builds it from its config's architecture, its tokenizer and the inputs it takes."""
    import inspect

    import transformers

    config = transformers.AutoConfig.from_pretrained(model_dir)
    architecture = (config.architectures or ["AutoModel"])[0]
    model = getattr(transformers, architecture).from_pretrained(model_dir)
    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    takes = inspect.signature(model.forward).parameters
    return model, tokenizer, tuple(name for name in tokenizer.model_input_names if name in takes)


def measure(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(ROOT / "container"))
    from hf_serving.engines.openvino import engine, runtime

    meta = machine_meta()
    threads = args.threads or len(os.sched_getaffinity(0))
    rates = [matrix_rate.measure(args.matrix_seconds, threads)]
    model, tokenizer, input_names = load_model(args.model_dir)
    dims = matrix_rate.encoder_dims(args.model_dir)
    graph = engine.convert(model, input_names)
    ov = runtime.load()
    chosen = [v for v in variants(threads, args.streams or threads) if not args.variants or v.name in args.variants]
    compiled = [Compiled(variant, graph, threads, ov) for variant in chosen]
    cells = [(tokens, rows) for tokens in args.tokens for rows in args.rows]
    # pass_size's rows of exactly so many tokens, with the inputs this model takes
    texts = {cell: pass_size.texts_of(tokenizer, *cell) for cell in cells}
    feeds = {cell: {name: texts[cell][name] for name in input_names} for cell in cells}
    pad_id = tokenizer.pad_token_id or 0

    def feed_for(item: Compiled, cell: tuple[int, int]) -> dict[str, np.ndarray]:
        return padded(feeds[cell], item.variant.pad_to, pad_id) if item.variant.pad_to > 1 else feeds[cell]

    # Warm-up: every shape compiled and run once, each output compared with float32's (else the first variant's).
    outputs = {(item.variant.name, cell): item.run(feed_for(item, cell)) for item in compiled for cell in cells}
    exact = "float32" if any(item.variant.name == "float32" for item in compiled) else compiled[0].variant.name
    differences = {
        key: float(np.max(np.abs(unpadded(out, key[1][0]) - outputs[(exact, key[1])]))) for key, out in outputs.items()
    }
    first = compiled[0]
    repeats = {
        cell: passes_for(functools.partial(first.run, feed_for(first, cell)), args.cell_seconds) for cell in cells
    }
    times: dict[tuple[str, tuple[int, int]], list[float]] = {(i.variant.name, c): [] for i in compiled for c in cells}
    for round_ in range(args.rounds):
        for cell in cells:
            for item in compiled:
                feed = feed_for(item, cell)
                started = time.perf_counter()
                for _ in range(repeats[cell]):
                    item.run(feed)
                times[(item.variant.name, cell)].append((time.perf_counter() - started) / repeats[cell])
        print(f"round {round_ + 1} of {args.rounds} done", flush=True)
    rates.append(matrix_rate.measure(args.matrix_seconds, threads))
    rate = statistics.mean(r["median"] for r in rates)
    results = []
    for item in compiled:
        for tokens, rows in cells:
            seconds = statistics.median(times[(item.variant.name, (tokens, rows))])
            per_s = rows / seconds
            results.append(
                {
                    "variant": item.variant.name,
                    "tokens": tokens,
                    "rows": rows,
                    "ms_per_pass": round(1000 * seconds, 2),
                    "rows_per_s": round(per_s, 2),
                    "share": round(per_s * matrix_rate.text_flops(tokens, dims) / rate, 3),
                    "max_abs_difference": round(differences[(item.variant.name, (tokens, rows))], 4),
                    "compared_with": exact,
                }
            )
    meta["load_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "meta": meta,
        "model_dir": str(args.model_dir),
        "openvino": engine.describe(),
        "threads": threads,
        "rounds": args.rounds,
        "matrix_rates": rates,
        "variants": [{"name": v.name, "what": v.what} for v in chosen],
        "results": results,
    }


def markdown(result: dict) -> str:
    meta = result["meta"]
    rates = ", ".join(f"{r['median'] / 1e12:.2f}" for r in result["matrix_rates"])
    cells = sorted({(row["tokens"], row["rows"]) for row in result["results"]})
    by_key = {(row["variant"], row["tokens"], row["rows"]): row for row in result["results"]}
    names = [v["name"] for v in result["variants"]]
    default = names[0]
    exact = result["results"][0]["compared_with"]
    header = "| variant | " + " | ".join(f"{tokens} tokens x {rows}" for tokens, rows in cells) + " |"
    lines = [
        f"# OpenVINO's CPU settings, model only ({meta['started_utc']})",
        "",
        f"{meta['cpu']}, {meta['cores']} usable cores, {result['threads']} threads; commit {meta['commit']}; "
        f"{result['openvino']}; {Path(result['model_dir']).name}. Load average at start {meta['load_start']}, at end "
        f"{meta['load_end']}. The median of {result['rounds']} rounds, the variants alternating within each.",
        "",
        f"Host's bf16 matrix rate (torch, 384x3072 @ 3072x3072, {result['threads']} threads) at start and end: "
        f"{rates} TFLOP/s.",
        "",
        "## Time for a pass, and its ratio to the first variant's (below 1 is faster)",
        "",
        header,
        "|---|" + "---|" * len(cells),
    ]
    for name in names:
        cells_text = []
        for tokens, rows in cells:
            row = by_key[(name, tokens, rows)]
            ratio = row["ms_per_pass"] / by_key[(default, tokens, rows)]["ms_per_pass"]
            cells_text.append(f"{row['ms_per_pass']:.1f} ms ({ratio:.2f})")
        lines.append(f"| {name} | " + " | ".join(cells_text) + " |")
    lines += [
        "",
        "## Share of the host's bf16 matrix rate (rows/s x a row's matrix FLOPs at its own length / the rate)",
        "",
        header,
        "|---|" + "---|" * len(cells),
    ]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"{by_key[(name, t, r)]['share']:.2f}" for t, r in cells) + " |")
    lines += [
        "",
        f"## The variants (largest difference of the first output from {exact}'s, over every cell)",
        "",
        "| variant | what | max abs difference |",
        "|---|---|---|",
    ]
    for variant in result["variants"]:
        worst = max(row["max_abs_difference"] for row in result["results"] if row["variant"] == variant["name"])
        lines.append(f"| {variant['name']} | {variant['what']} | {worst:.4f} |")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default=ROOT / "build" / "demo-model")
    parser.add_argument("--tokens", type=int, nargs="+", default=list(TOKENS))
    parser.add_argument("--rows", type=int, nargs="+", default=list(ROWS))
    parser.add_argument("--variants", nargs="+", help="run only these (by name; the first one is the reference)")
    parser.add_argument("--threads", type=int, help="default: the usable cores, as one worker has them")
    parser.add_argument("--streams", type=int, help="of the streams variant; default: one a thread")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cell-seconds", type=float, default=0.5, help="time of the first variant in a cell a round")
    parser.add_argument("--matrix-seconds", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--name", default="engine-variants")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    result = measure(args)
    report.write_results(args.out, args.name, result, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
