"""Write the Milvus store: ingest a corpus, or migrate a FAISS index's vectors without embedding again.

Both upsert the clauses and sentence vectors of added and changed documents and delete the rest, in
batches of whole documents: write the document's clause rows and sentence rows (same id, same row),
delete its clauses and sentences that no longer exist, then its meta row. A killed run therefore leaves
every document either written or still recorded with its old content hash, and the next run writes
exactly the unfinished ones. A new generation token is written last, which makes every replica reload
its document list and lexical state on its next query.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from itertools import groupby
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
from rag.ingest import LoadedCorpus, SkippedFile
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
    sentence_row,
    store_row,
    upsert_rows,
)
from rag.passages import (
    PASSAGE_FORMAT,
    EmbeddingUnit,
    embedding_units,
    indexed_clauses,
    quoted_names,
    title_words,
)
from rag.schema import Clause, Matrix
from rag.store import ClauseIndex, previous_vectors
from rag.store_milvus import STORE_FORMAT

# The vectors of a batch's units (clause passages, then sentences), in order.
Vectors = Callable[[Sequence[EmbeddingUnit]], Matrix]


@dataclass(frozen=True)
class ChunkedDocument:
    """A document as the store records it: its entry and its indexed clauses in text order."""

    entry: DocumentEntry
    clauses: list[Clause]

    @cached_property
    def digest(self) -> str:
        """What the document was chunked into: every clause field and every embedded text. A new chunker
        or sentence splitter changes it for unchanged files, which the FAISS store picks up by rebuilding."""
        records = [asdict(clause) for clause in self.clauses]
        texts = [(unit.key, unit.text) for unit in embedding_units(self.clauses)]
        return hashlib.sha256(json.dumps([records, texts], ensure_ascii=False).encode()).hexdigest()


def ingest_into_milvus(corpus: LoadedCorpus, collections: Collections, *, embedder: Embedder,
                       max_clause_chars: int = 800, progress: Progress | None = None,
                       batch_clauses: int = CHECKPOINT_CLAUSES) -> IngestReport:
    """Make the collection hold exactly `corpus`, re-embedding only documents whose content changed."""
    require_documents(corpus)
    progress = progress or _no_progress
    chunked = []
    for number, document in enumerate(corpus.documents, start=1):
        progress("chunk", number, len(corpus.documents))
        clauses = indexed_clauses(document, max_chars=max_clause_chars)
        chunked.append(ChunkedDocument(document_entry(document, len(clauses)), clauses))

    def embed(units: Sequence[EmbeddingUnit]) -> Matrix:
        if not units:
            return np.zeros((0, embedder.dimension), dtype=np.float32)
        return np.asarray(embedder.embed_documents([unit.text for unit in units]), dtype=np.float32)

    record = EmbedderRecord(embedder.name, embedder.backend, embedder.dimension, embedder.fingerprint)
    settings = {"max_clause_chars": max_clause_chars, "passages": PASSAGE_FORMAT}
    return write_milvus(chunked, collections, record=record, settings=settings, vectors=embed,
                        skipped=corpus.skipped, progress=progress, batch_clauses=batch_clauses)


def migrate_into_milvus(index: ClauseIndex, collections: Collections, *, progress: Progress | None = None,
                        batch_clauses: int = CHECKPOINT_CLAUSES) -> IngestReport:
    """Copy a FAISS index version into the collection: its clauses, documents, and the very vectors it
    holds, so nothing is embedded and both stores rank alike. Run again, it writes only what is missing."""
    known = previous_vectors(index)

    def look_up(units: Sequence[EmbeddingUnit]) -> Matrix:
        missing = [unit.key for unit in units if unit.key not in known]
        if missing:
            raise IndexMismatch(f"索引 {index.manifest.location} 没有 {missing[0]} 等 {len(missing)} 个句子的向量"
                                "（它是用另一种分句方式建立的）：请改用 `rag ingest`（RAG_STORE=milvus）重新嵌入")
        return np.stack([known[unit.key] for unit in units]) if units else np.zeros(
            (0, index.manifest.embedder.dimension), dtype=np.float32)

    by_document = {doc_id: list(clauses) for doc_id, clauses in groupby(index.clauses, key=lambda c: c.doc_id)}
    chunked = [ChunkedDocument(entry, by_document.get(entry.doc_id, [])) for entry in index.manifest.documents]
    return write_milvus(chunked, collections, record=index.manifest.embedder, settings=index.settings,
                        vectors=look_up, skipped=(), progress=progress or _no_progress, batch_clauses=batch_clauses)


def write_milvus(chunked: Sequence[ChunkedDocument], collections: Collections, *, record: EmbedderRecord,
                 settings: dict[str, Any], vectors: Vectors, skipped: Sequence[SkippedFile], progress: Progress,
                 batch_clauses: int) -> IngestReport:
    """Make the collection hold exactly `chunked`, writing only documents whose content changed."""
    started = time.perf_counter()
    if not collections.exists():
        create(collections, record.dimension)
    collections.load()
    store, stored = read_meta(collections)
    if store:
        _check_writer(collections, store, record)
    else:  # a new collection: what its vectors are, before any is written, so an interrupted first run resumes
        store = _store_record(record, settings, generation="")
        upsert_rows(collections.client, collections.meta, [store_row(store, record.dimension)])
    reusable = store["settings"] == settings  # other chunking: every document is written again
    entries = {document.entry.doc_id: document.entry for document in chunked}
    old_hashes = {doc_id: d.entry.content_hash for doc_id, d in stored.items()}
    pending = [(ordinal, document) for ordinal, document in enumerate(chunked)
               if not reusable or document.entry.doc_id not in stored
               or stored[document.entry.doc_id].entry.content_hash != document.entry.content_hash
               or stored[document.entry.doc_id].digest != document.digest]
    removed = [doc_id for doc_id in stored if doc_id not in entries]

    embedded = 0
    units = {document.entry.doc_id: embedding_units(document.clauses) for _, document in pending}
    total = sum(len(units[document.entry.doc_id]) for _, document in pending)
    progress("embed", 0, total)
    for batch in _batches(pending, batch_clauses):
        embedded += _write_documents(collections, batch, units, vectors)
        progress("embed", embedded, total)
    written = {document.entry.doc_id for _, document in pending}
    moved = [StoredDocument(document.entry, ordinal, stored[document.entry.doc_id].words,
                            stored[document.entry.doc_id].names,
                            stored[document.entry.doc_id].sentences, stored[document.entry.doc_id].vector_sum,
                            document.digest)
             for ordinal, document in enumerate(chunked)
             if document.entry.doc_id not in written and stored[document.entry.doc_id].ordinal != ordinal]
    if moved:  # unchanged documents whose place in the corpus changed keep their rows, with the new order
        upsert_rows(collections.client, collections.meta, [document_row(d) for d in moved])
    for start in range(0, len(removed), 200):
        part = removed[start:start + 200]
        expression = f"doc_id in [{', '.join(quote(d) for d in part)}]"
        collections.client.delete(collections.clauses, filter=expression)
        collections.client.delete(collections.sentences, filter=expression)
        collections.client.delete(collections.meta, ids=[DOCUMENT_PREFIX + d for d in part])
    # A unique token: two writers never leave replicas on a generation they think they have seen.
    upsert_rows(collections.client, collections.meta,
                [store_row(_store_record(record, settings, generation=uuid.uuid4().hex), record.dimension)])
    sentences = sum(d.sentences for doc_id, d in stored.items() if doc_id in entries and doc_id not in written)
    sentences += sum(len(units[doc_id]) - entries[doc_id].clauses for doc_id in written)
    return IngestReport(
        added=tuple(d for d in entries if d not in old_hashes),
        changed=tuple(d for d in entries if d in old_hashes and d in written),
        removed=tuple(removed),
        unchanged=tuple(d for d in entries if d in old_hashes and d not in written),
        skipped=tuple(skipped),
        clauses=sum(entry.clauses for entry in entries.values()),
        embedded=embedded,
        seconds=time.perf_counter() - started,
        directory=collections.location,
        texts=sum(entry.clauses for entry in entries.values()) + sentences,
    )


def _store_record(record: EmbedderRecord, settings: dict[str, Any], *, generation: str) -> dict[str, Any]:
    return {
        "format": STORE_FORMAT,
        "embedder": asdict(record),
        "settings": settings,
        "generation": generation,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _check_writer(collections: Collections, store: dict[str, Any], record: EmbedderRecord) -> None:
    """Vectors of two models, or rows of two layouts, must never share a collection that replicas are searching."""
    if store.get("format") != STORE_FORMAT:
        raise IndexMismatch(
            f"Milvus 集合 {collections.location} 的格式是 {store.get('format')}，本版本写入格式 {STORE_FORMAT}："
            "请用新的集合名（RAG_MILVUS_COLLECTION）重新 `rag ingest`，建好后再把各副本切换过去。")
    built = EmbedderRecord(**store["embedder"])
    if built.fingerprint != record.fingerprint or built.dimension != record.dimension:
        raise IndexMismatch(
            f"Milvus 集合 {collections.location} 的向量来自嵌入模型 {built.name}（指纹 {built.fingerprint[:12]}），"
            f"当前模型是 {record.name}（指纹 {record.fingerprint[:12]}）：两种向量不能混在一个集合里。"
            "请用新的集合名（RAG_MILVUS_COLLECTION）重新 `rag ingest`，建好后再把各副本切换过去。")


def _batches(pending: Sequence[tuple[int, ChunkedDocument]], size: int) -> list[list[tuple[int, ChunkedDocument]]]:
    """Whole documents, about `size` clauses a batch (a longer document is a batch of its own)."""
    batches: list[list[tuple[int, ChunkedDocument]]] = [[]]
    count = 0
    for item in pending:
        if batches[-1] and count + len(item[1].clauses) > size:
            batches.append([])
            count = 0
        batches[-1].append(item)
        count += len(item[1].clauses)
    return [batch for batch in batches if batch]


def _write_documents(collections: Collections, batch: Sequence[tuple[int, ChunkedDocument]],
                     units: dict[str, list[EmbeddingUnit]], vectors: Vectors) -> int:
    """Write a batch of documents: clause rows, sentence rows, stale rows deleted, then their meta rows."""
    batch_units = [unit for _, document in batch for unit in units[document.entry.doc_id]]
    batch_vectors = vectors(batch_units)  # one call: the embedder batches across documents
    clause_rows, sentence_rows, metas = [], [], []
    offset = 0
    for ordinal, document in batch:
        doc_units = units[document.entry.doc_id]
        doc_vectors = batch_vectors[offset:offset + len(doc_units)]
        offset += len(doc_units)
        count = len(document.clauses)
        sentences = Counter(unit.row for unit in doc_units[count:])
        clause_rows += [clause_row(clause, vector, sentences[row]) for row, (clause, vector)
                        in enumerate(zip(document.clauses, doc_vectors[:count], strict=True))]
        sentence_rows += [sentence_row(unit, document.clauses[unit.row], vector)
                          for unit, vector in zip(doc_units[count:], doc_vectors[count:], strict=True)]
        metas.append(StoredDocument(document.entry, ordinal, tuple(title_words(document.clauses)),
                                    tuple(quoted_names(document.clauses)),
                                    len(doc_units) - count, doc_vectors[:count].sum(axis=0), document.digest))
    upsert_rows(collections.client, collections.clauses, clause_rows)
    upsert_rows(collections.client, collections.sentences, sentence_rows)
    expression = f"doc_id in [{', '.join(quote(document.entry.doc_id) for _, document in batch)}]"
    for collection, key, current in ((collections.clauses, "clause_id", {row["clause_id"] for row in clause_rows}),
                                     (collections.sentences, "key", {row["key"] for row in sentence_rows})):
        stale = [row[key] for row in scan(collections, collection, expression, [key]) if row[key] not in current]
        if stale:
            collections.client.delete(collection, ids=stale)
    upsert_rows(collections.client, collections.meta, [document_row(meta) for meta in metas])
    return len(clause_rows) + len(sentence_rows)


def _no_progress(stage: str, done: int, total: int) -> None:
    return None
