"""Lexical search for the Milvus store, two ways (`Settings.milvus_lexical`):

- `LocalBm25` ("local"): our BM25 — the FAISS store's tokenizer, two fields, bm25s — over the collection's
  clauses, held in each replica and brought up to date when the collection's generation changes (only
  changed documents are fetched; tokens are cached while the title words stay the same);
- `MilvusBm25` ("milvus"): Milvus's own BM25 full-text search over the `text` and `heading` fields (jieba
  analyzer); nothing is held per replica, so it scales with the server, not with each replica's memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from rag.clause_store import Scored, SearchFilters
from rag.lexical import ClauseBm25, TermCounts, shared_tokenizer, top_scores
from rag.milvus_collection import (
    CLAUSE_FIELDS,
    Collections,
    StoredDocument,
    clause_from_row,
    filter_expression,
    ids_expression,
    quote,
    scan,
)
from rag.passages import heading_text, passage_text
from rag.schema import Clause

FETCH_DOCUMENTS = 200  # documents per query when fetching clauses (a filter of that many ids stays short)


@dataclass(frozen=True)
class LexicalResult:
    top: list[Scored]  # the best clauses by BM25, best first
    scores_of: Callable[[Sequence[str]], np.ndarray]  # BM25 of any clauses by id (0 when no query word occurs)


class Lexicon(Protocol):
    def refresh(self, documents: Sequence[StoredDocument]) -> None:
        """Bring the lexical state up to the collection's documents (in corpus order)."""

    def search(self, text: str, depth: int, filters: SearchFilters, *, heading_weight: float) -> LexicalResult: ...

    def count_containing(self, term: str) -> int: ...


@dataclass
class _LocalState:
    """One generation's clauses and BM25; replaced whole, so a search in another thread sees one or the other."""

    documents: dict[str, tuple[str, list[Clause]]]  # doc id → (content hash, clauses in text order)
    words: tuple[str, ...]
    tokens: dict[str, list[str]]  # text → its tokens under `words`
    clauses: list[Clause]
    bm25: ClauseBm25 | None
    row_of: dict[str, int] = field(default_factory=dict)
    allowed: dict[SearchFilters, np.ndarray] = field(default_factory=dict)
    containing: TermCounts | None = None


class LocalBm25:
    """BM25 over the collection's clauses in this process, exactly as the FAISS store scores them."""

    def __init__(self, collections: Collections) -> None:
        self._collections = collections
        self._state = _LocalState({}, (), {}, [], None)

    def refresh(self, documents: Sequence[StoredDocument]) -> None:
        old = self._state
        stale = [d.entry.doc_id for d in documents
                 if old.documents.get(d.entry.doc_id, ("", []))[0] != d.entry.content_hash]
        fetched = _fetch_clauses(self._collections, stale)
        by_document = {d.entry.doc_id: (d.entry.content_hash, fetched[d.entry.doc_id] if d.entry.doc_id in fetched
                                        else old.documents[d.entry.doc_id][1]) for d in documents}
        words = tuple(sorted({word for d in documents for word in d.words}))
        cached = old.tokens if words == old.words else {}
        tokenizer = shared_tokenizer(words)
        clauses = [clause for _, doc_clauses in by_document.values() for clause in doc_clauses]
        texts = [passage_text(c) for c in clauses]
        headings = [heading_text(c) for c in clauses]
        tokens = {text: cached.get(text) or tokenizer.tokenize(text) for text in {*texts, *headings}}
        bm25 = ClauseBm25.from_tokens([tokens[t] for t in texts], [tokens[h] for h in headings], words) \
            if clauses else None
        self._state = _LocalState(by_document, words, tokens, clauses, bm25,
                                  {clause.clause_id: row for row, clause in enumerate(clauses)})

    def search(self, text: str, depth: int, filters: SearchFilters, *, heading_weight: float) -> LexicalResult:
        state = self._state
        if state.bm25 is None:
            return LexicalResult([], lambda ids: np.zeros(len(ids), dtype=np.float32))
        scores = state.bm25.scores(text, heading_weight=heading_weight)
        if filters.active:
            masked = np.full_like(scores, -1.0)
            allowed = _allowed_rows(state, filters)
            masked[allowed] = scores[allowed]
            scores = masked
        top = [Scored(state.clauses[row], score) for row, score in top_scores(scores, depth)]

        def scores_of(clause_ids: Sequence[str]) -> np.ndarray:
            # A clause the dense search found may be newer than this state (an ingest in between): no BM25 yet.
            rows = [state.row_of.get(clause_id) for clause_id in clause_ids]
            return np.asarray([0.0 if row is None else scores[row] for row in rows], dtype=np.float32)

        return LexicalResult(top, scores_of)

    def count_containing(self, term: str) -> int:
        state = self._state
        if state.containing is None:
            state.containing = TermCounts([clause.text for clause in state.clauses])
        return state.containing(term)


def _allowed_rows(state: _LocalState, filters: SearchFilters) -> np.ndarray:
    if filters not in state.allowed:
        state.allowed[filters] = np.asarray([row for row, clause in enumerate(state.clauses) if filters.matches(clause)],
                                            dtype=np.int64)
    return state.allowed[filters]


class MilvusBm25:
    """Milvus's BM25 over `text` and `heading`: per field top-k, combined as text + heading_weight × heading."""

    def __init__(self, collections: Collections) -> None:
        self._collections = collections
        self._containing: dict[str, int] = {}

    def refresh(self, documents: Sequence[StoredDocument]) -> None:
        self._containing.clear()

    def search(self, text: str, depth: int, filters: SearchFilters, *, heading_weight: float) -> LexicalResult:
        weights = {"text_sparse": 1.0, **({"heading_sparse": heading_weight} if heading_weight else {})}
        expression = filter_expression(filters)
        clauses: dict[str, Clause] = {}
        per_field: dict[str, dict[str, float]] = {}
        for sparse in weights:
            hits = self._sparse_search(sparse, text, depth, expression, CLAUSE_FIELDS)
            per_field[sparse] = {hit["clause_id"]: score for hit, score in hits}
            clauses.update({hit["clause_id"]: clause_from_row(hit["entity"]) for hit, _ in hits})

        def scores_of(clause_ids: Sequence[str]) -> np.ndarray:
            # A clause near the top of one field may score in the other below its top-k: ask for those.
            for sparse, scores in per_field.items():
                missing = [clause_id for clause_id in clause_ids if clause_id not in scores]
                if missing:
                    scores.update({hit["clause_id"]: score for hit, score in
                                   self._sparse_search(sparse, text, len(missing), ids_expression(missing), [])})
                    scores.update({clause_id: 0.0 for clause_id in missing if clause_id not in scores})
            return np.asarray([sum(w * per_field[f][clause_id] for f, w in weights.items()) for clause_id in clause_ids],
                              dtype=np.float32)

        ranked = list(clauses)
        totals = scores_of(ranked)
        order = [i for i in np.argsort(-totals, kind="stable")[:depth] if totals[i] > 0]
        return LexicalResult([Scored(clauses[ranked[i]], float(totals[i])) for i in order], scores_of)

    def count_containing(self, term: str) -> int:
        if term not in self._containing:
            # `like` is case-sensitive: a lower-cased question word is also looked for as documents write
            # acronyms (CCC, ISO).
            spellings = dict.fromkeys((term, term.upper()))
            expression = " or ".join(f"text like {quote('%' + spelling + '%')}" for spelling in spellings)
            rows = self._collections.client.query(self._collections.clauses, filter=expression,
                                                  output_fields=["count(*)"])
            self._containing[term] = int(rows[0]["count(*)"])
        return self._containing[term]

    def _sparse_search(self, sparse: str, text: str, limit: int, expression: str,
                       output_fields: list[str]) -> list[tuple[dict, float]]:
        results = self._collections.client.search(
            self._collections.clauses, data=[text], anns_field=sparse, limit=limit, filter=expression,
            output_fields=output_fields, search_params={"metric_type": "BM25"})
        # Milvus reports BM25 as a positive score, Milvus Lite as its negative (a distance): the size is the score.
        return [(hit, abs(float(hit["distance"]))) for hit in results[0] if hit["distance"]]


LEXICONS = {"local": LocalBm25, "milvus": MilvusBm25}


def _fetch_clauses(collections: Collections, doc_ids: Sequence[str]) -> dict[str, list[Clause]]:
    """The clauses of these documents, each document's in text order."""
    found: dict[str, list[Clause]] = {doc_id: [] for doc_id in doc_ids}
    for start in range(0, len(doc_ids), FETCH_DOCUMENTS):
        batch = doc_ids[start:start + FETCH_DOCUMENTS]
        expression = f"doc_id in [{', '.join(quote(d) for d in batch)}]"
        for row in scan(collections, collections.clauses, expression, CLAUSE_FIELDS):
            found[row["doc_id"]].append(clause_from_row(row))
    for clauses in found.values():
        clauses.sort(key=lambda clause: clause.start)
    return found
