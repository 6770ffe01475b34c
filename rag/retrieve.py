"""Search an index: dense (FAISS), lexical (BM25) or both fused, with intent- and document-aware ranking."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.departments import department_matches
from rag.embed import Embedder
from rag.errors import QueryError
from rag.index import Rows
from rag.question import Query, analyze_question, normalize_query
from rag.schema import Hit, Matrix
from rag.store import ClauseIndex

MODES = ("hybrid", "dense", "lexical")
QUERY_VECTORS_KEPT = 64
__all__ = ["MODES", "Retriever", "SearchFilters", "Ranking", "convex_fusion", "normalize_query"]


@dataclass(frozen=True)
class SearchFilters:
    doc_ids: tuple[str, ...] = ()
    department: str = ""  # matched through the alias table: 工信部 finds 工业和信息化部
    chapter: str = ""  # substring of the chapter heading, e.g. "保障措施" or "第二章"

    @property
    def active(self) -> bool:
        return bool(self.doc_ids or self.department or self.chapter)


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
    """Searches one loaded index. The embedder loads on first dense use; lexical needs none."""

    def __init__(self, index: ClauseIndex, embedder_factory: Callable[[], Embedder], *, ranking: Ranking,
                 candidates: int = 50, max_query_chars: int = 2_000) -> None:
        self.index = index
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self.candidates = candidates
        self.ranking = ranking
        self.max_query_chars = max_query_chars
        # Rows allowed by each filter: a Python pass over every clause, done once per filter and index.
        self._allowed_cache: dict[SearchFilters, Rows] = {}
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
                                documents=self.index.documents)

    def search(self, query: str | Query, *, k: int = 10, mode: str = "hybrid",
               filters: SearchFilters = SearchFilters()) -> list[Hit]:
        """The k best clauses for `query`; parts of one long clause count once."""
        if mode not in MODES:
            raise QueryError(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
        if k < 1:
            raise QueryError("k must be at least 1")
        analyzed = query if isinstance(query, Query) else self.analyze(query)
        allowed = self._allowed_rows(filters)
        if allowed is not None and len(allowed) == 0:
            return []
        depth = max(self.candidates, 2 * k)
        vector = self.query_vector(analyzed.search_text) if mode != "lexical" else None
        if mode == "dense" and vector is not None:
            ranked = self.index.dense_search(vector, depth, allowed, sentence_weight=self.ranking.sentence_weight)
        elif mode == "lexical":
            ranked = self._lexical(analyzed, depth, allowed)
        elif vector is not None:
            ranked = self._hybrid(analyzed, vector, depth, allowed)
        return self._hits(ranked, k, vector)

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

    def typical_similarity(self, query: Query) -> float:
        """The query's mean cosine to every clause: the level that any clause reaches without being relevant."""
        return float(self.index.centroid @ self.query_vector(query.search_text))

    def _hybrid(self, query: Query, vector: Matrix, depth: int, allowed: Rows | None) -> list[tuple[int, float]]:
        """Fuse the dense and lexical candidates, then prefer what the question's intent and names ask for."""
        dense = self.index.dense_search(vector, depth, allowed, sentence_weight=self.ranking.sentence_weight)
        lexical_all = self._lexical_scores(query, allowed)
        lexical = _top_rows(lexical_all, depth)
        pool = np.asarray(sorted({r for r, _ in dense} | {r for r, _ in lexical}), dtype=np.int64)
        if len(pool) == 0:
            return []
        fused = convex_fusion([self.dense_scores(pool, vector), lexical_all[pool]],
                              (self.ranking.dense_weight, self.ranking.lexical_weight))
        fused = fused + self._preferences(query, pool)
        order = np.lexsort((pool, -fused))
        return [(int(pool[i]), float(fused[i])) for i in order]

    def dense_scores(self, rows: Rows, vector: Matrix) -> Matrix:
        """How close each clause is to the query vector: its own cosine mixed with its best sentence's."""
        return self.index.dense_scores(rows, vector, sentence_weight=self.ranking.sentence_weight)

    def _preferences(self, query: Query, pool: Rows) -> np.ndarray:
        """Bonuses for clauses that fit what was asked: departments for a department question, the named document."""
        bonus = np.zeros(len(pool), dtype=np.float64)
        clauses = [self.index.clauses[row] for row in pool]
        if query.intent == "department" and self.ranking.department_boost:
            bonus += self.ranking.department_boost * np.asarray([bool(c.departments) for c in clauses])
        if query.documents and self.ranking.document_boost:
            bonus += self.ranking.document_boost * np.asarray([c.doc_id in query.documents for c in clauses])
        return bonus

    def _lexical_scores(self, query: Query, allowed: Rows | None) -> np.ndarray:
        scores = self.index.lexical_scores(query.lexical_text, heading_weight=self.ranking.heading_weight)
        if allowed is not None:
            masked = np.full_like(scores, -1.0)
            masked[allowed] = scores[allowed]
            scores = masked
        return scores

    def _lexical(self, query: Query, depth: int, allowed: Rows | None) -> list[tuple[int, float]]:
        return _top_rows(self._lexical_scores(query, allowed), depth)

    def _allowed_rows(self, filters: SearchFilters) -> Rows | None:
        if not filters.active:
            return None
        if filters not in self._allowed_cache:
            self._allowed_cache[filters] = self._matching_rows(filters)
        return self._allowed_cache[filters]

    def _matching_rows(self, filters: SearchFilters) -> Rows:
        rows = [
            row for row, clause in enumerate(self.index.clauses)
            if (not filters.doc_ids or clause.doc_id in filters.doc_ids)
            and (not filters.department or department_matches(filters.department, clause.departments))
            and (not filters.chapter or filters.chapter in f"{clause.chapter} {clause.section}")
        ]
        return np.asarray(rows, dtype=np.int64)

    def _hits(self, ranked: Sequence[tuple[int, float]], k: int, query_vector: Matrix | None) -> list[Hit]:
        kept: list[tuple[int, float]] = []
        seen: set[str] = set()
        for row, score in ranked:
            base_id = self.index.clauses[row].base_id
            if base_id not in seen:
                seen.add(base_id)
                kept.append((row, score))
            if len(kept) == k:
                break
        rows = np.asarray([row for row, _ in kept], dtype=np.int64)
        # One pass over the kept rows: each hit's dense score, for the answer's relevance decision.
        similarities = (self.dense_scores(rows, query_vector).tolist() if query_vector is not None and len(rows)
                        else [None] * len(rows))
        return [Hit(clause=self.index.clauses[row], score=float(score), rank=rank, similarity=similarity)
                for rank, ((row, score), similarity) in enumerate(zip(kept, similarities, strict=True), start=1)]


def _top_rows(scores: np.ndarray, depth: int) -> list[tuple[int, float]]:
    """The `depth` best-scoring rows with a positive score, best first."""
    depth = min(depth, len(scores))
    if depth <= 0:
        return []
    top = np.argpartition(-scores, depth - 1)[:depth] if depth < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(row), float(scores[row])) for row in top if scores[row] > 0]
