"""Search a clause store: dense, lexical (BM25) or both fused, with intent- and document-aware ranking."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.clause_store import CandidatePool, ClauseStore, Scored, SearchFilters
from rag.embed import Embedder
from rag.errors import QueryError
from rag.question import Query, analyze_question, normalize_query
from rag.schema import Clause, Hit, Matrix

MODES = ("hybrid", "dense", "lexical")
QUERY_VECTORS_KEPT = 64
__all__ = ["MODES", "Retriever", "SearchFilters", "Ranking", "convex_fusion", "normalize_query"]


@dataclass(frozen=True)
class Ranking:
    """How hybrid search weighs its signals; defaults live in config.Settings (tuned on the dev split)."""

    dense_weight: float  # share of the dense cosine in the fused score …
    lexical_weight: float  # … and of BM25, each min-max normalised over the candidate pool
    sentence_weight: float  # the dense score: (1 − w) · the clause's cosine + w · its best sentence's
    heading_weight: float  # BM25 of the title/chapter field, relative to the clause text
    department_boost: float  # a department question prefers clauses that name departments
    document_boost: float  # a question naming a document (汕尾, 《…》) prefers its clauses


def convex_fusion(scores: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Σ weightᵢ · minmax(scoresᵢ) / Σ weights over one candidate pool (rows aligned across the arrays).

    Unlike rank fusion this keeps how far apart the candidates are: a clause far ahead on BM25 is not
    pulled level with one that the noisier dense ranking happens to put first.
    """
    _check_weights(weights)
    total = np.zeros(len(scores[0]), dtype=np.float64)
    for values, weight in zip(scores, weights, strict=True):
        low, high = float(np.min(values)), float(np.max(values))
        if high > low:
            total += weight * (values - low) / (high - low)
    return total / sum(weights)


def _check_weights(weights: Sequence[float]) -> None:
    if any(w < 0 for w in weights) or not any(w > 0 for w in weights):
        raise ValueError("fusion weights must be non-negative with at least one positive")


class Retriever:
    """Searches one clause store. The embedder loads on first dense use; lexical needs none."""

    def __init__(self, index: ClauseStore, embedder_factory: Callable[[], Embedder], *, ranking: Ranking,
                 candidates: int = 50, max_query_chars: int = 2_000) -> None:
        self.index = index
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self.candidates = candidates
        self.ranking = ranking
        self.max_query_chars = max_query_chars
        # The last query vectors: the relevance decision reuses the vector the search just computed.
        self._vectors: dict[str, Matrix] = {}
        self._vectors_lock = threading.Lock()  # the app answers several requests at once

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            embedder = self._embedder_factory()
            self.index.check_embedder(embedder)
            self._embedder = embedder
        return self._embedder

    def analyze(self, question: str, *, history: Sequence[str] = ()) -> Query:
        """The one analysis of `question` against this index's documents."""
        return analyze_question(question, max_chars=self.max_query_chars, history=history,
                                documents=self.index.manifest.documents, words=self.index.words)

    def search(self, query: str | Query, *, k: int = 10, mode: str = "hybrid",
               filters: SearchFilters = SearchFilters()) -> list[Hit]:
        """The k best clauses for `query`; parts of one long clause count once."""
        if mode not in MODES:
            raise QueryError(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
        if k < 1:
            raise QueryError("k must be at least 1")
        analyzed = query if isinstance(query, Query) else self.analyze(query)
        depth = max(self.candidates, 2 * k)
        if mode == "lexical":
            ranked = self.index.lexical_search(analyzed.lexical_text, depth, filters,
                                               heading_weight=self.ranking.heading_weight)
            return self._hits(ranked, k, None)
        vector = self.query_vector(analyzed.search_text)
        if mode == "dense":
            ranked = self.index.dense_search(vector, depth, filters, sentence_weight=self.ranking.sentence_weight)
            return self._hits(ranked, k, vector)
        pool = self.index.hybrid_pool(vector, analyzed.lexical_text, depth, filters,
                                      heading_weight=self.ranking.heading_weight,
                                      sentence_weight=self.ranking.sentence_weight)
        return self._hits(self._hybrid(analyzed, pool), k, vector, signal_ranks(pool))

    def query_vector(self, text: str) -> Matrix:
        """The embedding of a query text, remembered for the next few calls."""
        with self._vectors_lock:
            vector = self._vectors.get(text)
        if vector is None:
            vector = self.embedder.embed_queries([text])[0]
            with self._vectors_lock:
                if len(self._vectors) >= QUERY_VECTORS_KEPT:
                    self._vectors.pop(next(iter(self._vectors)))
                self._vectors[text] = vector
        return vector

    def _hybrid(self, query: Query, pool: CandidatePool) -> list[Scored]:
        """Fuse the dense and lexical candidates, then prefer what the question's intent and names ask for."""
        if not pool.clauses:
            return []
        fused = convex_fusion([pool.dense, pool.lexical], (self.ranking.dense_weight, self.ranking.lexical_weight))
        fused = fused + self._preferences(query, pool.clauses)
        order = np.lexsort((np.arange(len(fused)), -fused))  # ties keep the store's order
        return [Scored(pool.clauses[i], float(fused[i])) for i in order]

    def _preferences(self, query: Query, clauses: Sequence[Clause]) -> np.ndarray:
        """Bonuses for clauses that fit what was asked: departments for a department question, the named document."""
        bonus = np.zeros(len(clauses), dtype=np.float64)
        if query.intent == "department" and self.ranking.department_boost:
            bonus += self.ranking.department_boost * np.asarray([bool(c.departments) for c in clauses])
        if query.documents and self.ranking.document_boost:
            bonus += self.ranking.document_boost * np.asarray([c.doc_id in query.documents for c in clauses])
        return bonus

    def _hits(self, ranked: Sequence[Scored], k: int, query_vector: Matrix | None,
              ranks: dict[str, tuple[int, int | None]] | None = None) -> list[Hit]:
        chosen: list[Scored] = []
        seen: set[str] = set()
        for scored in ranked:
            if scored.clause.base_id not in seen:
                seen.add(scored.clause.base_id)
                chosen.append(scored)
                if len(chosen) == k:
                    break
        # One pass over the chosen clauses: each hit's dense score, for the answer's relevance decision.
        similarities: list[float | None] = [None] * len(chosen)
        if query_vector is not None and chosen:
            similarities = [float(s) for s in self.index.dense_scores(
                [c.clause.clause_id for c in chosen], query_vector, sentence_weight=self.ranking.sentence_weight)]
        ranks = ranks or {}
        return [Hit(clause=c.clause, score=c.score, rank=rank, similarity=similarity,
                    dense_rank=ranks.get(c.clause.base_id, (None, None))[0],
                    lexical_rank=ranks.get(c.clause.base_id, (None, None))[1])
                for rank, (c, similarity) in enumerate(zip(chosen, similarities, strict=True), start=1)]


def signal_ranks(pool: CandidatePool) -> dict[str, tuple[int, int | None]]:
    """Each candidate clause's rank by the dense and by the lexical score alone (parts of a long clause: the
    best part); no lexical rank without a query word in the clause."""
    dense_rank = np.empty(len(pool.clauses), dtype=np.int64)
    dense_rank[np.argsort(-pool.dense, kind="stable")] = np.arange(1, len(pool.clauses) + 1)
    lexical_rank = np.empty(len(pool.clauses), dtype=np.int64)
    lexical_rank[np.argsort(-pool.lexical, kind="stable")] = np.arange(1, len(pool.clauses) + 1)
    ranks: dict[str, tuple[int, int | None]] = {}
    for i, clause in enumerate(pool.clauses):
        dense, lexical = int(dense_rank[i]), int(lexical_rank[i]) if pool.lexical[i] > 0 else None
        if clause.base_id in ranks:  # another part of the same long clause
            other_dense, other_lexical = ranks[clause.base_id]
            dense = min(dense, other_dense)
            lexical = min((r for r in (lexical, other_lexical) if r is not None), default=None)
        ranks[clause.base_id] = (dense, lexical)
    return ranks
