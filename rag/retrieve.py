"""Search an index: dense (FAISS), lexical (BM25) or both fused by reciprocal rank."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.clean import normalize_width, to_simplified
from rag.departments import department_matches
from rag.embed import Embedder
from rag.errors import QueryError
from rag.index import Rows
from rag.schema import Hit
from rag.store import ClauseIndex

MODES = ("hybrid", "dense", "lexical")


@dataclass(frozen=True)
class SearchFilters:
    doc_ids: tuple[str, ...] = ()
    department: str = ""  # matched through the alias table: 工信部 finds 工业和信息化部
    chapter: str = ""  # substring of the chapter heading, e.g. "保障措施" or "第二章"

    @property
    def active(self) -> bool:
        return bool(self.doc_ids or self.department or self.chapter)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], weights: Sequence[float], *, k: int = 60
                           ) -> list[tuple[int, float]]:
    """Fuse ranked lists of rows: score(row) = Σ weight / (k + rank), ranks 1-based; best first."""
    if k < 1:
        raise ValueError("rrf k must be at least 1")
    if any(w < 0 for w in weights) or not any(w > 0 for w in weights):
        raise ValueError("rrf weights must be non-negative with at least one positive")
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, row in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def normalize_query(query: str, *, max_chars: int) -> str:
    """Validate a query and bring it to the index's script and width (traditional → simplified)."""
    if not isinstance(query, str) or not query.strip():
        raise QueryError("问题是空的：请输入问题或关键词，例如“哪些部门负责质量基础设施一站式服务？”")
    if len(query) > max_chars:
        raise QueryError(f"问题太长（{len(query)} 字，上限 {max_chars} 字）：请只保留想问的部分")
    return re.sub(r"\s+", " ", normalize_width(to_simplified(query.strip())))


class Retriever:
    """Searches one loaded index. The embedder loads on first dense use; lexical needs none."""

    def __init__(self, index: ClauseIndex, embedder_factory: Callable[[], Embedder], *, candidates: int = 50,
                 rrf_k: int = 60, dense_weight: float = 1.0, lexical_weight: float = 1.0,
                 max_query_chars: int = 2_000) -> None:
        self.index = index
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.weights = (dense_weight, lexical_weight)
        self.max_query_chars = max_query_chars
        # Rows allowed by each filter: a Python pass over every clause, done once per filter and index.
        self._allowed_cache: dict[SearchFilters, Rows] = {}

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            embedder = self._embedder_factory()
            self.index.check_embedder(embedder)
            self._embedder = embedder
        return self._embedder

    def search(self, query: str, *, k: int = 10, mode: str = "hybrid",
               filters: SearchFilters = SearchFilters()) -> list[Hit]:
        """The k best clauses for `query`; parts of one long clause count once."""
        if mode not in MODES:
            raise QueryError(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
        if k < 1:
            raise QueryError("k must be at least 1")
        text = normalize_query(query, max_chars=self.max_query_chars)
        allowed = self._allowed_rows(filters)
        if allowed is not None and len(allowed) == 0:
            return []
        depth = max(self.candidates, 2 * k)
        query_vector = self.embedder.embed_queries([text])[0] if mode != "lexical" else None
        dense = self._dense(query_vector, depth, allowed) if query_vector is not None else []
        lexical = self._lexical(text, depth, allowed) if mode != "dense" else []
        if mode == "hybrid":
            ranked = reciprocal_rank_fusion([[r for r, _ in dense], [r for r, _ in lexical]], self.weights,
                                            k=self.rrf_k)
        else:
            ranked = dense or lexical
        return self._hits(ranked, k, query_vector)

    def _dense(self, vector: np.ndarray, depth: int, allowed: Rows | None) -> list[tuple[int, float]]:
        scores, rows = self.index.dense.search(vector[None, :], depth, allowed)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def _lexical(self, text: str, depth: int, allowed: Rows | None) -> list[tuple[int, float]]:
        scores = self.index.lexical.scores(text)
        if allowed is not None:
            masked = np.full_like(scores, -1.0)
            masked[allowed] = scores[allowed]
            scores = masked
        depth = min(depth, len(scores))
        top = np.argpartition(-scores, depth - 1)[:depth] if depth < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(row), float(scores[row])) for row in top if scores[row] > 0]

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

    def _hits(self, ranked: Sequence[tuple[int, float]], k: int, query_vector: np.ndarray | None) -> list[Hit]:
        hits: list[Hit] = []
        seen: set[str] = set()
        for row, score in ranked:
            clause = self.index.clauses[row]
            if clause.base_id in seen:
                continue
            seen.add(clause.base_id)
            similarity = float(self.index.vectors[row] @ query_vector) if query_vector is not None else None
            hits.append(Hit(clause=clause, score=float(score), rank=len(hits) + 1, similarity=similarity))
            if len(hits) == k:
                break
        return hits
