"""Search benchmarks: ingest time and per-mode query latency, on the five documents and at law scale.

    python bench/bench_search.py                      # the bundled corpus, eval questions as queries
    python bench/bench_search.py --scale              # national laws (~64k articles)
    python bench/bench_search.py --scale --embed-all  # ... embedding every article for real
    python bench/bench_search.py --scale --embed-all --checkpoints /tmp/laws-vectors  # resumable

Embedding goes the way `rag ingest` does it: blocks of length-sorted clauses (`checkpoint_blocks`), spread
over `embed_workers` processes (`make_bulk_embedder`).

At scale without --embed-all, `--sample` articles are embedded for real (throughput, ANN recall) and the
remaining rows of the dense index are random unit vectors: FAISS latency depends on the row count and
dimension, not on the values, so query latency, index size and RSS are those of the full-size index.
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.checkpoints import PARTIAL, embed_pending, inputs_key, unfinished_version  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.index import FaissIndex  # noqa: E402
from rag.ingest import LoadedCorpus, load_corpus  # noqa: E402
from rag.pipeline import make_bulk_embedder, make_embedder, open_searcher  # noqa: E402
from rag.schema import Matrix  # noqa: E402
from rag.sentences import clause_sentences  # noqa: E402
from rag.store import CHECKPOINT_CLAUSES, build_index, checkpoint_blocks, passage_text  # noqa: E402

LAWS = ROOT.parent / "shared" / "corpora" / "laws"
MODES = ("hybrid", "dense", "lexical")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork+exec, so a
    subprocess would report its parent's peak (the bench's, with the torch model and every text)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def eval_questions(limit: int) -> list[str]:
    questions = []
    for path in (ROOT / "eval" / "queries.jsonl", ROOT / "eval" / "laws" / "queries.jsonl"):
        questions += [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    return (questions * (limit // len(questions) + 1))[:limit]


def time_queries(index_dir: Path, queries: Sequence[str], k: int = 10, **settings: str) -> dict[str, object]:
    """Open the store (timed) and time each mode over `queries`; `settings` pick the store (store="milvus" …)."""
    started = time.perf_counter()
    searcher = open_searcher(load_settings(index_dir=str(index_dir), **settings))
    results: dict[str, object] = {"open_s": round(time.perf_counter() - started, 2)}
    searcher.search(queries[0], k=k, mode="hybrid")  # load the model and warm caches outside the timings
    for mode in MODES:
        timings = []
        for query in queries:
            started = time.perf_counter()
            searcher.search(query, k=k, mode=mode)
            timings.append((time.perf_counter() - started) * 1000)
        results[mode] = {"p50_ms": round(percentile(timings, 0.5), 1), "p95_ms": round(percentile(timings, 0.95), 1),
                         "mean_ms": round(statistics.fmean(timings), 1), "queries": len(timings)}
    return results


def directory_size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def bench_corpus(args: argparse.Namespace) -> dict[str, object]:
    settings = load_settings()
    embedder = make_embedder(settings)
    with tempfile.TemporaryDirectory() as scratch:
        index_dir = Path(scratch) / "index"
        started = time.perf_counter()
        report = build_index(load_corpus([ROOT / "corpus"]), index_dir, embedder=embedder)
        ingest_s = time.perf_counter() - started
        latency = serving_measurements(index_dir, args.queries)
        return {"corpus": "bundled (5 documents)", "clauses": report.clauses, "ingest_s": round(ingest_s, 1),
                "embed_clauses_per_s": round(report.clauses / ingest_s, 1),
                "index_mb": round(directory_size_mb(index_dir), 2), **latency}


def serving_measurements(index_dir: Path, queries: int, **settings: str) -> dict[str, object]:
    """Opening time, query latency and RSS in a fresh process, as a server would see them."""
    code = (
        f"import json,sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from bench.bench_search import time_queries, eval_questions, peak_rss_mb\n"
        "from pathlib import Path\n"
        f"r = time_queries(Path({str(index_dir)!r}), eval_questions({queries}), **{settings!r})\n"
        "r['serving_peak_rss_mb'] = round(peak_rss_mb())\n"
        "print(json.dumps(r))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    measured = json.loads(output.strip().splitlines()[-1])
    return {"open_s": measured["open_s"], "latency": {m: measured[m] for m in MODES},
            "serving_peak_rss_mb": measured["serving_peak_rss_mb"]}


class PrecomputedEmbedder:
    """Serves document vectors computed beforehand (real for a sample, random for the rest); queries are real."""

    def __init__(self, real, vectors_by_text: dict[str, np.ndarray]) -> None:  # type: ignore[no-untyped-def]
        self.real = real
        self.name, self.dimension, self.fingerprint = real.name, real.dimension, real.fingerprint
        self.backend, self.device, self.model_path = real.backend, real.device, real.model_path
        self.vectors_by_text = vectors_by_text

    def embed_documents(self, texts: Sequence[str]) -> Matrix:
        return np.stack([self.vectors_by_text[t] if t in self.vectors_by_text else random_unit(t, self.dimension)
                         for t in texts]).astype(np.float32)

    def embed_queries(self, texts: Sequence[str]) -> Matrix:
        return self.real.embed_queries(texts)


def random_unit(text: str, dimension: int = 384) -> np.ndarray:
    """A random unit vector seeded by the text: the sentence vectors of the clauses not embedded for real."""
    vector = np.random.default_rng(abs(hash(text)) % 2**32).standard_normal(dimension)
    return vector / np.linalg.norm(vector)


def national_law_files() -> list[Path]:
    return sorted(p for p in LAWS.rglob("*.md") if not ({"DLC", "案例"} & set(p.relative_to(LAWS).parts)))


@dataclass
class LawRows:
    """The national laws, chunked, with a vector per clause: real for `sample_rows`, random unit vectors for the rest
    (and for the sentences of the rest: `random_unit`)."""

    corpus: LoadedCorpus
    clause_ids: list[str]
    texts: list[str]
    vectors: Matrix
    sentence_vectors: dict[str, Matrix]  # the real vectors of the sampled clauses' sentences, by text
    sample_rows: np.ndarray
    real: object  # the embedder (its queries are real)
    stats: dict[str, object]

    @property
    def embedder(self) -> PrecomputedEmbedder:
        return PrecomputedEmbedder(self.real, {**self.sentence_vectors, **dict(zip(self.texts, self.vectors, strict=True))})


def law_rows(args: argparse.Namespace) -> LawRows:
    from rag.chunk import split_clauses

    settings = load_settings()
    real = make_bulk_embedder(settings)
    started = time.perf_counter()
    corpus = load_corpus(national_law_files()[: args.limit_files or None])
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    clauses = [c for d in corpus.documents for c in split_clauses(d) if c.kind != "heading"]
    chunk_s = time.perf_counter() - started
    texts = [passage_text(c) for c in clauses]
    rng = np.random.default_rng(0)
    sample_rows = np.arange(len(texts)) if args.embed_all else rng.choice(len(texts), min(args.sample, len(texts)), replace=False)
    # What ingest embeds for a clause: its passage and, for a longer clause, each of its sentences.
    sample_texts = [texts[r] for r in sample_rows] + [s for r in sample_rows for s in clause_sentences(texts[r])]
    real.embed_documents(sample_texts[:256])  # start the worker processes outside the timing
    sample_vectors = np.zeros((len(sample_texts), real.dimension), dtype=np.float32)
    started, cpu_started = time.perf_counter(), time.process_time()
    resumed = embed_blocks(real, sample_texts, sample_vectors, args.checkpoints)
    embed_s = time.perf_counter() - started
    embed_cpu_s = time.process_time() - cpu_started
    # clauses (with their sentences) per second, over the share of the texts this run embedded
    embedded = len(sample_texts) - resumed
    throughput = len(sample_rows) * embedded / len(sample_texts) / embed_s if embedded else None
    vectors = rng.standard_normal((len(texts), real.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[sample_rows] = sample_vectors[: len(sample_rows)]
    sentence_vectors = dict(zip(sample_texts[len(sample_rows):], sample_vectors[len(sample_rows):], strict=True))
    workers = getattr(real, "workers", 1)
    close = getattr(real, "close", None)
    if close is not None:
        close()  # reaps the workers, so RUSAGE_CHILDREN holds their peak
    worker_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    stats: dict[str, object] = {
        "corpus": f"national laws: {len(corpus.documents)} files, {len(clauses)} indexed clauses",
        "load_and_clean_s": round(load_s, 1), "chunk_s": round(chunk_s, 1),
        "embedded_for_real": int(len(sample_rows)), "embed_clauses_per_s": throughput and round(throughput, 1),
        "embedded_texts": len(sample_texts), "texts_from_checkpoints": resumed,
        "embed_s": round(embed_s, 1), "embed_parent_cpu_s": round(embed_cpu_s, 1),
        "embed_workers": workers,
        "embed_worker_peak_rss_mb": round(worker_peak_mb) if workers > 1 else None,
        "embed_all_estimate_min": throughput and round(len(texts) / throughput / 60, 1),
        "embedder": f"{real.name} ({real.backend}, {real.device})",
    }
    return LawRows(LoadedCorpus(corpus.documents, ()), [c.clause_id for c in clauses], texts, vectors,
                   sentence_vectors, sample_rows, real, stats)


def embed_blocks(embedder, texts: list[str], vectors: Matrix, checkpoints: Path | None) -> int:  # type: ignore[no-untyped-def]
    """Fill `vectors` as `rag ingest` embeds, in length-sorted blocks; with a `checkpoints` directory each
    block is saved there and a rerun (after a kill, or to bench the serving side again) embeds only the
    blocks it lacks. Returns how many texts came from checkpoints."""
    blocks = checkpoint_blocks(texts, CHECKPOINT_CLAUSES)
    if checkpoints is None:
        for block in blocks:
            vectors[block] = embedder.embed_documents([texts[p] for p in block])
        return 0
    # The ingest's own checkpoints: a version directory per set of inputs (texts, model), others removed.
    key = inputs_key(embedder, {"bench": "law_rows"}, [str(p) for p in range(len(texts))], texts, CHECKPOINT_CLAUSES)
    checkpoints.mkdir(parents=True, exist_ok=True)
    partial = unfinished_version(checkpoints, key, current=None) / PARTIAL
    started = time.perf_counter()

    def progress(_stage: str, done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        if done and elapsed > 1:
            print(f"embed {done}/{total} texts, {done / elapsed:.1f} texts/s, "
                  f"ETA {(total - done) / (done / elapsed) / 60:.0f} min", file=sys.stderr, flush=True)

    return embed_pending(partial, vectors, range(len(texts)), texts, blocks, embedder, progress)


def bench_scale(args: argparse.Namespace) -> dict[str, object]:
    rows = law_rows(args)
    embedder = rows.embedder
    results = {**rows.stats, "ann_recall_at_10_vs_exact": ann_recall(rows.vectors[rows.sample_rows], rows.real,
                                                                     args.queries)}
    for kind in ("flat", "hnsw"):
        with tempfile.TemporaryDirectory() as scratch:
            index_dir = args.keep_index if kind == "hnsw" and args.keep_index else Path(scratch) / "index"
            started = time.perf_counter()
            build_index(rows.corpus, index_dir, embedder=embedder,  # type: ignore[arg-type]
                        ann_threshold=0 if kind == "hnsw" else 10**9, ann_kind="hnsw")
            results[f"{kind}_index_build_s_excluding_embedding"] = round(time.perf_counter() - started, 1)
            results[f"{kind}_index_mb"] = round(directory_size_mb(index_dir), 1)
            results[f"{kind}_serving"] = serving_measurements(index_dir, args.queries)
    results["bench_peak_rss_mb"] = round(peak_rss_mb())
    return results


def ann_recall(vectors: Matrix, embedder, queries: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Recall@10 of HNSW against exact search over the real sample vectors, real questions as queries."""
    query_vectors = embedder.embed_queries(eval_questions(queries))
    exact = FaissIndex(vectors.shape[1], "flat")
    exact.add(vectors)
    approximate = FaissIndex(vectors.shape[1], "hnsw")
    approximate.add(vectors)
    _, truth = exact.search(query_vectors, 10)
    _, found = approximate.search(query_vectors, 10)
    overlap = [len(set(t) & set(f)) / 10 for t, f in zip(truth.tolist(), found.tolist(), strict=True)]
    return {"recall@10": round(statistics.fmean(overlap), 4), "rows": int(len(vectors)), "queries": queries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", action="store_true", help="benchmark the national laws (~64k articles)")
    parser.add_argument("--sample", type=int, default=3000, help="articles embedded for real at scale")
    parser.add_argument("--embed-all", action="store_true", help="embed every article for real")
    parser.add_argument("--checkpoints", type=Path, help="save embedded blocks here; a rerun embeds only the rest")
    parser.add_argument("--keep-index", type=Path, help="build the HNSW index here and keep it (rag search --index)")
    parser.add_argument("--limit-files", type=int, default=0, help="only the first N law files (smoke test)")
    parser.add_argument("--queries", type=int, default=120, help="queries per mode (eval questions, repeated)")
    args = parser.parse_args()
    results = bench_scale(args) if args.scale else bench_corpus(args)
    results["cpu"] = f"{os.cpu_count()} cores, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
    print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
