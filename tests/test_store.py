"""Index mechanics of every store on real files, real FAISS, real Milvus Lite and real BM25, with the
deterministic HashingEmbedder; the FAISS store's own mechanics (versions, lock, HNSW) at the end."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from rag.clause_store import ClauseStore, SearchFilters
from rag.config import Settings, load_settings
from rag.errors import CorpusError, IndexDamaged, IndexLocked, IndexMismatch, IndexNotFound
from rag.ingest import load_corpus
from rag.pipeline import ingest, open_store, ranking_from
from rag.retrieve import Retriever
from rag.sentences import clause_sentences
from rag.store import build_index, open_index
from tests.conftest import STORES, HashingEmbedder

RANKING = ranking_from(Settings())
CHANGED = "2022-18-departments-quality-improvement"
REMOVED = "city-product-quality-implementation-opinion"
KEPT = "2014-quality-outline-action-plan#四（十三）"


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def settings_for(store: str, index_dir: Path, corpus_dir: Path) -> Settings:
    return load_settings(index_dir=str(index_dir), corpus_paths=(str(corpus_dir),), store=store)


def build(corpus_dir: Path, index_dir: Path, embedder: HashingEmbedder, **kwargs: object):  # type: ignore[no-untyped-def]
    return build_index(load_corpus([corpus_dir]), index_dir, embedder=embedder, **kwargs)  # type: ignore[arg-type]


def retriever(index: ClauseStore, embedder: HashingEmbedder) -> Retriever:
    return Retriever(index, lambda: embedder, ranking=RANKING)


def test_build_and_open_round_trip(store: str, corpus_copy: Path, tmp_path: Path,
                                   hashing_embedder: HashingEmbedder) -> None:
    settings = settings_for(store, tmp_path / "idx", corpus_copy)
    report = ingest(settings, embedder=hashing_embedder)  # type: ignore[arg-type]
    assert len(report.added) == 5 and not report.changed and not report.removed
    index = open_store(settings)
    manifest = index.manifest
    assert manifest.store == store and manifest.version and manifest.built_at
    assert report.clauses == manifest.clauses
    # each clause's passage is embedded, and each sentence of a longer clause
    assert report.embedded == report.texts == manifest.clauses + manifest.sentences == len(hashing_embedder.embedded)
    assert manifest.sentences > manifest.clauses  # policy clauses run to several sentences each
    assert {d.doc_id for d in manifest.documents} == {p.stem for p in corpus_copy.glob("*.txt")}
    assert manifest.embedder.fingerprint == hashing_embedder.fingerprint and manifest.embedder.dimension == 64
    # every clause is searchable, each with its own vector; bare headings are not indexed
    everything = index.dense_search(hashing_embedder.embed_queries(["质量"])[0], 1_000, SearchFilters(),
                                    sentence_weight=RANKING.sentence_weight)
    assert len({s.clause.clause_id for s in everything}) == manifest.clauses
    assert {c.clause_id for c in index.clauses_matching(SearchFilters())} == {s.clause.clause_id for s in everything}
    assert all(s.clause.kind != "heading" for s in everything)
    assert index.clauses_containing("质量") == sum("质量" in s.clause.text for s in everything)
    assert index.clauses_containing("ccc") == index.clauses_containing("CCC") == 1  # question words are lower-cased
    # the words a question's terms keep whole: clause titles and the names the clauses quote (“质量月”)
    assert {"质量月", "领跑者", "一站式"} <= set(index.words)


def test_reingest_embeds_only_changed_documents(store: str, corpus_copy: Path, tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    settings = settings_for(store, tmp_path / "idx", corpus_copy)
    ingest(settings, embedder=embedder)  # type: ignore[arg-type]
    probe = embedder.embed_queries(["产品质量监督抽查"])[0]
    # with weight 1 a clause's dense score is its best sentence's cosine: sentence vectors are compared too
    kept_scores = [open_store(settings).dense_scores([KEPT], probe, sentence_weight=w) for w in (0.0, 1.0)]

    changed = corpus_copy / f"{CHANGED}.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n（二十三）新增一条关于计量服务的措施。", encoding="utf-8")
    (corpus_copy / f"{REMOVED}.txt").unlink()
    embedder.embedded.clear()
    report = ingest(settings, embedder=embedder)  # type: ignore[arg-type]

    assert report.changed == (CHANGED,) and report.removed == (REMOVED,) and len(report.unchanged) == 3
    index = open_store(settings)
    changed_clauses = index.clauses_matching(SearchFilters(doc_ids=(CHANGED,)))
    changed_sentences = [s for c in changed_clauses for s in clause_sentences(c.text)]
    assert len(changed_clauses) == next(d for d in index.manifest.documents if d.doc_id == CHANGED).clauses
    assert report.embedded == len(changed_clauses) + len(changed_sentences) == len(embedder.embedded)
    assert sorted(embedder.embedded) == sorted([c.text for c in changed_clauses] + changed_sentences)
    assert report.texts == index.manifest.clauses + index.manifest.sentences
    assert REMOVED not in {d.doc_id for d in index.manifest.documents}
    assert index.lexical_search("质量", 10, SearchFilters(doc_ids=(REMOVED,)), heading_weight=0.3) == []
    new = index.lexical_search("新增一条关于计量服务的措施", 3, SearchFilters(doc_ids=(CHANGED,)), heading_weight=0.3)
    assert new[0].clause.clause_id == f"{CHANGED}#七（二十三）"
    # unchanged documents keep their clause and sentence vectors bit for bit
    assert [index.dense_scores([KEPT], probe, sentence_weight=w) for w in (0.0, 1.0)] == kept_scores
    assert not index.clauses_matching(SearchFilters(doc_ids=(REMOVED,)))


def test_failed_ingest_keeps_previous_index(store: str, corpus_copy: Path, tmp_path: Path,
                                            hashing_embedder: HashingEmbedder) -> None:
    ingest(settings_for(store, tmp_path / "idx", corpus_copy), embedder=hashing_embedder)  # type: ignore[arg-type]
    before = open_store(settings_for(store, tmp_path / "idx", corpus_copy)).manifest
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.txt").write_text("   \n", encoding="utf-8")
    with pytest.raises(CorpusError, match="没有可以索引的文件"):
        ingest(settings_for(store, tmp_path / "idx", empty), embedder=hashing_embedder)  # type: ignore[arg-type]
    assert open_store(settings_for(store, tmp_path / "idx", corpus_copy)).manifest == before


def test_missing_index_is_a_clear_error(store: str, tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound, match="rag ingest"):
        open_store(settings_for(store, tmp_path / "nowhere", tmp_path))


def test_index_from_another_embedder_is_refused(store: str, corpus_copy: Path, tmp_path: Path) -> None:
    settings = settings_for(store, tmp_path / "idx", corpus_copy)
    ingest(settings, embedder=HashingEmbedder(64))  # type: ignore[arg-type]
    other = Retriever(open_store(settings), lambda: HashingEmbedder(64, salt="-other"), ranking=RANKING)
    with pytest.raises(IndexMismatch, match="嵌入模型 hashing-64"):
        other.search("质量", mode="dense")
    # lexical search needs no embedder, so it still works
    assert other.search("质量基础设施", mode="lexical")


def test_filters_restrict_results(store: str, corpus_copy: Path, tmp_path: Path,
                                  hashing_embedder: HashingEmbedder) -> None:
    settings = settings_for(store, tmp_path / "idx", corpus_copy)
    ingest(settings, embedder=hashing_embedder)  # type: ignore[arg-type]
    search = retriever(open_store(settings), hashing_embedder).search
    for mode in ("hybrid", "dense", "lexical"):
        only_2014 = search("质量", mode=mode, filters=SearchFilters(doc_ids=("2014-quality-outline-action-plan",)))
        assert only_2014 and {h.clause.doc_id for h in only_2014} == {"2014-quality-outline-action-plan"}
        # 工信部 is an alias of 工业和信息化部
        by_department = search("质量", mode=mode, filters=SearchFilters(department="工信部"))
        assert by_department and all("工业和信息化部" in h.clause.departments or "市工业和信息化局" in h.clause.departments
                                     for h in by_department)
        in_chapter = search("质量", mode=mode, filters=SearchFilters(chapter="保障措施"))
        assert in_chapter and all("保障措施" in h.clause.chapter for h in in_chapter)
    assert search("质量", filters=SearchFilters(doc_ids=("no-such-doc",))) == []


def test_sentence_vectors_score_each_clause(store: str, corpus_copy: Path, tmp_path: Path,
                                            hashing_embedder: HashingEmbedder) -> None:
    """A clause's dense score mixes its own cosine with its best sentence's, and a question in one sentence's
    words finds the clause through that sentence, within the filters."""
    settings = settings_for(store, tmp_path / "idx", corpus_copy)
    ingest(settings, embedder=hashing_embedder)  # type: ignore[arg-type]
    index = open_store(settings)
    kept = next(c for c in index.clauses_matching(SearchFilters(doc_ids=(KEPT.split("#")[0],))) if c.clause_id == KEPT)
    sentences = clause_sentences(kept.text)
    assert len(sentences) >= 2
    question = hashing_embedder.embed_queries(["产品质量监督抽查"])[0]
    own = float(hashing_embedder.embed_documents([kept.text])[0] @ question)
    best = float(np.max(hashing_embedder.embed_documents(sentences) @ question))
    for weight in (0.0, 0.7, 1.0):
        expected = (1 - weight) * own + weight * best
        assert index.dense_scores([KEPT], question, sentence_weight=weight)[0] == pytest.approx(expected, abs=1e-6)
    one_line = min((c for c in index.clauses_matching(SearchFilters()) if not clause_sentences(c.text)),
                   key=lambda c: len(c.text))
    assert index.dense_scores([one_line.clause_id], question, sentence_weight=1.0)[0] == pytest.approx(
        float(hashing_embedder.embed_documents([one_line.text])[0] @ question), abs=1e-6)  # no sentences: its own

    asked = hashing_embedder.embed_queries([sentences[-1]])[0]
    top = index.dense_search(asked, 5, SearchFilters(), sentence_weight=1.0)[0]
    assert top.clause.clause_id == KEPT and top.score == pytest.approx(1.0, abs=1e-5)
    elsewhere = SearchFilters(doc_ids=(CHANGED,))
    assert KEPT not in {s.clause.clause_id for s in index.dense_search(asked, 50, elsewhere, sentence_weight=1.0)}


def test_both_stores_rank_alike(corpus_copy: Path, tmp_path: Path, hashing_embedder: HashingEmbedder) -> None:
    """The same corpus and vectors give the same rankings, scores and similarities in every store."""
    stores = {}
    for name in STORES:
        settings = settings_for(name, tmp_path / name, corpus_copy)
        ingest(settings, embedder=hashing_embedder)  # type: ignore[arg-type]
        stores[name] = retriever(open_store(settings), hashing_embedder)
    for question in ("哪些部门负责质量基础设施一站式服务？", "首席质量官", "汕尾的质量奖励有多少", "计量服务中小企业"):
        for mode in ("hybrid", "dense", "lexical"):
            rankings = {name: [(h.clause.clause_id, round(h.score, 4), h.similarity and round(h.similarity, 4))
                               for h in searcher.search(question, mode=mode)] for name, searcher in stores.items()}
            assert rankings["milvus"] == rankings["faiss"], (question, mode)
    for filters in (SearchFilters(), SearchFilters(doc_ids=(CHANGED, KEPT.split("#")[0])), SearchFilters(chapter="保障措施"),
                    SearchFilters(department="工信部")):
        listed = {name: searcher.index.clauses_matching(filters) for name, searcher in stores.items()}
        assert listed["milvus"] == listed["faiss"] and listed["faiss"], filters


class ExplodingEmbedder(HashingEmbedder):
    """Fails half-way through embedding, like a crash or an out-of-memory kill."""

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        raise RuntimeError("simulated crash while embedding")


def test_faiss_version_parts_agree(corpus_copy: Path, tmp_path: Path, hashing_embedder: HashingEmbedder) -> None:
    report = build(corpus_copy, tmp_path / "idx", hashing_embedder)
    index = open_index(tmp_path / "idx")
    assert len(index.clauses) == report.clauses == index.dense.size == len(index.vectors)
    assert index.lexical.sizes == (report.clauses, report.clauses)
    sentences = len(index.sentences.vectors)
    assert sentences == len(index.sentences.owners) == index.sentences.dense.size == index.manifest.sentences
    assert report.texts == report.clauses + sentences
    manifest = json.loads((index.directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"] == {"documents": 5, "clauses": report.clauses, "sentences": sentences}


def test_crash_during_build_leaves_previous_version(corpus_copy: Path, tmp_path: Path) -> None:
    build(corpus_copy, tmp_path / "idx", HashingEmbedder())
    before = open_index(tmp_path / "idx").directory
    with pytest.raises(RuntimeError):
        build(corpus_copy, tmp_path / "idx", ExplodingEmbedder(salt="other"))
    assert open_index(tmp_path / "idx").directory == before
    assert [p.name for p in (tmp_path / "idx").glob("v-*")] == [before.name]


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
    assert index.manifest.dense_kind == "hnsw" and index.dense.kind == "hnsw"
    hits = Retriever(index, lambda: hashing_embedder, ranking=RANKING).search("质量基础设施一站式服务", mode="dense", k=5)
    assert len(hits) == 5
