"""The on-disk clause index: build (incrementally, atomically, under a lock) and open.

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
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
from rag.chunk import split_clauses
from rag.embed import Embedder, same_vector_space
from rag.errors import CorpusError, IndexDamaged, IndexLocked, IndexMismatch, IndexNotFound
from rag.index import FaissIndex, Rows, build_vector_index
from rag.ingest import LoadedCorpus, SkippedFile
from rag.integrity import damaged, file_records, read_manifest, verify_files
from rag.lexical import Bm25LexicalIndex, load_user_words, save_user_words, shared_tokenizer
from rag.schema import Clause, Document, Matrix
from rag.sentences import SentenceVectors, clause_sentences

# 2: vectors of the bare clause text; document title and chapter in their own BM25 field. 3: sentence vectors.
INDEX_FORMAT = 3
# Bare headings carry no content of their own; their words reach every clause through `chapter`.
UNINDEXED_KINDS = frozenset({"heading"})

Progress = Callable[[str, int, int], None]


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
    directory: str
    resumed: int = 0  # texts whose vectors came from an interrupted run's checkpoints
    texts: int = 0  # texts the index holds vectors of: each clause and the sentences of longer clauses


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


class ClauseIndex:
    """A loaded index version: clause records, dense vectors and the BM25 state."""

    def __init__(self, directory: Path, manifest: dict[str, Any], clauses: list[Clause], vectors: Matrix,
                 dense: FaissIndex, sentences: SentenceVectors, lexical: Bm25LexicalIndex,
                 headings: Bm25LexicalIndex) -> None:
        self.directory = directory
        self.manifest = manifest
        self.clauses = clauses
        self.vectors = vectors
        self.dense = dense
        self.sentences = sentences
        self.lexical = lexical
        self.headings = headings
        self.documents = [DocumentEntry(**entry) for entry in manifest["documents"]]
        self.row_of = {clause.clause_id: row for row, clause in enumerate(clauses)}
        self._containing: dict[str, int] = {}  # term → clauses whose text contains it

    def dense_search(self, vector: Matrix, depth: int, allowed: Rows | None = None, *,
                     sentence_weight: float = 0.0) -> list[tuple[int, float]]:
        """The `depth` rows that score best against one query vector, as (row, `dense_scores`), best first:
        candidates are the nearest clauses and the clauses of the nearest sentences."""
        _, rows = self.dense.search(vector[None, :], depth, allowed)
        candidates = rows[0][rows[0] >= 0]
        if sentence_weight:
            candidates = np.union1d(candidates, self.sentences.nearest_clauses(vector, depth, allowed))
        scores = self.dense_scores(candidates, vector, sentence_weight=sentence_weight)
        order = np.lexsort((candidates, -scores))[:depth]
        return [(int(candidates[i]), float(scores[i])) for i in order]

    def dense_scores(self, rows: Rows, vector: Matrix, *, sentence_weight: float = 0.0) -> Matrix:
        """(1 − w) × each clause's cosine + w × its best sentence's cosine (its own where it has no sentences)."""
        own = self.similarities(rows, vector)
        if not sentence_weight:
            return own
        return (1 - sentence_weight) * own + sentence_weight * self.sentences.best_similarities(rows, vector, own)

    @cached_property
    def centroid(self) -> Matrix:
        """Mean clause vector: its dot product with a query is the query's mean cosine to every clause."""
        return np.asarray(self.vectors.mean(axis=0), dtype=np.float32)

    def clauses_containing(self, term: str) -> int:
        """How many clause texts contain `term` as a substring; one scan per term and index version."""
        if term not in self._containing:
            self._containing[term] = sum(term in clause.text for clause in self.clauses)
        return self._containing[term]

    def similarities(self, rows: Rows, vector: Matrix) -> Matrix:
        """Cosine of each row's clause vector to one query vector."""
        return self.vectors[rows] @ vector

    def lexical_scores(self, text: str, *, heading_weight: float) -> Matrix:
        """BM25 of every row: clause text plus `heading_weight` × the document title/chapter field."""
        scores = self.lexical.scores(text)
        if heading_weight:
            scores = scores + heading_weight * self.headings.scores(text)
        return scores

    @property
    def embedder_info(self) -> dict[str, Any]:
        return dict(self.manifest["embedder"])

    def check_embedder(self, embedder: Embedder) -> None:
        """Refuse to compare query vectors from another model with this index's vectors."""
        built = self.manifest["embedder"]
        if not same_vector_space(built["fingerprint"], embedder.fingerprint) or built["dimension"] != embedder.dimension:
            raise IndexMismatch(
                f"index {self.directory.parent} was built with embedder {built['name']} "
                f"(dim {built['dimension']}, fingerprint {built['fingerprint'][:12]}), but the active embedder is "
                f"{embedder.name} (dim {embedder.dimension}, fingerprint {embedder.fingerprint[:12]}): "
                "run `rag ingest` to rebuild it, or select the embedder it was built with"
            )


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
        tokenizer = shared_tokenizer(load_user_words(version / "words.json"))
        lexical = Bm25LexicalIndex.load(version / "lexical", tokenizer)
        headings = Bm25LexicalIndex.load(version / "headings", tokenizer)
    except Exception as error:  # numpy, FAISS, bm25s and json each fail their own way on a corrupt file
        raise damaged(root, f"{type(error).__name__}: {error}") from error
    if not (len(clauses) == len(vectors) == dense.size == lexical.size == headings.size):
        raise damaged(root, "the parts hold different numbers of clauses")
    if not len(sentences.vectors) == len(sentences.owners) == sentences.dense.size:
        raise damaged(root, "the sentence parts hold different numbers of sentences")
    return ClauseIndex(version, manifest, clauses, vectors, dense, sentences, lexical, headings)


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
    if not corpus.documents:
        reasons = "；".join(f"{s.path}：{s.reason}" for s in corpus.skipped) or "没有找到支持的文件"
        raise CorpusError(f"没有可以索引的文件（{reasons}）；原有索引保持不变")
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
    old_hashes = {entry.doc_id: entry.content_hash for entry in previous.documents} if previous else {}
    clauses: list[Clause] = []
    entries: list[DocumentEntry] = []
    for number, document in enumerate(corpus.documents, start=1):
        progress("chunk", number, len(corpus.documents))
        doc_clauses = [c for c in split_clauses(document, max_chars=max_clause_chars)
                       if c.kind not in UNINDEXED_KINDS]
        clauses.extend(doc_clauses)
        entries.append(_entry(document, len(doc_clauses)))
    new_hashes = {entry.doc_id: entry.content_hash for entry in entries}
    units = _embedding_units(clauses)
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
        words = sorted({c.title for c in clauses if 2 <= len(c.title) <= 12})
        tokenizer = shared_tokenizer(tuple(words))
        lexical = Bm25LexicalIndex(tokenizer)
        lexical.build([passage_text(c) for c in clauses])
        headings = Bm25LexicalIndex(tokenizer)
        headings.build([heading_text(c) for c in clauses])
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
        _write_version(version, manifest, clauses, vectors, dense, sentences, lexical, headings, words)
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


# Bump when what is embedded changes: vectors of an older format are not reused.
PASSAGE_FORMAT = 2


def passage_text(clause: Clause) -> str:
    """What is embedded and BM25-indexed as the clause's body: its own text, nothing else.

    Measured on questions written apart from eval/: prefixing the document title and chapter cost dense
    recall@5 0.87 → 0.75; the headings match through their own lexical field instead (`heading_text`).
    """
    return clause.text


def heading_text(clause: Clause) -> str:
    """The clause's context as a separate lexical field: document title, issuer, chapter, section, departments."""
    parts = (clause.doc_title, clause.issuer, clause.chapter, clause.section, " ".join(clause.departments))
    return " ".join(part for part in parts if part) or "∅"


@dataclass(frozen=True)
class EmbeddingUnit:
    """One text the index embeds: a clause's passage (sentence −1) or its sentence number `sentence`."""

    row: int  # the clause's row
    clause_id: str
    sentence: int
    text: str

    @property
    def key(self) -> str:
        return self.clause_id if self.sentence < 0 else f"{self.clause_id}~{self.sentence}"


def _embedding_units(clauses: Sequence[Clause]) -> list[EmbeddingUnit]:
    """Every clause's passage in clause order, then every clause's sentences (grouped by clause)."""
    units = [EmbeddingUnit(row, c.clause_id, -1, passage_text(c)) for row, c in enumerate(clauses)]
    for row, clause in enumerate(clauses):
        units += [EmbeddingUnit(row, clause.clause_id, number, sentence)
                  for number, sentence in enumerate(clause_sentences(passage_text(clause)))]
    return units


def _reused_vectors(units: Sequence[EmbeddingUnit], previous: ClauseIndex | None, unchanged: set[str],
                    dimension: int) -> tuple[Matrix, list[int]]:
    """Vectors of unchanged documents' clauses copied from the previous version, and the units still to embed."""
    vectors = np.zeros((len(units), dimension), dtype=np.float32)
    old = _previous_vectors(previous) if previous is not None else {}
    pending: list[int] = []
    for position, unit in enumerate(units):
        vector = old.get(unit.key) if unit.clause_id in unchanged else None
        if vector is None:
            pending.append(position)
        else:
            vectors[position] = vector
    return vectors, pending


def _previous_vectors(previous: ClauseIndex) -> dict[str, Matrix]:
    """Unit key → vector in a previous version."""
    found = {clause.clause_id: previous.vectors[row] for row, clause in enumerate(previous.clauses)}
    number_of: dict[int, int] = {}
    for position, row in enumerate(previous.sentences.owners.tolist()):
        number = number_of.get(row, 0)
        number_of[row] = number + 1
        found[f"{previous.clauses[row].clause_id}~{number}"] = previous.sentences.vectors[position]
    return found


def _reusable_previous(root: Path, embedder: Embedder, settings: dict[str, Any]) -> ClauseIndex | None:
    """The live version, if its vectors can be reused: intact, same embedder and chunking settings."""
    try:
        previous = check_index(root)  # every byte: a damaged version's vectors must not be reused
    except (IndexNotFound, IndexMismatch, IndexDamaged):
        return None
    same_embedder = previous.manifest["embedder"]["fingerprint"] == embedder.fingerprint
    return previous if same_embedder and previous.manifest["settings"] == settings else None


def _entry(document: Document, clause_count: int) -> DocumentEntry:
    digest = hashlib.sha256(f"{document.title}\n{document.text}".encode()).hexdigest()
    return DocumentEntry(document.doc_id, document.title, document.source, digest, clause_count,
                         document.issuer, document.date, document.doc_number, document.script)


def _write_version(version: Path, manifest: dict[str, Any], clauses: Sequence[Clause], vectors: Matrix,
                   dense: FaissIndex, sentences: SentenceVectors, lexical: Bm25LexicalIndex,
                   headings: Bm25LexicalIndex, words: Sequence[str]) -> None:
    with (version / "clauses.jsonl").open("w", encoding="utf-8") as handle:
        for clause in clauses:
            handle.write(json.dumps(dataclasses.asdict(clause), ensure_ascii=False) + "\n")
    np.save(version / "vectors.npy", vectors)
    dense.save(version / "dense.faiss")
    np.save(version / "sentence_vectors.npy", sentences.vectors)
    np.save(version / "sentence_owners.npy", sentences.owners)
    sentences.dense.save(version / "sentences.faiss")
    lexical.save(version / "lexical")
    headings.save(version / "headings")
    save_user_words(words, version / "words.json")
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
