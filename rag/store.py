"""The on-disk FAISS clause store (the default `ClauseStore`): build (incrementally, atomically, under a lock) and open.

Layout of `index/<name>/`:
    CURRENT                  name of the live version directory (replaced atomically)
    .lock                    held by the one writer
    v-<timestamp>/manifest.json, clauses.jsonl, vectors.npy, dense.faiss, lexical/, headings/, words.json,
                 sentence_vectors.npy, sentence_owners.npy, sentences.faiss (rag/sentences.py)

A build writes a new version directory and only then points CURRENT at it, so a crash or a failed
ingest leaves the previous version usable. While it embeds, the build checkpoints its vectors in
`v-…/partial/` (`inputs.json`, then one `vectors-NNNNNN.npy` per block of clauses); an ingest run again
with the same inputs (clause ids, texts and embedder fingerprint) finds that unfinished version and
embeds only the blocks it lacks. The lock is an flock, which the kernel releases when its holder dies,
so a `.lock` file left behind by a killed writer does not keep the next one out.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import threading
import time
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from rag.checkpoints import (
    CHECKPOINT_CLAUSES,
    PARTIAL,
    checkpoint_blocks,
    embed_pending,
    inputs_key,
    unfinished_version,
)
from rag.clause_store import (
    CandidatePool,
    DocumentEntry,
    EmbedderRecord,
    IngestReport,
    Manifest,
    Progress,
    Scored,
    SearchFilters,
    check_same_space,
    document_entry,
    require_documents,
)
from rag.embed import Embedder
from rag.errors import IndexDamaged, IndexLocked, IndexMismatch, IndexNotFound
from rag.index import FaissIndex, Rows, build_vector_index
from rag.ingest import LoadedCorpus
from rag.integrity import damaged, file_records, read_manifest, verify_files
from rag.lexical import ClauseBm25, TermCounts, top_scores
from rag.passages import (
    PASSAGE_FORMAT,
    EmbeddingUnit,
    embedding_units,
    heading_text,
    indexed_clauses,
    passage_text,
    quoted_names,
    sentence_key,
    title_words,
)
from rag.schema import Clause, Matrix
from rag.sentences import SentenceVectors

# 2: vectors of the bare clause text; document title and chapter in their own BM25 field. 3: sentence vectors.
INDEX_FORMAT = 3
# Re-exported for callers that build indexes (bench/, tests/).
__all__ = ["CHECKPOINT_CLAUSES", "ClauseIndex", "IngestReport", "Progress", "build_index", "check_index",
           "checkpoint_blocks", "open_index", "passage_text"]


class ClauseIndex:
    """A loaded FAISS index version: the `ClauseStore` over clause records, vectors and BM25 in one process.

    Rows are clause positions in `clauses`; they never leave this class.
    """

    def __init__(self, directory: Path, manifest: Manifest, settings: dict[str, Any], files: dict[str, Any],
                 clauses: list[Clause], vectors: Matrix, dense: FaissIndex, sentences: SentenceVectors,
                 lexical: ClauseBm25) -> None:
        self.directory = directory
        self.manifest = manifest
        self.settings = settings  # what the clauses and vectors depend on: chunking, passage format
        self.files = files  # size and SHA-256 of each file of the version
        self.clauses = clauses
        self.vectors = vectors
        self.dense = dense
        self.sentences = sentences
        self.lexical = lexical
        self.row_of = {clause.clause_id: row for row, clause in enumerate(clauses)}
        # Rows allowed by each filter: a Python pass over every clause, done once per filter and version.
        self._allowed: dict[SearchFilters, Rows] = {}
        self._allowed_lock = threading.Lock()

    def dense_search(self, vector: Matrix, depth: int, filters: SearchFilters, *,
                     sentence_weight: float) -> list[Scored]:
        allowed = self._allowed_rows(filters)
        return [Scored(self.clauses[row], score)
                for row, score in self._dense_rows(vector, depth, allowed, sentence_weight)]

    def lexical_search(self, text: str, depth: int, filters: SearchFilters, *, heading_weight: float) -> list[Scored]:
        scores = self._lexical_scores(text, heading_weight, self._allowed_rows(filters))
        return [Scored(self.clauses[row], score) for row, score in top_scores(scores, depth)]

    def hybrid_pool(self, vector: Matrix, text: str, depth: int, filters: SearchFilters, *,
                    heading_weight: float, sentence_weight: float) -> CandidatePool:
        allowed = self._allowed_rows(filters)
        dense = self._dense_rows(vector, depth, allowed, sentence_weight)
        lexical_all = self._lexical_scores(text, heading_weight, allowed)
        lexical = top_scores(lexical_all, depth)
        pool = np.asarray(sorted({r for r, _ in dense} | {r for r, _ in lexical}), dtype=np.int64)
        return CandidatePool(tuple(self.clauses[row] for row in pool),
                             self._dense_scores(pool, vector, sentence_weight), lexical_all[pool])

    def dense_scores(self, clause_ids: Sequence[str], vector: Matrix, *, sentence_weight: float) -> np.ndarray:
        rows = np.asarray([self.row_of[clause_id] for clause_id in clause_ids], dtype=np.int64)
        return self._dense_scores(rows, vector, sentence_weight)

    def clauses_matching(self, filters: SearchFilters) -> list[Clause]:
        allowed = self._allowed_rows(filters)
        return list(self.clauses) if allowed is None else [self.clauses[row] for row in allowed]

    @cached_property
    def words(self) -> tuple[str, ...]:
        return tuple(sorted({*self.lexical.user_words, *quoted_names(self.clauses)}))

    def clauses_containing(self, term: str) -> int:
        """One scan per term and index version."""
        return self._term_counts(term)

    @cached_property
    def _term_counts(self) -> TermCounts:
        return TermCounts([clause.text for clause in self.clauses])

    def check_embedder(self, embedder: Embedder) -> None:
        check_same_space(str(self.directory.parent), self.manifest.embedder, embedder)

    def _dense_rows(self, vector: Matrix, depth: int, allowed: Rows | None,
                    sentence_weight: float) -> list[tuple[int, float]]:
        """The `depth` rows that score best by `_dense_scores`, as (row, score), best first: candidates are
        the nearest clauses and the clauses of the nearest sentences."""
        if allowed is not None and len(allowed) == 0:
            return []
        _, rows = self.dense.search(vector[None, :], depth, allowed)
        candidates = rows[0][rows[0] >= 0]
        if sentence_weight:
            candidates = np.union1d(candidates, self.sentences.nearest_clauses(vector, depth, allowed))
        scores = self._dense_scores(candidates, vector, sentence_weight)
        order = np.lexsort((candidates, -scores))[:depth]
        return [(int(candidates[i]), float(scores[i])) for i in order]

    def _dense_scores(self, rows: Rows, vector: Matrix, sentence_weight: float) -> Matrix:
        """(1 − w) × each clause's cosine + w × its best sentence's cosine (its own where it has no sentences)."""
        own = self.vectors[rows] @ vector
        if not sentence_weight:
            return own
        return (1 - sentence_weight) * own + sentence_weight * self.sentences.best_similarities(rows, vector, own)

    def _lexical_scores(self, text: str, heading_weight: float, allowed: Rows | None) -> np.ndarray:
        scores = self.lexical.scores(text, heading_weight=heading_weight)
        if allowed is not None:
            masked = np.full_like(scores, -1.0)
            masked[allowed] = scores[allowed]
            scores = masked
        return scores

    def _allowed_rows(self, filters: SearchFilters) -> Rows | None:
        if not filters.active:
            return None
        with self._allowed_lock:
            allowed = self._allowed.get(filters)
        if allowed is None:
            allowed = np.asarray([row for row, clause in enumerate(self.clauses) if filters.matches(clause)],
                                 dtype=np.int64)
            with self._allowed_lock:
                self._allowed[filters] = allowed
        return allowed


def open_index(directory: str | Path) -> ClauseIndex:
    """Open the live version of the index at `directory`; its files' sizes are checked against the manifest."""
    root = Path(directory)
    version = _current_version(root)
    if version is None:
        raise IndexNotFound(f"no index at {root}: run `rag ingest` first (it indexes corpus/ by default)")
    manifest = read_manifest(root, version)
    if manifest.get("format") != INDEX_FORMAT:
        raise IndexMismatch(f"index at {root} has format {manifest.get('format')}, expected {INDEX_FORMAT}: "
                            "run `rag ingest` to rebuild it")
    verify_files(root, version, manifest, checksums=False)
    try:
        clauses = [_clause_from_json(line) for line in (version / "clauses.jsonl").open(encoding="utf-8")]
        vectors = np.load(version / "vectors.npy")
        dense = FaissIndex.load(version / "dense.faiss", manifest["dense_kind"])
        sentences = SentenceVectors(np.load(version / "sentence_vectors.npy"),
                                    np.load(version / "sentence_owners.npy"),
                                    FaissIndex.load(version / "sentences.faiss", manifest["dense_kind"]))
        lexical = ClauseBm25.load(version)
        typed = _typed_manifest(root, version, manifest)
    except Exception as error:  # numpy, FAISS, bm25s and json each fail their own way on a corrupt file
        raise damaged(root, f"{type(error).__name__}: {error}") from error
    if not (len(clauses) == len(vectors) == dense.size == typed.clauses) or lexical.sizes != (len(clauses),) * 2:
        raise damaged(root, "the parts hold different numbers of clauses")
    if not len(sentences.vectors) == len(sentences.owners) == sentences.dense.size:
        raise damaged(root, "the sentence parts hold different numbers of sentences")
    return ClauseIndex(version, typed, manifest["settings"], manifest.get("files", {}), clauses, vectors, dense,
                       sentences, lexical)


def _typed_manifest(root: Path, version: Path, manifest: dict[str, Any]) -> Manifest:
    return Manifest(store="faiss", location=str(root), version=version.name, built_at=manifest["built_at"],
                    embedder=EmbedderRecord(**manifest["embedder"]), dense_kind=manifest["dense_kind"],
                    documents=tuple(DocumentEntry(**entry) for entry in manifest["documents"]),
                    sentences=manifest["counts"]["sentences"])


def check_index(directory: str | Path) -> ClauseIndex:
    """Open the live version after checking every file against the SHA-256 sums in its manifest.

    Raises IndexDamaged naming the first bad file. Versions built before checksums were recorded
    (no "files" in the manifest) are only opened.
    """
    root = Path(directory)
    version = _current_version(root)
    if version is None:
        raise IndexNotFound(f"no index at {root}: run `rag ingest` first (it indexes corpus/ by default)")
    verify_files(root, version, read_manifest(root, version), checksums=True)
    return open_index(root)


def build_index(
    corpus: LoadedCorpus,
    directory: str | Path,
    *,
    embedder: Embedder,
    max_clause_chars: int = 800,
    ann_threshold: int = 20_000,
    ann_kind: str = "hnsw",
    progress: Progress | None = None,
    checkpoint_clauses: int = CHECKPOINT_CLAUSES,
) -> IngestReport:
    """Index `corpus` into `directory`, re-embedding only documents whose content changed."""
    started = time.perf_counter()
    require_documents(corpus)
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(root / ".lock"), timeout=0):
            return _build_locked(corpus, root, embedder, max_clause_chars, ann_threshold, ann_kind,
                                 progress or _no_progress, started, checkpoint_clauses)
    except Timeout as error:
        raise IndexLocked(f"another process is writing the index at {root}; try again when it finishes") from error


def _build_locked(corpus: LoadedCorpus, root: Path, embedder: Embedder, max_clause_chars: int,
                  ann_threshold: int, ann_kind: str, progress: Progress, started: float,
                  checkpoint_clauses: int) -> IngestReport:
    settings = {"max_clause_chars": max_clause_chars, "passages": PASSAGE_FORMAT}
    previous = _reusable_previous(root, embedder, settings)
    old_hashes = {entry.doc_id: entry.content_hash for entry in previous.manifest.documents} if previous else {}
    clauses: list[Clause] = []
    entries: list[DocumentEntry] = []
    for number, document in enumerate(corpus.documents, start=1):
        progress("chunk", number, len(corpus.documents))
        doc_clauses = indexed_clauses(document, max_chars=max_clause_chars)
        clauses.extend(doc_clauses)
        entries.append(document_entry(document, len(doc_clauses)))
    new_hashes = {entry.doc_id: entry.content_hash for entry in entries}
    units = embedding_units(clauses)
    unchanged = {c.clause_id for c in clauses if old_hashes.get(c.doc_id) == new_hashes[c.doc_id]}
    vectors, pending = _reused_vectors(units, previous, unchanged, embedder.dimension)
    texts = [units[position].text for position in pending]
    blocks = checkpoint_blocks(texts, checkpoint_clauses)
    current = _current_version(root)
    key = inputs_key(embedder, settings, [units[p].key for p in pending], texts, checkpoint_clauses)
    version = unfinished_version(root, key, current=current.name if current else None)
    try:
        resumed = embed_pending(version / PARTIAL, vectors, pending, texts, blocks, embedder, progress)
        progress("index", 0, 1)
        kind = ann_kind if len(clauses) > ann_threshold else "flat"
        sentence_vectors = vectors[len(clauses):]
        sentences = SentenceVectors(sentence_vectors, np.asarray([u.row for u in units[len(clauses):]], dtype=np.int64),
                                    build_vector_index(sentence_vectors, kind=kind))
        vectors = vectors[: len(clauses)]
        dense = build_vector_index(vectors, kind=kind)
        lexical = ClauseBm25.build([passage_text(c) for c in clauses], [heading_text(c) for c in clauses],
                                   title_words(clauses))
        manifest = {
            "format": INDEX_FORMAT,
            "embedder": {"name": embedder.name, "backend": embedder.backend, "dimension": embedder.dimension,
                         "fingerprint": embedder.fingerprint},
            "settings": settings,
            "dense_kind": kind,
            "counts": {"documents": len(entries), "clauses": len(clauses), "sentences": len(sentence_vectors)},
            "documents": [dataclasses.asdict(e) for e in entries],
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        _write_version(version, manifest, clauses, vectors, dense, sentences, lexical)
        _point_current_at(root, version)
    except BaseException:
        # Keep checkpointed vectors for the next run; a version with none is just debris.
        if not any((version / PARTIAL).glob("vectors-*.npy")):
            shutil.rmtree(version, ignore_errors=True)
        raise
    _remove_old_versions(root, keep=version)
    progress("index", 1, 1)
    return IngestReport(
        added=tuple(d for d in new_hashes if d not in old_hashes),
        changed=tuple(d for d in new_hashes if d in old_hashes and old_hashes[d] != new_hashes[d]),
        removed=tuple(d for d in old_hashes if d not in new_hashes),
        unchanged=tuple(d for d in new_hashes if old_hashes.get(d) == new_hashes[d]),
        skipped=corpus.skipped,
        clauses=len(clauses),
        embedded=len(pending) - resumed,
        seconds=time.perf_counter() - started,
        directory=str(root),
        resumed=resumed,
        texts=len(units),
    )


def _reused_vectors(units: Sequence[EmbeddingUnit], previous: ClauseIndex | None, unchanged: set[str],
                    dimension: int) -> tuple[Matrix, list[int]]:
    """Vectors of unchanged documents' clauses copied from the previous version, and the units still to embed."""
    vectors = np.zeros((len(units), dimension), dtype=np.float32)
    old = previous_vectors(previous) if previous is not None else {}
    pending: list[int] = []
    for position, unit in enumerate(units):
        vector = old.get(unit.key) if unit.clause_id in unchanged else None
        if vector is None:
            pending.append(position)
        else:
            vectors[position] = vector
    return vectors, pending


def previous_vectors(index: ClauseIndex) -> dict[str, Matrix]:
    """Unit key (`EmbeddingUnit.key`) → vector, for every clause and sentence of a version."""
    found = {clause.clause_id: index.vectors[row] for row, clause in enumerate(index.clauses)}
    number_of: dict[int, int] = {}
    for position, row in enumerate(index.sentences.owners.tolist()):
        number = number_of.get(row, 0)
        number_of[row] = number + 1
        found[sentence_key(index.clauses[row].clause_id, number)] = index.sentences.vectors[position]
    return found


def _reusable_previous(root: Path, embedder: Embedder, settings: dict[str, Any]) -> ClauseIndex | None:
    """The live version, if its vectors can be reused: intact, same embedder and chunking settings."""
    try:
        previous = check_index(root)  # every byte: a damaged version's vectors must not be reused
    except (IndexNotFound, IndexMismatch, IndexDamaged):
        return None
    same_embedder = previous.manifest.embedder.fingerprint == embedder.fingerprint
    return previous if same_embedder and previous.settings == settings else None


def _write_version(version: Path, manifest: dict[str, Any], clauses: Sequence[Clause], vectors: Matrix,
                   dense: FaissIndex, sentences: SentenceVectors, lexical: ClauseBm25) -> None:
    with (version / "clauses.jsonl").open("w", encoding="utf-8") as handle:
        for clause in clauses:
            handle.write(json.dumps(dataclasses.asdict(clause), ensure_ascii=False) + "\n")
    np.save(version / "vectors.npy", vectors)
    dense.save(version / "dense.faiss")
    np.save(version / "sentence_vectors.npy", sentences.vectors)
    np.save(version / "sentence_owners.npy", sentences.owners)
    sentences.dense.save(version / "sentences.faiss")
    lexical.save(version)
    shutil.rmtree(version / PARTIAL, ignore_errors=True)  # the vectors are in vectors.npy now
    # The manifest goes last: a version directory without one was never finished.
    manifest = {**manifest, "files": file_records(version)}
    (version / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")


def _current_version(root: Path) -> Path | None:
    pointer = root / "CURRENT"
    if not pointer.is_file():
        return None
    version = root / pointer.read_text(encoding="utf-8").strip()
    return version if (version / "manifest.json").is_file() else None


def _point_current_at(root: Path, version: Path) -> None:
    temporary = root / f"CURRENT.{os.getpid()}.tmp"
    temporary.write_text(version.name, encoding="utf-8")
    os.replace(temporary, root / "CURRENT")  # atomic: readers see the old or the new version


def _remove_old_versions(root: Path, *, keep: Path) -> None:
    for path in root.glob("v-*"):
        if path != keep and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def _clause_from_json(line: str) -> Clause:
    data = json.loads(line)
    data["departments"] = tuple(data["departments"])
    return Clause(**data)


def _no_progress(stage: str, done: int, total: int) -> None:
    return None
