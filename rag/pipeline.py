"""Composition root: Settings → embedder, index, retriever, answerer. Only this, cli.py and app.py read Settings."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import threading
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from rag.clause_store import ClauseStore, IngestReport, Progress
from rag.config import Settings
from rag.embed import DEFAULT_NAMES, Embedder, describe_embedder, load_embedder, same_vector_space
from rag.embed_pool import PooledEmbedder
from rag.errors import IndexDamaged, IndexNotFound, SettingsError
from rag.ingest import LoadedCorpus, load_corpus
from rag.isolate import run_isolated
from rag.question import check_question
from rag.retrieve import Ranking, Retriever, SearchFilters
from rag.schema import Answer, Hit
from rag.store import build_index, open_index
from rag.support import SupportThresholds, calibrated_thresholds


def make_embedder(settings: Settings, *, show_progress: bool | None = None) -> Embedder:
    return load_embedder(
        settings.embedder,
        backend=settings.embed_backend,
        device=settings.device,
        batch_size=settings.batch_size,
        cache_dir=Path(settings.model_cache_dir) if settings.model_cache_dir else None,
        show_progress=show_progress,
    )


def make_query_embedder(settings: Settings) -> Embedder:
    """The embedder for queries: the bundled engine for the default model when configured (same vectors)."""
    if settings.embedder in DEFAULT_NAMES and settings.query_backend != settings.embed_backend:
        return load_embedder(settings.embedder, backend=settings.query_backend, device=settings.device,
                             batch_size=settings.batch_size)
    return make_embedder(settings)


def ingest(settings: Settings, paths: Sequence[str] | None = None, *, progress: Progress | None = None,
           embedder: Embedder | None = None) -> IngestReport:
    """Index `paths` (default: the configured corpus) and the index's uploads into the configured index directory.

    Without an `embedder`, documents are embedded by `embed_workers` processes on the CPU.
    """
    sources = [*(paths or settings.corpus_paths)]
    if settings.upload_path.is_dir():  # uploads belong to the index: a re-ingest must not drop them
        sources.append(str(settings.upload_path))
    return ingest_corpus(settings, load_corpus(sources), progress=progress, embedder=embedder)


def ingest_corpus(settings: Settings, corpus: LoadedCorpus, *, progress: Progress | None = None,
                  embedder: Embedder | None = None) -> IngestReport:
    """Index already loaded documents (or pre-chunked passages, as `rag eval --beir` does) into the store."""
    write = _store(settings)[1]  # before the embedder loads: an unknown store fails fast
    bulk = embedder is None
    if embedder is None:
        embedder = make_bulk_embedder(settings)
    try:
        return write(settings, corpus, embedder, progress)
    finally:
        if bulk and isinstance(embedder, PooledEmbedder):
            embedder.close()


def open_store(settings: Settings) -> ClauseStore:
    """The configured store: FAISS files in index_dir (default) or a Milvus collection."""
    return _store(settings)[0](settings)


def _open_faiss(settings: Settings) -> ClauseStore:
    return open_index(settings.index_dir)


def _write_faiss(settings: Settings, corpus: LoadedCorpus, embedder: Embedder, progress: Progress | None
                 ) -> IngestReport:
    return build_index(corpus, settings.index_dir, embedder=embedder, max_clause_chars=settings.max_clause_chars,
                       ann_threshold=settings.ann_threshold, ann_kind=settings.ann_kind, progress=progress)


def _open_milvus(settings: Settings) -> ClauseStore:
    _require_pymilvus()
    from rag.store_milvus import open_milvus_store  # pymilvus loads only for this store

    return open_milvus_store(settings.milvus_address, settings.milvus_collection_name, token=settings.milvus_token,
                             lexical=settings.milvus_lexical)


def _write_milvus(settings: Settings, corpus: LoadedCorpus, embedder: Embedder, progress: Progress | None
                  ) -> IngestReport:
    _require_pymilvus()
    from rag.milvus_collection import connect
    from rag.milvus_ingest import ingest_into_milvus

    collections = connect(settings.milvus_address, settings.milvus_collection_name, token=settings.milvus_token,
                          create=True)
    return ingest_into_milvus(corpus, collections, embedder=embedder, max_clause_chars=settings.max_clause_chars,
                              progress=progress)


def migrate_to_milvus(settings: Settings, *, progress: Progress | None = None) -> IngestReport:
    """Copy the FAISS index in settings.index_dir, vectors and all, into the Milvus store the same settings
    name (RAG_MILVUS_URI, RAG_MILVUS_COLLECTION): nothing is embedded, and the index is only read."""
    _require_pymilvus()
    from rag.milvus_collection import connect
    from rag.milvus_ingest import migrate_into_milvus
    from rag.store import check_index

    index = check_index(settings.index_dir)  # every byte: damaged vectors must not spread to the replicas
    collections = connect(settings.milvus_address, settings.milvus_collection_name, token=settings.milvus_token,
                          create=True)
    return migrate_into_milvus(index, collections, progress=progress)


def _require_pymilvus() -> None:
    if importlib.util.find_spec("pymilvus") is None:
        raise SettingsError("RAG_STORE=milvus 需要 pymilvus 和 milvus-lite：pip install -e '.[milvus]'")


Opener = Callable[[Settings], ClauseStore]
Writer = Callable[[Settings, LoadedCorpus, Embedder, Progress | None], IngestReport]
STORES: dict[str, tuple[Opener, Writer]] = {"faiss": (_open_faiss, _write_faiss), "milvus": (_open_milvus, _write_milvus)}


def _store(settings: Settings) -> tuple[Opener, Writer]:
    if settings.store not in STORES:
        raise SettingsError(f"未知的存储 store={settings.store!r}：可选 {'、'.join(STORES)}（RAG_STORE）")
    return STORES[settings.store]


def embed_workers(settings: Settings, device: str) -> int:
    """Processes for bulk embedding: `settings.embed_workers`, or one per core (at most 4); one on a GPU."""
    if settings.embed_workers < 0:
        raise ValueError(f"embed_workers must be 0 (one per core) or more, got {settings.embed_workers}")
    if device != "cpu":
        return 1
    return settings.embed_workers or min(4, os.cpu_count() or 1)


def make_bulk_embedder(settings: Settings) -> Embedder:
    """The document embedder, spread over `embed_workers` processes when there are several cores."""
    local = make_embedder(settings, show_progress=False)  # the caller shows progress per block
    workers = embed_workers(settings, local.device)
    if workers == 1:
        return local
    options = {"name": settings.embedder, "backend": settings.embed_backend, "device": "cpu",
               "batch_size": settings.batch_size, "show_progress": False,
               "cache_dir": Path(settings.model_cache_dir) if settings.model_cache_dir else None}
    return PooledEmbedder(local, workers=workers, load_options=options)


def ranking_from(settings: Settings) -> Ranking:
    return Ranking(dense_weight=settings.dense_weight, lexical_weight=settings.lexical_weight,
                   sentence_weight=settings.sentence_weight, heading_weight=settings.heading_weight,
                   department_boost=settings.department_boost,
                   document_boost=settings.document_boost)


def thresholds_from(settings: Settings) -> SupportThresholds:
    """The embedder's calibrated thresholds, with any the settings give instead."""
    given = {f.name: getattr(settings, f.name) for f in dataclasses.fields(SupportThresholds)}
    return dataclasses.replace(calibrated_thresholds(settings.embedder),
                               **{name: value for name, value in given.items() if value is not None})


def open_searcher(settings: Settings, *, embedder: Embedder | None = None) -> Retriever:
    """A retriever over the configured store; the embedder loads on first dense query."""
    return Retriever(
        open_store(settings),
        (lambda: embedder) if embedder is not None else (lambda: make_query_embedder(settings)),
        candidates=settings.candidates,
        ranking=ranking_from(settings),
        max_query_chars=settings.max_query_chars,
    )


class Pipeline:
    """A long-lived service object for the app: the embedders, the live index, reloaded after ingest.

    The document embedder loads only when something is ingested; serving needs the query embedder alone.
    An explicitly given embedder serves both.
    """

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()

    @cached_property
    def document_embedder(self) -> Embedder:
        return self._embedder or make_embedder(self.settings)

    @cached_property
    def query_embedder(self) -> Embedder:
        return self._embedder or make_query_embedder(self.settings)

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                self._retriever = open_searcher(self.settings, embedder=self.query_embedder)
            return self._retriever

    @property
    def index(self) -> ClauseStore:
        return self.retriever.index

    def has_index(self) -> bool:
        try:
            _ = self.retriever
        except IndexNotFound:
            return False
        return True

    def ingest(self, paths: Sequence[str] | None = None, *, progress: Progress | None = None) -> IngestReport:
        """Index and reload. With the configured embedder this runs in a child process: the document embedder
        (torch, ~1 GB) is loaded there and freed with it, so a serving process keeps its small footprint."""
        if self._embedder is None and not self.settings.milvus_lite:
            # One embedding process: an upload is small, and the app's memory stays bounded.
            report = run_isolated(ingest, dataclasses.replace(self.settings, embed_workers=1), paths,
                                  timeout_s=self.settings.ingest_timeout_s, progress=progress)
        else:  # Milvus Lite belongs to this process: no other process may open its file
            report = ingest(self.settings, paths, progress=progress, embedder=self._embedder)
        if self.settings.store == "faiss":
            with self._lock:
                self._retriever = None  # the next query opens the new version; a Milvus store reloads itself
        return report

    def search(self, query: str, *, k: int | None = None, mode: str | None = None,
               filters: SearchFilters = SearchFilters()) -> list[Hit]:
        check_question(query)
        return self.retriever.search(query, k=k or self.settings.top_k, mode=mode or self.settings.mode,
                                     filters=filters)

    def keyword_matches(self, query: str, *, filters: SearchFilters = SearchFilters()) -> set[str]:
        """Every clause (base id) the keyword search finds for `query`: how many match in all, where a search
        shows only its k best."""
        everything = max(1, self.index.manifest.clauses)
        return {hit.clause.base_id for hit in self.search(query, k=everything, mode="lexical", filters=filters)}

    def ask(self, question: str, *, history: Sequence[tuple[str, str]] = (), k: int | None = None,
            mode: str | None = None, filters: SearchFilters = SearchFilters()) -> Answer:
        """Answer `question` from retrieved clauses; `history` is the conversation as (question, answer) pairs."""
        from rag.answer import answer_question, make_generator

        check_question(question)
        return answer_question(
            question,
            retriever=self.retriever,
            generator=make_generator(self.settings),
            history=history,
            k=k or self.settings.top_k,
            mode=mode or self.settings.mode,
            filters=filters,
            thresholds=thresholds_from(self.settings),
        )

    def info(self) -> dict[str, Any]:
        details: dict[str, Any] = {
            "embedder": describe_embedder(self.document_embedder),
            "query_embedder": describe_embedder(self.query_embedder),
            "index_dir": self.settings.index_dir,
        }
        try:
            index = self.index
        except IndexNotFound:
            details["index"] = {"state": "missing"}
            return details
        except IndexDamaged as error:
            details["index"] = {"state": "damaged", "error": str(error)}
            return details
        manifest = index.manifest
        details["index"] = {
            "state": "ready",
            "store": manifest.store,
            "location": manifest.location,
            "version": manifest.version,
            "built_at": manifest.built_at,
            "counts": {"documents": len(manifest.documents), "clauses": manifest.clauses,
                       "sentences": manifest.sentences},
            "dense_kind": manifest.dense_kind,
            "built_with": dataclasses.asdict(manifest.embedder),
            "matches_embedder": same_vector_space(manifest.embedder.fingerprint, self.query_embedder.fingerprint),
        }
        return details
