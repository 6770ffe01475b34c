"""The Milvus clause store: one collection that many app replicas share, updated while they serve.

Every search first reads the collection's generation (one primary-key read); when an ingest has bumped
it, the store reloads the document list, the centroid and the lexical state before answering, so a
replica sees a re-ingested document on its next query without a restart. Dense search, filters and the
clauses themselves come from Milvus; lexical search is `rag.milvus_lexical`'s.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

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
    Collections,
    StoredDocument,
    clause_from_row,
    connect,
    filter_expression,
    generation,
    missing,
    read_meta,
)
from rag.milvus_lexical import LEXICONS, Lexicon
from rag.schema import Matrix

STORE_FORMAT = 1  # bump when the collections' layout changes


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
        self._generation = ""
        self._load(generation(collections))

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    def check_embedder(self, embedder: Embedder) -> None:
        check_same_space(self.collections.location, self._manifest.embedder, embedder)

    def dense_search(self, vector: Matrix, depth: int, filters: SearchFilters) -> list[Scored]:
        self._refresh()
        return self._dense(vector, depth, filters)

    def lexical_search(self, text: str, depth: int, filters: SearchFilters, *, heading_weight: float) -> list[Scored]:
        self._refresh()
        return self._lexicon.search(text, depth, filters, heading_weight=heading_weight).top

    def hybrid_pool(self, vector: Matrix, text: str, depth: int, filters: SearchFilters, *,
                    heading_weight: float) -> CandidatePool:
        self._refresh()
        lexical = self._lexicon.search(text, depth, filters, heading_weight=heading_weight)
        members = {s.clause.clause_id: s.clause for s in [*self._dense(vector, depth, filters), *lexical.top]}
        # The FAISS store's row order (corpus order, then text order) breaks ties the same way.
        pool = sorted(members.values(), key=lambda c: (self._ordinal.get(c.doc_id, len(self._ordinal)), c.start))
        ids = [clause.clause_id for clause in pool]
        return CandidatePool(tuple(pool), self.similarities(ids, vector), lexical.scores_of(ids))

    def similarities(self, clause_ids: Sequence[str], vector: Matrix) -> np.ndarray:
        if not clause_ids:
            return np.zeros(0, dtype=np.float32)
        rows = self.collections.client.get(self.collections.clauses, ids=list(clause_ids),
                                           output_fields=["clause_id", "vector"])
        vectors = {row["clause_id"]: row["vector"] for row in rows}
        return np.asarray([vectors[i] for i in clause_ids], dtype=np.float32) @ vector

    def mean_similarity(self, vector: Matrix) -> float:
        return float(self._centroid @ vector)

    def clauses_containing(self, term: str) -> int:
        return self._lexicon.count_containing(term)

    def close(self) -> None:
        self.collections.client.close()

    def _dense(self, vector: Matrix, depth: int, filters: SearchFilters) -> list[Scored]:
        results = self.collections.client.search(
            self.collections.clauses, data=[np.asarray(vector, dtype=np.float32).tolist()], anns_field="vector",
            limit=depth, filter=filter_expression(filters), output_fields=CLAUSE_FIELDS,
            search_params={"metric_type": "IP", "params": {"ef": max(HNSW_EF, depth)}})
        return [Scored(clause_from_row(hit["entity"]), float(hit["distance"])) for hit in results[0]]

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
            documents=tuple(d.entry for d in documents))
        self._ordinal = {d.entry.doc_id: d.ordinal for d in documents}
        self._centroid = centroid(documents, self._manifest.embedder.dimension)
        self._lexicon.refresh(documents)
        self._generation = current


def centroid(documents: Sequence[StoredDocument], dimension: int) -> Matrix:
    """The mean clause vector, from each document's sum of clause vectors."""
    count = sum(d.entry.clauses for d in documents)
    if not count:
        return np.zeros(dimension, dtype=np.float32)
    return np.asarray(np.sum([d.vector_sum for d in documents], axis=0) / count, dtype=np.float32)


def open_milvus_store(uri: str, collection: str, *, token: str = "", lexical: str = "local") -> MilvusClauseStore:
    """Open the store in `collection` at `uri` (a Milvus server, or a local Milvus Lite `….db` path)."""
    return MilvusClauseStore(connect(uri, collection, token=token), lexical=lexical)
