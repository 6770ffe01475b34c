"""Tune the hybrid ranking weights on an eval set's dev split (never on test), printing a table.

    python bench/tune_ranking.py                                   # policy set, index/default
    python bench/tune_ranking.py --set eval/laws --index index/laws
    python bench/tune_ranking.py --split test --only-defaults      # report the chosen settings once

Each question is embedded once; every setting of the grid then re-ranks with the real Retriever.
Pick the setting that is best on dev across both sets, write it into rag/config.py, report test once.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import sys
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.config import load_settings  # noqa: E402
from rag.evaluate import load_eval_set  # noqa: E402
from rag.metrics import hit_rate_at_k, mrr_at_k, recall_at_k, relevant_ids  # noqa: E402
from rag.pipeline import make_query_embedder, open_store, ranking_from  # noqa: E402
from rag.retrieve import Ranking, Retriever  # noqa: E402
from rag.schema import Matrix  # noqa: E402

GRID = {
    "dense_weight": (0.4, 0.5, 0.6, 0.7, 0.8),
    "sentence_weight": (0.0, 0.3, 0.5, 0.7),
    "heading_weight": (0.0, 0.3, 0.6),
    "department_boost": (0.0, 0.1, 0.2),
    "document_boost": (0.0, 0.2),
}


class CachedEmbedder:
    """The real query embedder, remembering each text's vector so a grid costs one embedding per question."""

    def __init__(self, embedder: object) -> None:
        self._embedder = embedder
        self._cache: dict[str, Matrix] = {}
        for name in ("name", "backend", "dimension", "fingerprint"):
            setattr(self, name, getattr(embedder, name))

    def embed_queries(self, texts: Sequence[str]) -> Matrix:
        import numpy as np

        missing = [t for t in texts if t not in self._cache]
        if missing:
            for text, vector in zip(missing, self._embedder.embed_queries(missing), strict=True):  # type: ignore[attr-defined]
                self._cache[text] = vector
        return np.stack([self._cache[t] for t in texts])

    def embed_documents(self, texts: Sequence[str]) -> Matrix:
        return self._embedder.embed_documents(texts)  # type: ignore[attr-defined, no-any-return]


def score(retriever: Retriever, questions: Sequence[tuple[str, dict[str, int]]], mode: str) -> dict[str, float]:
    totals = {"hit@1": 0.0, "mrr@10": 0.0, "recall@5": 0.0}
    for text, judged in questions:
        ranked = [h.clause.base_id for h in retriever.search(text, k=10, mode=mode)]
        gold = relevant_ids(judged)
        totals["hit@1"] += hit_rate_at_k(ranked, gold, 1)
        totals["mrr@10"] += mrr_at_k(ranked, gold, 10)
        totals["recall@5"] += recall_at_k(ranked, gold, 5)
    return {key: value / len(questions) for key, value in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default=str(ROOT / "eval"))
    parser.add_argument("--index", default=None)
    parser.add_argument("--split", default="dev", choices=("dev", "test"))
    parser.add_argument("--only-defaults", action="store_true", help="score the configured ranking only")
    parser.add_argument("--top", type=int, default=25, help="print this many of the best settings")
    args = parser.parse_args()
    settings = load_settings(index_dir=args.index)
    eval_set = load_eval_set(args.set)
    questions = [(q.text, dict(eval_set.qrels[q.query_id])) for q in eval_set.select(args.split)
                 if q.query_id in eval_set.answerable_ids()]
    embedder = CachedEmbedder(make_query_embedder(settings))
    defaults = ranking_from(settings)
    retriever = Retriever(open_store(settings), lambda: embedder, ranking=defaults,  # type: ignore[arg-type, return-value]
                          candidates=settings.candidates)
    print(f"{args.set} {args.split}: {len(questions)} answerable questions")
    for mode in ("dense", "lexical"):
        retriever.ranking = defaults
        print(f"{mode:>8}: " + "  ".join(f"{k} {v:.3f}" for k, v in score(retriever, questions, mode).items()))
    settings_grid = [defaults] if args.only_defaults else [
        dataclasses.replace(defaults, lexical_weight=1 - dense, dense_weight=dense, sentence_weight=sentence,
                            heading_weight=heading, department_boost=department, document_boost=document)
        for dense, sentence, heading, department, document in itertools.product(*GRID.values())]
    rows = []
    for ranking in settings_grid:
        retriever.ranking = ranking
        rows.append((score(retriever, questions, "hybrid"), ranking))
    rows.sort(key=lambda row: (-row[0]["mrr@10"], -row[0]["hit@1"]))
    for metrics, ranking in rows[:args.top]:
        print(describe(ranking) + "  " + "  ".join(f"{k} {v:.3f}" for k, v in metrics.items())
              + ("  ← configured" if ranking == defaults else ""))


def describe(ranking: Ranking) -> str:
    share = ranking.dense_weight / (ranking.dense_weight + ranking.lexical_weight)
    return (f"dense {share:.2f} sentence {ranking.sentence_weight:.1f} heading {ranking.heading_weight:.1f} dept {ranking.department_boost:.1f} "
            f"doc {ranking.document_boost:.1f}")


if __name__ == "__main__":
    main()
