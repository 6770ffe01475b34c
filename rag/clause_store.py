"""The one boundary around an index: what retrieval, answers and the app ask of a clause store.

Two stores implement `ClauseStore`: the on-disk FAISS index (`rag.store`, the default) and a Milvus
collection (`rag.store_milvus`). Callers ask for candidates, similarities and the typed `Manifest`; they
never see rows, vectors or files, so a store can keep its clauses wherever it likes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.departments import department_matches
from rag.embed import Embedder, same_vector_space
from rag.errors import CorpusError, IndexMismatch
from rag.ingest import LoadedCorpus, SkippedFile
from rag.schema import Clause, Document, Matrix

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DocumentEntry:
    doc_id: str
    title: str
    source: str
    content_hash: str
    clauses: int
    issuer: str = ""
    date: str = ""
    doc_number: str = ""
    script: str = "simplified"


@dataclass(frozen=True)
class EmbedderRecord:
    """The embedder an index was built with; queries must come from the same vector space."""

    name: str
    backend: str
    dimension: int
    fingerprint: str


@dataclass(frozen=True)
class Manifest:
    """What an index holds and how it was built, the same for every store."""

    store: str  # "faiss" | "milvus"
    location: str  # the index directory, or the Milvus URI and collection
    version: str  # FAISS: the version directory; Milvus: the collection's generation
    built_at: str  # ISO time of the last ingest, UTC
    embedder: EmbedderRecord
    dense_kind: str  # "flat" | "hnsw" (FAISS), or the Milvus index type
    documents: tuple[DocumentEntry, ...]
    sentences: int  # sentence vectors beside the clause vectors (rag/sentences.py)

    @property
    def clauses(self) -> int:
        return sum(document.clauses for document in self.documents)


@dataclass(frozen=True)
class SearchFilters:
    doc_ids: tuple[str, ...] = ()
    department: str = ""  # matched through the alias table: 工信部 finds 工业和信息化部
    chapter: str = ""  # substring of the chapter or section heading, e.g. "保障措施" or "第二章"

    @property
    def active(self) -> bool:
        return bool(self.doc_ids or self.department or self.chapter)

    def matches(self, clause: Clause) -> bool:
        """Whether a clause passes: its document, a responsible department, its chapter or section."""
        return ((not self.doc_ids or clause.doc_id in self.doc_ids)
                and (not self.department or department_matches(self.department, clause.departments))
                and (not self.chapter or self.chapter in f"{clause.chapter} {clause.section}"))


@dataclass(frozen=True)
class Scored:
    """A clause with the score of one retriever: its dense score (`ClauseStore.dense_scores`) or BM25."""

    clause: Clause
    score: float


@dataclass(frozen=True)
class CandidatePool:
    """The union of the dense and lexical candidates, with both signals for every member.

    Members are in the store's own order, which breaks ties between equal fused scores.
    """

    clauses: tuple[Clause, ...]
    dense: np.ndarray  # `ClauseStore.dense_scores`: the cosine to the query vector, mixed with the best sentence's
    lexical: np.ndarray  # BM25 (text + heading_weight × headings); 0 when no query word occurs


@dataclass(frozen=True)
class IngestReport:
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: tuple[str, ...]
    skipped: tuple[SkippedFile, ...]
    clauses: int
    embedded: int  # texts embedded by this run: clauses and their sentences (`texts` in all)
    seconds: float
    directory: str  # where the index lives: a directory, or the Milvus URI and collection
    resumed: int = 0  # texts whose vectors came from an interrupted run's checkpoints
    texts: int = 0  # texts the index holds vectors of: each clause and the sentences of longer clauses


class ClauseStore(Protocol):
    """A searchable set of clauses with their vectors, their sentences' vectors and BM25 state.

    A clause's dense score is (1 − w) × its own cosine to the query + w × its best sentence's cosine
    (its own where it has no sentence vectors), w = `sentence_weight` (rag/sentences.py).
    """

    @property
    def manifest(self) -> Manifest: ...

    @property
    def words(self) -> tuple[str, ...]:
        """The words a question's terms keep whole: clause titles (also the BM25 dictionary's) and quoted names."""

    def check_embedder(self, embedder: Embedder) -> None:
        """Raise IndexMismatch when `embedder`'s vectors cannot be compared with the store's."""

    def dense_search(self, vector: Matrix, depth: int, filters: SearchFilters, *,
                     sentence_weight: float) -> list[Scored]:
        """The `depth` clauses with the best dense score, best first: candidates are the clauses nearest to
        one query vector and the clauses of the nearest sentences."""

    def lexical_search(self, text: str, depth: int, filters: SearchFilters, *, heading_weight: float) -> list[Scored]:
        """The `depth` best clauses by BM25 with a positive score, best first."""

    def hybrid_pool(self, vector: Matrix, text: str, depth: int, filters: SearchFilters, *,
                    heading_weight: float, sentence_weight: float) -> CandidatePool:
        """The top `depth` of each retriever, merged, with every member's dense score and BM25."""

    def dense_scores(self, clause_ids: Sequence[str], vector: Matrix, *, sentence_weight: float) -> np.ndarray:
        """The dense score of each clause for one query vector (its bare cosine with `sentence_weight` 0)."""

    def clauses_containing(self, term: str) -> int:
        """How many clause texts contain `term` as a substring."""

    def clauses_matching(self, filters: SearchFilters) -> list[Clause]:
        """Every clause that passes `filters` (all of them with none), documents in corpus order, each
        document's clauses in text order."""


def check_same_space(location: str, built: EmbedderRecord, active: Embedder) -> None:
    """The one refusal for query vectors from another model than the index's."""
    if not same_vector_space(built.fingerprint, active.fingerprint) or built.dimension != active.dimension:
        raise IndexMismatch(
            f"索引 {location} 是用嵌入模型 {built.name}（{built.dimension} 维，指纹 {built.fingerprint[:12]}）建立的，"
            f"当前模型是 {active.name}（{active.dimension} 维，指纹 {active.fingerprint[:12]}）：请运行 `rag ingest` "
            "重建索引，或改用建索引时的模型 (index built with embedder "
            f"{built.name}, active embedder {active.name})"
        )


def require_documents(corpus: LoadedCorpus) -> None:
    """An ingest of nothing is refused before it touches the index."""
    if not corpus.documents:
        reasons = "；".join(f"{s.path}：{s.reason}" for s in corpus.skipped) or "没有找到支持的文件"
        raise CorpusError(f"没有可以索引的文件（{reasons}）；原有索引保持不变")


def document_entry(document: Document, clause_count: int) -> DocumentEntry:
    """What a store records of a document; `content_hash` decides whether a re-ingest re-embeds it."""
    digest = hashlib.sha256(f"{document.title}\n{document.text}".encode()).hexdigest()
    return DocumentEntry(document.doc_id, document.title, document.source, digest, clause_count,
                         document.issuer, document.date, document.doc_number, document.script)
