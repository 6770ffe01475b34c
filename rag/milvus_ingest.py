"""Ingest into the Milvus store: upsert the clauses of added and changed documents, delete the rest.

Documents are written in batches: embed their clauses, upsert the rows (same clause id, same row),
delete the document's clauses that no longer exist, then its meta row. A killed ingest therefore leaves
every document either written or still recorded with its old content hash, and the next run re-embeds
exactly the unfinished ones. A new generation token is written last, which makes every replica reload
its document list and lexical state on its next query.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.checkpoints import CHECKPOINT_CLAUSES
from rag.clause_store import (
    DocumentEntry,
    EmbedderRecord,
    IngestReport,
    Progress,
    document_entry,
    require_documents,
)
from rag.embed import Embedder
from rag.errors import IndexMismatch
from rag.ingest import LoadedCorpus
from rag.milvus_collection import (
    DOCUMENT_PREFIX,
    Collections,
    StoredDocument,
    clause_row,
    create,
    document_row,
    quote,
    read_meta,
    scan,
    store_row,
    upsert_rows,
)
from rag.passages import PASSAGE_FORMAT, indexed_clauses, passage_text, title_words
from rag.schema import Clause, Document
from rag.store_milvus import STORE_FORMAT


def ingest_into_milvus(corpus: LoadedCorpus, collections: Collections, *, embedder: Embedder,
                       max_clause_chars: int = 800, progress: Progress | None = None,
                       batch_clauses: int = CHECKPOINT_CLAUSES) -> IngestReport:
    """Make the collection hold exactly `corpus`, re-embedding only documents whose content changed."""
    started = time.perf_counter()
    require_documents(corpus)
    progress = progress or (lambda stage, done, total: None)
    settings = {"max_clause_chars": max_clause_chars, "passages": PASSAGE_FORMAT}
    if not collections.exists():
        create(collections, embedder.dimension)
    collections.load()
    store, stored = read_meta(collections)
    if store:
        _check_writer(collections, EmbedderRecord(**store["embedder"]), embedder)
    else:  # a new collection: what its vectors are, before any is written, so an interrupted first run resumes
        upsert_rows(collections.client, collections.meta,
                    [store_row(_store_record(embedder, settings, generation=""), embedder.dimension)])
        store = _store_record(embedder, settings, generation="")
    reusable = store["settings"] == settings  # other chunking: every document is written again
    chunked: list[tuple[Document, list[Clause]]] = []
    for number, document in enumerate(corpus.documents, start=1):
        progress("chunk", number, len(corpus.documents))
        chunked.append((document, indexed_clauses(document, max_chars=max_clause_chars)))
    entries = {document.doc_id: document_entry(document, len(clauses)) for document, clauses in chunked}
    old_hashes = {doc_id: d.entry.content_hash for doc_id, d in stored.items()}
    pending = [(ordinal, document, clauses) for ordinal, (document, clauses) in enumerate(chunked)
               if not reusable or old_hashes.get(document.doc_id) != entries[document.doc_id].content_hash]
    removed = [doc_id for doc_id in stored if doc_id not in entries]

    embedded = 0
    total = sum(len(clauses) for _, _, clauses in pending)
    progress("embed", 0, total)
    for batch in _batches(pending, batch_clauses):
        embedded += _write_documents(collections, batch, entries, embedder)
        progress("embed", embedded, total)
    written = {document.doc_id for _, document, _ in pending}
    moved = [StoredDocument(entries[document.doc_id], ordinal, stored[document.doc_id].words,
                            stored[document.doc_id].vector_sum)
             for ordinal, (document, _) in enumerate(chunked)
             if document.doc_id not in written and stored[document.doc_id].ordinal != ordinal]
    if moved:  # unchanged documents whose place in the corpus changed keep their rows, with the new order
        upsert_rows(collections.client, collections.meta, [document_row(d) for d in moved])
    if removed:
        for start in range(0, len(removed), 200):
            part = removed[start:start + 200]
            collections.client.delete(collections.clauses, filter=f"doc_id in [{', '.join(quote(d) for d in part)}]")
            collections.client.delete(collections.meta, ids=[DOCUMENT_PREFIX + d for d in part])
    # A unique token: two writers never leave replicas on a generation they think they have seen.
    new_store = _store_record(embedder, settings, generation=uuid.uuid4().hex)
    upsert_rows(collections.client, collections.meta, [store_row(new_store, embedder.dimension)])
    return IngestReport(
        added=tuple(d for d in entries if d not in old_hashes),
        changed=tuple(d for d in entries if d in old_hashes and d in written),
        removed=tuple(removed),
        unchanged=tuple(d for d in entries if d in old_hashes and d not in written),
        skipped=corpus.skipped,
        clauses=sum(entry.clauses for entry in entries.values()),
        embedded=embedded,
        seconds=time.perf_counter() - started,
        directory=collections.location,
    )


def _store_record(embedder: Embedder, settings: dict[str, Any], *, generation: str) -> dict[str, Any]:
    return {
        "format": STORE_FORMAT,
        "embedder": {"name": embedder.name, "backend": embedder.backend, "dimension": embedder.dimension,
                     "fingerprint": embedder.fingerprint},
        "settings": settings,
        "generation": generation,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _check_writer(collections: Collections, built: EmbedderRecord, embedder: Embedder) -> None:
    """Vectors of two models must never share a collection that replicas are searching."""
    if built.fingerprint != embedder.fingerprint or built.dimension != embedder.dimension:
        raise IndexMismatch(
            f"Milvus 集合 {collections.location} 的向量来自嵌入模型 {built.name}（指纹 {built.fingerprint[:12]}），"
            f"当前模型是 {embedder.name}（指纹 {embedder.fingerprint[:12]}）：两种向量不能混在一个集合里。"
            "请用新的集合名（RAG_MILVUS_COLLECTION）重新 `rag ingest`，建好后再把各副本切换过去。")


def _batches(pending: Sequence[tuple[int, Document, list[Clause]]], size: int
             ) -> list[list[tuple[int, Document, list[Clause]]]]:
    """Whole documents, about `size` clauses a batch (a longer document is a batch of its own)."""
    batches: list[list[tuple[int, Document, list[Clause]]]] = [[]]
    count = 0
    for item in pending:
        if batches[-1] and count + len(item[2]) > size:
            batches.append([])
            count = 0
        batches[-1].append(item)
        count += len(item[2])
    return [batch for batch in batches if batch]


def _write_documents(collections: Collections, batch: Sequence[tuple[int, Document, list[Clause]]],
                     entries: dict[str, DocumentEntry], embedder: Embedder) -> int:
    clauses = [clause for _, _, doc_clauses in batch for clause in doc_clauses]
    vectors = np.asarray(embedder.embed_documents([passage_text(c) for c in clauses]), dtype=np.float32) \
        if clauses else np.zeros((0, embedder.dimension), dtype=np.float32)
    upsert_rows(collections.client, collections.clauses,
                [clause_row(clause, vector) for clause, vector in zip(clauses, vectors, strict=True)])
    doc_ids = [document.doc_id for _, document, _ in batch]
    current = {clause.clause_id for clause in clauses}
    expression = f"doc_id in [{', '.join(quote(d) for d in doc_ids)}]"
    stale = [row["clause_id"] for row in scan(collections, collections.clauses, expression, ["clause_id"])
             if row["clause_id"] not in current]
    if stale:
        collections.client.delete(collections.clauses, ids=stale)
    rows, offset = [], 0
    for ordinal, document, doc_clauses in batch:
        vector_sum = vectors[offset:offset + len(doc_clauses)].sum(axis=0)
        offset += len(doc_clauses)
        rows.append(document_row(StoredDocument(entries[document.doc_id], ordinal, tuple(title_words(doc_clauses)),
                                                 vector_sum)))
    upsert_rows(collections.client, collections.meta, rows)
    return len(clauses)
