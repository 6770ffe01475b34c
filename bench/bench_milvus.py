"""FAISS and Milvus Lite at the laws scale: ingest time, opening time, query latency, recall@10 vs exact.

    python bench/bench_milvus.py                      # every national law (~68k clauses)
    python bench/bench_milvus.py --limit-files 300    # the first 300 law files
    python bench/bench_milvus.py --embed-all --checkpoints /tmp/laws-vectors  # real vectors, reused

The rows are bench_search.py --scale's: the national laws chunked as `rag ingest` does, `--sample`
clauses embedded for real, random unit vectors for the rest (latency and size depend on the row count,
not the values). Ingest excludes embedding. Serving is measured in a fresh process per store, with real
eval questions; the Milvus store once with our BM25 (RAG_MILVUS_LEXICAL=local) and once with Milvus's.
Recall@10 is each store's dense search over clause vectors alone (HNSW in both; sentence weight 0) against
exact search over the same vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from milvus_lite.server_manager import server_manager_instance  # noqa: E402

from bench.bench_search import (  # noqa: E402
    LawRows,
    directory_size_mb,
    eval_questions,
    law_rows,
    peak_rss_mb,
    serving_measurements,
)
from rag.clause_store import ClauseStore, SearchFilters  # noqa: E402
from rag.index import FaissIndex  # noqa: E402
from rag.milvus_collection import connect  # noqa: E402
from rag.milvus_ingest import ingest_into_milvus  # noqa: E402
from rag.store import build_index, open_index  # noqa: E402
from rag.store_milvus import open_milvus_store  # noqa: E402

COLLECTION = "rag_bench"


def recall_at_10(store: ClauseStore, rows: LawRows, queries: int) -> float:
    """Share of the exact top 10 (inner product over every row's vector) that the store's dense search finds."""
    query_vectors = rows.real.embed_queries(eval_questions(queries))  # type: ignore[attr-defined]
    exact = FaissIndex(rows.vectors.shape[1], "flat")
    exact.add(rows.vectors)
    _, truth = exact.search(query_vectors, 10)
    overlaps = []
    for vector, true_rows in zip(query_vectors, truth.tolist(), strict=True):
        found = {s.clause.clause_id for s in store.dense_search(vector, 10, SearchFilters(), sentence_weight=0.0)}
        overlaps.append(len(found & {rows.clause_ids[r] for r in true_rows}) / 10)
    return round(statistics.fmean(overlaps), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=1000, help="clauses embedded for real")
    parser.add_argument("--limit-files", type=int, default=0, help="only the first N law files")
    parser.add_argument("--queries", type=int, default=120, help="queries per mode (eval questions, repeated)")
    parser.add_argument("--embed-all", action="store_true", help="embed every article for real")
    parser.add_argument("--checkpoints", type=Path,
                        help="embedded blocks saved by bench_search.py --checkpoints (the same rows): reused")
    args = parser.parse_args()
    rows = law_rows(args)
    results: dict[str, object] = dict(rows.stats)
    with tempfile.TemporaryDirectory() as scratch:
        faiss_dir, milvus_dir = Path(scratch) / "faiss", Path(scratch) / "milvus"
        started = time.perf_counter()
        # HNSW at any size (the FAISS store's default above 20,000 clauses), as the Milvus store always uses
        build_index(rows.corpus, faiss_dir, embedder=rows.embedder, ann_threshold=0)  # type: ignore[arg-type]
        results["faiss"] = {"ingest_s_excluding_embedding": round(time.perf_counter() - started, 1),
                            "index_mb": round(directory_size_mb(faiss_dir), 1),
                            "serving": serving_measurements(faiss_dir, args.queries)}
        print(json.dumps(results, ensure_ascii=False), file=sys.stderr, flush=True)

        uri = str(milvus_dir / "milvus.db")
        started = time.perf_counter()
        collections = connect(uri, COLLECTION, create=True)
        ingest_into_milvus(rows.corpus, collections, embedder=rows.embedder)  # type: ignore[arg-type]
        ingest_s = time.perf_counter() - started
        collections.client.close()
        server_manager_instance.release_server(uri)  # Milvus Lite: one process at a time, the servers below
        store = {"store": "milvus", "milvus_collection": COLLECTION}
        results["milvus_lite"] = {
            "ingest_s_excluding_embedding": round(ingest_s, 1), "data_mb": round(directory_size_mb(milvus_dir), 1),
            "serving_our_bm25": serving_measurements(milvus_dir, args.queries, **store, milvus_lexical="local"),
            "serving_milvus_bm25": serving_measurements(milvus_dir, args.queries, **store, milvus_lexical="milvus"),
        }
        print(json.dumps(results, ensure_ascii=False), file=sys.stderr, flush=True)
        results["recall_at_10_vs_exact"] = {
            "faiss_hnsw": recall_at_10(open_index(faiss_dir), rows, args.queries),
            "milvus_lite_hnsw": recall_at_10(open_milvus_store(uri, COLLECTION, lexical="milvus"), rows, args.queries),
            "rows": len(rows.texts), "queries": args.queries,
        }
    results["bench_peak_rss_mb"] = round(peak_rss_mb())
    results["cpu"] = f"{os.cpu_count()} cores, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
    print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
