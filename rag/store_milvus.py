"""The Milvus clause store: collections that many app replicas share, updated while they serve.

Every search first reads the collection's generation (one primary-key read); when an ingest has bumped
it, the store reloads the document list and the lexical state before answering, so a
replica sees a re-ingested document on its next query without a restart. Dense search (clauses and their
sentences), filters and the clauses themselves come from Milvus; lexical search is `rag.milvus_lexical`'s.
Dense scores are computed here from the vectors Milvus returns, by the same arithmetic as the FAISS store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.clause_store import (
    CandidatePool,
    EmbedderRecord,
    Manifest,
    Scored,
    SearchFilters,
    check_same_space,
)
from rag.embed import Embedder
from rag.errors import IndexMismatch, IndexNotFound, SettingsError
from rag.milvus_collection import (
    CLAUSE_FIELDS,
    HNSW_EF,
    MAX_RESULTS,
    Collections,
    clause_from_row,
    connect,
    filter_expression,
    generation,
    missing,
    read_meta,
    scan,
    sentence_keys,
)
from rag.milvus_lexical import LEXICONS, Lexicon
from rag.schema import Clause, Matrix
from rag.sentences import best_of_groups

STORE_FORMAT = 2  # bump when the collections' layout changes; 2: sentence vectors
# 2.5–5.6 sentences a clause at 1.5 KB a vector: 130–250 MB at most; a hybrid query scores ~100 clauses.
VECTOR_CACHE_CLAUSES = 25_000


class MilvusClauseStore:
    """A `ClauseStore` over a Milvus collection (a server, or Milvus Lite in this process)."""

    def __init__(self, collections: Collections, *, lexical: str = "local") -> None:
        if lexical not in LEXICONS:
            raise SettingsError(f"未知的 milvus_lexical={lexical!r}：可选 {'、'.join(LEXICONS)}（RAG_MILVUS_LEXICAL）")
        if not collections.exists():
            raise missing(collections)
        collections.load()
        self.collections = collections
        self._lexicon: Lexicon = LEXICONS[lexical](collections)
        self._lock = threading.Lock()
        self._cache = _VectorCache()
        self._generation = ""
        self._load(generation(collections))

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @property
    def words(self) -> tuple[str, ...]:
        return self._words

    def check_embedder(self, embedder: Embedder) -> None:
        check_same_space(self.collections.location, self._manifest.embedder, embedder)

    def dense_search(self, vector: Matrix, depth: int, filters: SearchFilters, *,
                     sentence_weight: float) -> list[Scored]:
        self._refresh()
        return self._dense(vector, depth, filters, sentence_weight)

    def lexical_search(self, text: str, depth: int, filters: SearchFilters, *, heading_weight: float) -> list[Scored]:
        self._refresh()
        return self._lexicon.search(text, depth, filters, heading_weight=heading_weight).top

    def hybrid_pool(self, vector: Matrix, text: str, depth: int, filters: SearchFilters, *,
                    heading_weight: float, sentence_weight: float) -> CandidatePool:
        self._refresh()
        lexical = self._lexicon.search(text, depth, filters, heading_weight=heading_weight)
        dense = self._dense(vector, depth, filters, sentence_weight)
        pool = self._in_store_order({s.clause.clause_id: s.clause for s in [*dense, *lexical.top]}.values())
        ids = [clause.clause_id for clause in pool]
        return CandidatePool(tuple(pool), self._scores(self._vectors(ids), vector, sentence_weight),
                             lexical.scores_of(ids))

    def dense_scores(self, clause_ids: Sequence[str], vector: Matrix, *, sentence_weight: float) -> np.ndarray:
        if not clause_ids:
            return np.zeros(0, dtype=np.float32)
        return self._scores(self._vectors(clause_ids), vector, sentence_weight)

    def clauses_containing(self, term: str) -> int:
        return self._lexicon.count_containing(term)

    def clauses_matching(self, filters: SearchFilters) -> list[Clause]:
        self._refresh()
        rows = scan(self.collections, self.collections.clauses, filter_expression(filters) or 'clause_id != ""',
                    CLAUSE_FIELDS)
        return self._in_store_order(clause_from_row(row) for row in rows)

    def close(self) -> None:
        self.collections.client.close()

    def _dense(self, vector: Matrix, depth: int, filters: SearchFilters, sentence_weight: float) -> list[Scored]:
        """As the FAISS store: the nearest clauses and the clauses of the nearest sentences, ranked by their
        dense scores, ties in store order."""
        expression = filter_expression(filters)
        clauses = {row["clause_id"]: clause_from_row(row)
                   for row in self._nearest(self.collections.clauses, vector, depth, expression, CLAUSE_FIELDS)}
        if sentence_weight:
            owners = {row["clause_id"] for row in
                      self._nearest(self.collections.sentences, vector, depth, expression, ["clause_id"])}
            clauses.update(self._clauses([clause_id for clause_id in owners if clause_id not in clauses]))
        candidates = self._in_store_order(clauses.values())
        scores = self._scores(self._vectors([c.clause_id for c in candidates]), vector, sentence_weight)
        order = np.lexsort((np.arange(len(candidates)), -scores))[:depth]
        return [Scored(candidates[i], float(scores[i])) for i in order]

    def _nearest(self, collection: str, vector: Matrix, depth: int, expression: str,
                 output_fields: list[str]) -> list[dict]:
        results = self.collections.client.search(
            collection, data=[np.asarray(vector, dtype=np.float32).tolist()], anns_field="vector",
            limit=min(depth, MAX_RESULTS), filter=expression, output_fields=output_fields,
            search_params={"metric_type": "IP", "params": {"ef": max(HNSW_EF, depth)}})
        return [hit["entity"] for hit in results[0]]

    def _clauses(self, clause_ids: Sequence[str]) -> dict[str, Clause]:
        if not clause_ids:
            return {}
        rows = self.collections.client.get(self.collections.clauses, ids=list(clause_ids), output_fields=CLAUSE_FIELDS)
        return {row["clause_id"]: clause_from_row(row) for row in rows}

    def _vectors(self, clause_ids: Sequence[str]) -> _ClauseVectors:
        """The vectors of these clauses and, grouped by clause, of their sentences: from the cache, the rest
        fetched by primary key (a clause row counts its sentences, whose keys follow from it)."""
        cached = self._cache.get_many(clause_ids)
        missing = [clause_id for clause_id in dict.fromkeys(clause_ids) if clause_id not in cached]
        if missing:
            cached.update(self._fetch_vectors(missing))
        dimension = self._manifest.embedder.dimension
        # A clause an ingest deleted since it was found has no vector left: it scores as unrelated.
        nothing = (np.zeros(dimension, dtype=np.float32), np.zeros((0, dimension), dtype=np.float32))
        entries = [cached.get(clause_id, nothing) for clause_id in clause_ids]
        counts = np.asarray([len(sentences) for _, sentences in entries], dtype=np.int64)
        return _ClauseVectors(np.asarray([own for own, _ in entries], dtype=np.float32).reshape(len(entries), dimension),
                              np.concatenate([sentences for _, sentences in entries] or [nothing[1]]),
                              np.cumsum(counts) - counts, counts)

    def _fetch_vectors(self, clause_ids: Sequence[str]) -> dict[str, _Vectors]:
        fetched_in = self._generation
        rows = self.collections.client.get(self.collections.clauses, ids=list(clause_ids),
                                           output_fields=["clause_id", "vector", "sentences"])
        keys = {row["clause_id"]: sentence_keys(row["clause_id"], row["sentences"]) for row in rows}
        wanted = [key for clause_keys in keys.values() for key in clause_keys]
        found: dict[str, list[float]] = {}
        for start in range(0, len(wanted), MAX_RESULTS):
            found.update({row["key"]: row["vector"] for row in self.collections.client.get(
                self.collections.sentences, ids=wanted[start:start + MAX_RESULTS], output_fields=["key", "vector"])})
        dimension = self._manifest.embedder.dimension
        fetched = {row["clause_id"]: (np.asarray(row["vector"], dtype=np.float32),
                                      np.asarray([found[key] for key in keys[row["clause_id"]] if key in found],
                                                 dtype=np.float32).reshape(-1, dimension)) for row in rows}
        self._cache.put_many(fetched, fetched_in)
        return fetched

    def _scores(self, vectors: _ClauseVectors, vector: Matrix, sentence_weight: float) -> np.ndarray:
        """(1 − w) × each clause's cosine + w × its best sentence's cosine, as `ClauseIndex` computes it."""
        own = vectors.clauses @ vector
        if not sentence_weight:
            return own
        best = best_of_groups(vectors.sentences, vectors.starts, vectors.counts, vector, own)
        return (1 - sentence_weight) * own + sentence_weight * best

    def _in_store_order(self, clauses: Iterable[Clause]) -> list[Clause]:
        """The FAISS store's row order (corpus order, then text order), which breaks ties the same way."""
        return sorted(clauses, key=lambda c: (self._ordinal.get(c.doc_id, len(self._ordinal)), c.start, c.part))

    def _refresh(self) -> None:
        """Reload when an ingest (here or in another process) has changed the collection."""
        current = generation(self.collections)
        if current != self._generation:
            with self._lock:
                if current != self._generation:
                    self._load(current)

    def _load(self, current: str) -> None:
        store, stored = read_meta(self.collections)
        if not store:
            raise IndexNotFound(f"Milvus 集合 {self.collections.location} 还没有内容：请先运行 `rag ingest`（RAG_STORE=milvus）")
        if store.get("format") != STORE_FORMAT:
            raise IndexMismatch(f"Milvus 集合 {self.collections.location} 的格式是 {store.get('format')}，"
                                f"本版本需要 {STORE_FORMAT}：请换一个集合名（RAG_MILVUS_COLLECTION）重新 `rag ingest`")
        documents = sorted(stored.values(), key=lambda d: d.ordinal)
        self._manifest = Manifest(
            store="milvus", location=self.collections.location, version=current,
            built_at=store["built_at"], embedder=EmbedderRecord(**store["embedder"]), dense_kind="HNSW",
            documents=tuple(d.entry for d in documents), sentences=sum(d.sentences for d in documents))
        self._ordinal = {d.entry.doc_id: d.ordinal for d in documents}
        self._words = tuple(sorted({word for d in documents for word in (*d.words, *d.names)}))
        self._lexicon.refresh(documents)
        self._cache.reset(current)
        self._generation = current


_Vectors = tuple[Matrix, Matrix]  # a clause's vector and its sentences' vectors


class _VectorCache:
    """The vectors of recently scored clauses (queries share many candidates) of one generation of the
    collection: a re-ingested clause is never scored with its old vectors."""

    def __init__(self, limit: int = VECTOR_CACHE_CLAUSES) -> None:
        self._entries: OrderedDict[str, _Vectors] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()
        self.generation = ""

    def get_many(self, clause_ids: Sequence[str]) -> dict[str, _Vectors]:
        with self._lock:
            found = {clause_id: self._entries[clause_id] for clause_id in clause_ids if clause_id in self._entries}
            for clause_id in found:
                self._entries.move_to_end(clause_id)
        return found

    def put_many(self, entries: dict[str, _Vectors], generation: str) -> None:
        """Keep vectors fetched while `generation` was current, unless it has changed since."""
        with self._lock:
            if generation != self.generation:
                return
            self._entries.update(entries)
            while len(self._entries) > self._limit:
                self._entries.popitem(last=False)

    def reset(self, generation: str) -> None:
        with self._lock:
            self._entries.clear()
            self.generation = generation


@dataclass(frozen=True)
class _ClauseVectors:
    """Vectors of some clauses, in their order: `counts[i]` sentence vectors of clause i from `starts[i]` on."""

    clauses: Matrix
    sentences: Matrix
    starts: np.ndarray
    counts: np.ndarray


def open_milvus_store(uri: str, collection: str, *, token: str = "", lexical: str = "local") -> MilvusClauseStore:
    """Open the store in `collection` at `uri` (a Milvus server, or a local Milvus Lite `….db` path)."""
    return MilvusClauseStore(connect(uri, collection, token=token), lexical=lexical)
