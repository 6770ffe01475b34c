"""Hybrid search ranked by Milvus itself: its BM25 full-text search (jieba analyzer) and the dense vector,
fused by Milvus's RRFRanker or WeightedRanker in one `hybrid_search` call, scored on an eval set.

    RAG_STORE=milvus python bench/milvus_hybrid.py                               # policy set, dev
    RAG_STORE=milvus python bench/milvus_hybrid.py --set eval/laws --index index/laws --split test

The collection is the Milvus store's (`rag ingest` with RAG_STORE=milvus). Our own fusion over the same
collection is `rag eval` with RAG_STORE=milvus (RAG_MILVUS_LEXICAL=local or milvus); README, Milvus.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker  # noqa: E402

from rag.config import load_settings  # noqa: E402
from rag.evaluate import evaluate, load_eval_set  # noqa: E402
from rag.milvus_collection import HNSW_EF  # noqa: E402
from rag.pipeline import make_query_embedder, open_searcher  # noqa: E402
from rag.store_milvus import MilvusClauseStore  # noqa: E402

DEPTH = 50  # candidates per retriever, as Settings.candidates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default=str(ROOT / "eval"))
    parser.add_argument("--index", default=None)
    parser.add_argument("--split", default="dev", choices=("dev", "test"))
    args = parser.parse_args()
    settings = load_settings(index_dir=args.index, store="milvus")
    searcher = open_searcher(settings, embedder=make_query_embedder(settings))
    store = searcher.index
    if not isinstance(store, MilvusClauseStore):
        raise SystemExit("needs the Milvus store")
    client, collection = store.collections.client, store.collections.clauses
    rankers = {"rrf": RRFRanker(60),
               "weighted": WeightedRanker(settings.dense_weight, settings.lexical_weight,
                                          settings.lexical_weight * settings.heading_weight)}

    def search(question: str, k: int, mode: str) -> Sequence[str]:
        query = searcher.analyze(question)
        vector = searcher.query_vector(query.search_text).tolist()
        requests = [AnnSearchRequest([vector], "vector", {"metric_type": "IP", "params": {"ef": HNSW_EF}}, DEPTH),
                    AnnSearchRequest([query.lexical_text], "text_sparse", {"metric_type": "BM25"}, DEPTH)]
        if mode == "weighted":  # the headings field at its configured weight, as our fusion uses it
            requests.append(AnnSearchRequest([query.lexical_text], "heading_sparse", {"metric_type": "BM25"}, DEPTH))
        results = client.hybrid_search(collection, requests, rankers[mode], limit=2 * k,
                                       output_fields=["clause_id", "part"])
        ids: list[str] = []
        for hit in results[0]:
            entity = hit["entity"]
            base = entity["clause_id"].rsplit("-", 1)[0] if entity["part"] > 1 else entity["clause_id"]
            if base not in ids:
                ids.append(base)
        return ids[:k]

    eval_set = load_eval_set(args.set)
    result = evaluate(eval_set, search, modes=tuple(rankers), ks=(1, 3, 5, 10), split=args.split)
    for mode_result in result.modes:
        mode, metrics = mode_result.mode, mode_result.metrics
        print(f"{mode:>9}: " + "  ".join(f"{name} {metrics[name]:.3f}"
                                         for name in ("hit@1", "mrr@10", "recall@5", "recall@10", "ndcg@10")))


if __name__ == "__main__":
    main()
