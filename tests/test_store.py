"""Index mechanics on real files, real FAISS and real BM25, with the deterministic HashingEmbedder."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from rag.config import Settings
from rag.errors import CorpusError, IndexDamaged, IndexLocked, IndexMismatch, IndexNotFound
from rag.ingest import load_corpus
from rag.pipeline import ranking_from
from rag.retrieve import Retriever, SearchFilters
from rag.store import build_index, open_index
from tests.conftest import HashingEmbedder

RANKING = ranking_from(Settings())


def build(corpus_dir: Path, index_dir: Path, embedder: HashingEmbedder, **kwargs: object):  # type: ignore[no-untyped-def]
    return build_index(load_corpus([corpus_dir]), index_dir, embedder=embedder, **kwargs)  # type: ignore[arg-type]


def test_build_and_open_round_trip(corpus_copy: Path, tmp_path: Path, hashing_embedder: HashingEmbedder) -> None:
    report = build(corpus_copy, tmp_path / "idx", hashing_embedder)
    assert len(report.added) == 5 and not report.changed and not report.removed
    index = open_index(tmp_path / "idx")
    assert len(index.clauses) == report.clauses == index.dense.size == index.lexical.size == len(index.vectors)
    sentences = len(index.sentences.vectors)
    assert report.embedded == report.texts == report.clauses + sentences == len(hashing_embedder.embedded)
    assert sentences > report.clauses  # policy clauses run to several sentences each
    assert {d.doc_id for d in index.documents} == {p.stem for p in corpus_copy.glob("*.txt")}
    manifest = json.loads((index.directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["embedder"]["fingerprint"] == hashing_embedder.fingerprint
    assert manifest["counts"] == {"documents": 5, "clauses": report.clauses, "sentences": sentences}
    # bare headings are not indexed; every indexed clause is real text of its document
    assert all(c.kind != "heading" for c in index.clauses)


def test_reingest_embeds_only_changed_documents(corpus_copy: Path, tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    build(corpus_copy, tmp_path / "idx", embedder)
    first = open_index(tmp_path / "idx")
    kept_id = "2014-quality-outline-action-plan#四（十三）"
    kept_vector = first.vectors[first.row_of[kept_id]].copy()

    changed = corpus_copy / "2022-18-departments-quality-improvement.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n（二十三）新增一条关于计量服务的措施。", encoding="utf-8")
    (corpus_copy / "city-product-quality-implementation-opinion.txt").unlink()
    embedder.embedded.clear()
    report = build(corpus_copy, tmp_path / "idx", embedder)

    assert report.changed == ("2022-18-departments-quality-improvement",)
    assert report.removed == ("city-product-quality-implementation-opinion",)
    assert len(report.unchanged) == 3
    index = open_index(tmp_path / "idx")
    changed_clauses = [c for c in index.clauses if c.doc_id == "2022-18-departments-quality-improvement"]
    changed_sentences = [s for s, row in enumerate(index.sentences.owners) if index.clauses[row] in changed_clauses]
    assert report.embedded == len(changed_clauses) + len(changed_sentences) == len(embedder.embedded)
    # an unchanged clause's sentence vectors are reused as they were
    kept_row = index.row_of[kept_id]
    assert np.array_equal(index.sentences.vectors[index.sentences.owners == kept_row],
                          first.sentences.vectors[first.sentences.owners == first.row_of[kept_id]])
    assert "2022-18-departments-quality-improvement#七（二十三）" in index.row_of
    assert not any(c.doc_id == "city-product-quality-implementation-opinion" for c in index.clauses)
    # unchanged documents keep their vectors bit for bit, at whatever row they now sit
    assert np.array_equal(index.vectors[index.row_of[kept_id]], kept_vector)


def test_failed_ingest_keeps_previous_index(corpus_copy: Path, tmp_path: Path, hashing_embedder: HashingEmbedder) -> None:
    build(corpus_copy, tmp_path / "idx", hashing_embedder)
    before = open_index(tmp_path / "idx")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.txt").write_text("   \n", encoding="utf-8")
    with pytest.raises(CorpusError, match="没有可以索引的文件"):
        build(empty, tmp_path / "idx", hashing_embedder)
    after = open_index(tmp_path / "idx")
    assert after.directory == before.directory and len(after.clauses) == len(before.clauses)


class ExplodingEmbedder(HashingEmbedder):
    """Fails half-way through embedding, like a crash or an out-of-memory kill."""

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        raise RuntimeError("simulated crash while embedding")


def test_crash_during_build_leaves_previous_version(corpus_copy: Path, tmp_path: Path) -> None:
    build(corpus_copy, tmp_path / "idx", HashingEmbedder())
    before = open_index(tmp_path / "idx").directory
    with pytest.raises(RuntimeError):
        build(corpus_copy, tmp_path / "idx", ExplodingEmbedder(salt="other"))
    assert open_index(tmp_path / "idx").directory == before
    assert [p.name for p in (tmp_path / "idx").glob("v-*")] == [before.name]


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound, match="rag ingest"):
        open_index(tmp_path / "nowhere")


def test_index_from_another_embedder_is_refused(corpus_copy: Path, tmp_path: Path) -> None:
    build(corpus_copy, tmp_path / "idx", HashingEmbedder(64))
    retriever = Retriever(open_index(tmp_path / "idx"), lambda: HashingEmbedder(64, salt="-other"), ranking=RANKING)
    with pytest.raises(IndexMismatch, match="built with embedder hashing-64"):
        retriever.search("质量", mode="dense")
    # lexical search needs no embedder, so it still works
    assert retriever.search("质量基础设施", mode="lexical")


def test_damaged_manifest_is_a_clear_error(corpus_copy: Path, tmp_path: Path, hashing_embedder: HashingEmbedder) -> None:
    build(corpus_copy, tmp_path / "idx", hashing_embedder)
    (open_index(tmp_path / "idx").directory / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexDamaged, match="damaged"):
        open_index(tmp_path / "idx")


def _hold_lock(lock_path: str, ready, release) -> None:  # type: ignore[no-untyped-def]
    with FileLock(lock_path):
        ready.set()
        release.wait(10)


def test_second_writer_is_refused(corpus_copy: Path, tmp_path: Path, hashing_embedder: HashingEmbedder) -> None:
    index_dir = tmp_path / "idx"
    index_dir.mkdir()
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(index_dir / ".lock"), ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(IndexLocked, match="another process"):
            build(corpus_copy, index_dir, hashing_embedder)
    finally:
        release.set()
        holder.join(10)


def test_approximate_index_above_threshold(corpus_copy: Path, tmp_path: Path, hashing_embedder: HashingEmbedder) -> None:
    build(corpus_copy, tmp_path / "idx", hashing_embedder, ann_threshold=10, ann_kind="hnsw")
    index = open_index(tmp_path / "idx")
    assert index.manifest["dense_kind"] == "hnsw" and index.dense.kind == "hnsw"
    hits = Retriever(index, lambda: hashing_embedder, ranking=RANKING).search("质量基础设施一站式服务", mode="dense", k=5)
    assert len(hits) == 5


def test_filters_restrict_results(corpus_copy: Path, tmp_path: Path, hashing_embedder: HashingEmbedder) -> None:
    build(corpus_copy, tmp_path / "idx", hashing_embedder)
    retriever = Retriever(open_index(tmp_path / "idx"), lambda: hashing_embedder, ranking=RANKING)
    for mode in ("hybrid", "dense", "lexical"):
        only_2014 = retriever.search("质量", mode=mode, filters=SearchFilters(doc_ids=("2014-quality-outline-action-plan",)))
        assert only_2014 and {h.clause.doc_id for h in only_2014} == {"2014-quality-outline-action-plan"}
        # 工信部 is an alias of 工业和信息化部
        by_department = retriever.search("质量", mode=mode, filters=SearchFilters(department="工信部"))
        assert by_department and all("工业和信息化部" in h.clause.departments or "市工业和信息化局" in h.clause.departments
                                     for h in by_department)
        in_chapter = retriever.search("质量", mode=mode, filters=SearchFilters(chapter="保障措施"))
        assert in_chapter and all("保障措施" in h.clause.chapter for h in in_chapter)
    assert retriever.search("质量", filters=SearchFilters(doc_ids=("no-such-doc",))) == []
