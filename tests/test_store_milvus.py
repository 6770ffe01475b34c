"""What only the Milvus store does, on real Milvus Lite: replicas that see updates without a restart, a
separate replica process over Milvus's network protocol, resumable ingest, its own BM25, clear errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.clause_store import SearchFilters
from rag.cli import main as rag_cli
from rag.config import Settings, load_settings
from rag.errors import IndexMismatch
from rag.ingest import load_corpus
from rag.milvus_collection import (
    MilvusUnavailable,
    connect,
    document_row,
    filter_expression,
    read_meta,
    store_row,
    upsert_rows,
)
from rag.milvus_ingest import ingest_into_milvus
from rag.pipeline import ingest, open_searcher, open_store
from rag.sentences import clause_sentences
from rag.store_milvus import MilvusClauseStore
from tests.conftest import PROJECT_ROOT, HashingEmbedder

CHANGED = "2022-18-departments-quality-improvement"
NEW_CLAUSE = f"{CHANGED}#七（二十三）"
NEW_TEXT = "（二十三）新增一条关于计量服务的措施。"


def milvus_settings(index_dir: Path, corpus_dir: Path, **overrides: object) -> Settings:
    return load_settings(index_dir=str(index_dir), corpus_paths=(str(corpus_dir),), store="milvus", **overrides)


def add_clause(corpus_dir: Path) -> None:
    changed = corpus_dir / f"{CHANGED}.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n" + NEW_TEXT, encoding="utf-8")


def test_filter_expression_quotes_and_aliases() -> None:
    expression = filter_expression(SearchFilters(doc_ids=('a"b', "c"), department="工信部", chapter="保障措施"))
    assert expression == (
        'doc_id in ["a\\"b", "c"]'
        ' and (array_contains_any(departments, ["工业与信息化部", "工业和信息化部", "工信部"])'
        ' or department_text like "%工信部%")'
        ' and (chapter like "%保障措施%" or section like "%保障措施%")')
    assert filter_expression(SearchFilters()) == ""


def test_replica_sees_a_reingest_on_its_next_query(corpus_copy: Path, tmp_path: Path,
                                                    hashing_embedder: HashingEmbedder) -> None:
    settings = milvus_settings(tmp_path / "idx", corpus_copy)
    ingest(settings, embedder=hashing_embedder)  # type: ignore[arg-type]
    # Milvus Lite serves one process; in it, each open store is its own client, as a replica would be.
    replica = open_store(settings)
    before = replica.manifest.version
    assert replica.lexical_search(NEW_TEXT, 1, SearchFilters(), heading_weight=0.3)[0].clause.clause_id != NEW_CLAUSE
    # a clause whose text an edit changes, scored once (its vectors are now held by the replica)
    edited = next(c for c in replica.clauses_matching(SearchFilters(doc_ids=(CHANGED,))) if c.label == "（十六）")
    probe = hashing_embedder.embed_queries(["计量检测认证一站式服务"])[0]
    replica.dense_scores([edited.clause_id], probe, sentence_weight=0.7)

    add_clause(corpus_copy)
    path = corpus_copy / f"{CHANGED}.txt"
    heading = "提升质量基础设施服务效能。"
    assert heading in edited.text
    path.write_text(path.read_text(encoding="utf-8").replace(heading, heading + "计量检测认证一站式服务。", 1),
                    encoding="utf-8")
    (corpus_copy / "2014-quality-outline-action-plan.txt").unlink()
    ingest(settings, embedder=hashing_embedder)  # type: ignore[arg-type]
    now = next(c for c in replica.clauses_matching(SearchFilters(doc_ids=(CHANGED,))) if c.clause_id == edited.clause_id)
    assert now.text != edited.text
    expected = open_store(settings).dense_scores([edited.clause_id], probe, sentence_weight=0.7)  # a fresh replica
    assert replica.dense_scores([edited.clause_id], probe, sentence_weight=0.7) == expected

    assert replica.lexical_search(NEW_TEXT, 1, SearchFilters(), heading_weight=0.3)[0].clause.clause_id == NEW_CLAUSE
    assert replica.manifest.version != before
    assert "2014-quality-outline-action-plan" not in {d.doc_id for d in replica.manifest.documents}
    vector = hashing_embedder.embed_queries([NEW_TEXT])[0]
    assert replica.dense_search(vector, 1, SearchFilters(), sentence_weight=0.7)[0].clause.clause_id == NEW_CLAUSE
    gone = SearchFilters(doc_ids=("2014-quality-outline-action-plan",))
    assert replica.dense_search(vector, 5, gone, sentence_weight=0.7) == []
    assert replica.clauses_matching(gone) == []


REPLICA = textwrap.dedent("""
    import json, sys
    from rag.config import load_settings
    from rag.pipeline import open_searcher
    from tests.conftest import HashingEmbedder

    settings = load_settings(index_dir=sys.argv[1], store="milvus", milvus_uri=sys.argv[2])
    searcher = open_searcher(settings, embedder=HashingEmbedder())
    for line in sys.stdin:
        hits = searcher.search(line.strip(), k=3)
        print(json.dumps([hit.clause.clause_id for hit in hits], ensure_ascii=False), flush=True)
""")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_milvus(uri: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            connect(uri, "probe").client.list_collections()
            return
        except MilvusUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_replica_process_over_the_network(corpus_copy: Path, tmp_path: Path, hashing_embedder: HashingEmbedder) -> None:
    """A Milvus server (Milvus Lite's, speaking Milvus's gRPC protocol), a writer and a replica process."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "server.db"),
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    replica = None
    try:
        uri = f"http://127.0.0.1:{port}"
        wait_for_milvus(uri)
        settings = milvus_settings(tmp_path / "idx", corpus_copy, milvus_uri=uri)
        ingest(settings, embedder=hashing_embedder)  # type: ignore[arg-type]
        replica = subprocess.Popen([sys.executable, "-c", REPLICA, str(tmp_path / "idx"), uri], cwd=PROJECT_ROOT,
                                   env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

        def ask(question: str) -> list[str]:
            assert replica is not None and replica.stdin is not None and replica.stdout is not None
            replica.stdin.write(question + "\n")
            replica.stdin.flush()
            return list(json.loads(replica.stdout.readline()))

        assert NEW_CLAUSE not in ask(NEW_TEXT)
        add_clause(corpus_copy)
        report = ingest(settings, embedder=hashing_embedder)  # type: ignore[arg-type]
        assert report.changed == (CHANGED,) and report.directory == f"{uri}#rag_idx"
        assert ask(NEW_TEXT)[0] == NEW_CLAUSE  # the same process, its next query
    finally:
        for process in (replica, server):
            if process is not None:
                process.kill()
                process.wait(10)


class FailingEmbedder(HashingEmbedder):
    """Fails on its second call, like an ingest killed half-way."""

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        if self.embedded:
            raise RuntimeError("simulated crash while embedding")
        return super().embed_documents(texts)


def test_interrupted_ingest_resumes_with_the_unwritten_documents(corpus_copy: Path, tmp_path: Path) -> None:
    collections = connect(str(tmp_path / "store.db"), "clauses", create=True)
    corpus = load_corpus([corpus_copy])
    first = FailingEmbedder()
    with pytest.raises(RuntimeError):
        ingest_into_milvus(corpus, collections, embedder=first, batch_clauses=30)
    written = len(first.embedded)  # the first batch's clauses and sentences
    embedder = HashingEmbedder()
    report = ingest_into_milvus(corpus, collections, embedder=embedder, batch_clauses=30)
    assert 0 < written < report.texts
    assert report.embedded == len(embedder.embedded) == report.texts - written
    assert len(report.unchanged) >= 1  # the documents the failed run wrote


def test_ingest_with_another_embedder_is_refused(corpus_copy: Path, tmp_path: Path) -> None:
    settings = milvus_settings(tmp_path / "idx", corpus_copy)
    ingest(settings, embedder=HashingEmbedder(64))  # type: ignore[arg-type]
    with pytest.raises(IndexMismatch, match="两种向量不能混在一个集合里"):
        ingest(settings, embedder=HashingEmbedder(64, salt="-other"))  # type: ignore[arg-type]


HOLDER = textwrap.dedent("""
    import sys, time
    from pymilvus import MilvusClient
    MilvusClient(sys.argv[1])
    print("open", flush=True)
    time.sleep(60)
""")


def test_lite_file_of_another_process_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(MilvusUnavailable, match="只允许一个进程"):
            connect(str(path), "clauses")
    finally:
        holder.kill()
        holder.wait(10)


def test_bad_uri_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MilvusUnavailable, match=r"须以 \.db 结尾"):
        open_store(milvus_settings(tmp_path, tmp_path, milvus_uri=str(tmp_path / "store")))


def test_milvus_bm25_search(corpus_copy: Path, tmp_path: Path, hashing_embedder: HashingEmbedder) -> None:
    """Milvus's own full-text search (jieba analyzer, BM25) in place of ours."""
    # The hashing embedder's cosines carry no meaning: weigh the keyword side as much as they do, so that the
    # hybrid check below is about Milvus's BM25 reaching the fusion.
    settings = milvus_settings(tmp_path / "idx", corpus_copy, milvus_lexical="milvus", dense_weight=0.5,
                               lexical_weight=0.5)
    ingest(settings, embedder=hashing_embedder)  # type: ignore[arg-type]
    searcher = open_searcher(settings, embedder=hashing_embedder)  # type: ignore[arg-type]
    one_stop = f"{CHANGED}#六（十六）"
    assert one_stop in [h.clause.clause_id for h in searcher.search("质量基础设施一站式服务", mode="lexical", k=3)]
    assert one_stop in [h.clause.clause_id for h in searcher.search("哪些部门负责质量基础设施一站式服务？", k=3)]
    filtered = searcher.search("质量", mode="lexical", filters=SearchFilters(department="工信部"))
    assert filtered and all("工业和信息化部" in h.clause.departments or "市工业和信息化局" in h.clause.departments
                            for h in filtered)
    local = open_store(milvus_settings(tmp_path / "idx", corpus_copy))
    assert searcher.index.clauses_containing("质量基础设施") == local.clauses_containing("质量基础设施") > 0
    assert searcher.index.clauses_containing("ccc") == local.clauses_containing("ccc") == 1  # the document's "CCC"


DEFAULT_PATH = textwrap.dedent("""
    import sys
    import rag.cli
    from rag.config import load_settings
    from rag.pipeline import ingest, open_searcher
    from tests.conftest import HashingEmbedder
    settings = load_settings(index_dir=sys.argv[1], corpus_paths=(sys.argv[2],))
    ingest(settings, embedder=HashingEmbedder())
    assert open_searcher(settings, embedder=HashingEmbedder()).search("质量", k=3)
    print(sorted(name for name in sys.modules if "milvus" in name))
""")


def test_the_default_store_never_loads_milvus(corpus_copy: Path, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", DEFAULT_PATH, str(tmp_path / "idx"), str(corpus_copy)],
                            cwd=PROJECT_ROOT, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
                            capture_output=True, text=True, timeout=300, check=True)
    assert result.stdout.strip() == "[]"


def test_migrate_copies_a_faiss_index_without_embedding(corpus_copy: Path, tmp_path: Path) -> None:
    """`rag index migrate`: the FAISS index's own vectors go into Milvus, and the index is only read."""
    faiss_settings = load_settings(index_dir=str(tmp_path / "idx"), corpus_paths=(str(corpus_copy),))
    ingest(faiss_settings, embedder=HashingEmbedder())  # type: ignore[arg-type]
    index_files = {p: p.read_bytes() for p in (tmp_path / "idx").rglob("*") if p.is_file()}
    uri = str(tmp_path / "elsewhere" / "milvus.db")
    result = CliRunner().invoke(rag_cli, ["index", "migrate", "--index", str(tmp_path / "idx")],
                                env={"RAG_MILVUS_URI": uri})
    assert result.exit_code == 0, result.output
    assert f"into {uri}#rag_idx" in result.output
    assert {p: p.read_bytes() for p in (tmp_path / "idx").rglob("*") if p.is_file()} == index_files

    milvus = milvus_settings(tmp_path / "idx", corpus_copy, milvus_uri=uri)
    faiss_index, milvus_store = open_store(faiss_settings), open_store(milvus)
    assert milvus_store.manifest.documents == faiss_index.manifest.documents
    assert (milvus_store.manifest.clauses, milvus_store.manifest.sentences) == (
        faiss_index.manifest.clauses, faiss_index.manifest.sentences)
    assert milvus_store.manifest.embedder == faiss_index.manifest.embedder
    question = HashingEmbedder().embed_queries(["产品质量监督抽查"])[0]
    for filters in (SearchFilters(), SearchFilters(doc_ids=(CHANGED,))):
        found = [store.dense_search(question, 20, filters, sentence_weight=0.7) for store in (faiss_index, milvus_store)]
        assert found[0] == found[1]  # the same vectors: the same clauses, the same scores
    if isinstance(milvus_store, MilvusClauseStore):
        milvus_store.close()  # Milvus Lite: one client per file for what follows

    # The copy is what an ingest of the same corpus would have written: nothing left to embed.
    embedder = HashingEmbedder()
    report = ingest(milvus, embedder=embedder)  # type: ignore[arg-type]
    assert embedder.embedded == [] and len(report.unchanged) == 5
    assert report.texts == faiss_index.manifest.clauses + faiss_index.manifest.sentences


def test_store_of_another_format_is_refused(corpus_copy: Path, tmp_path: Path,
                                            hashing_embedder: HashingEmbedder) -> None:
    settings = milvus_settings(tmp_path / "idx", corpus_copy)
    ingest(settings, embedder=hashing_embedder)  # type: ignore[arg-type]
    collections = connect(settings.milvus_address, settings.milvus_collection_name)
    store, _ = read_meta(collections)
    upsert_rows(collections.client, collections.meta, [store_row({**store, "format": 1}, hashing_embedder.dimension)])
    collections.client.close()
    with pytest.raises(IndexMismatch, match="格式是 1"):
        open_store(settings)
    with pytest.raises(IndexMismatch, match="格式是 1"):
        ingest(settings, embedder=hashing_embedder)  # type: ignore[arg-type]


def test_a_document_chunked_otherwise_is_written_again(corpus_copy: Path, tmp_path: Path,
                                                       hashing_embedder: HashingEmbedder) -> None:
    """A new chunker changes what an unchanged file is split into: the FAISS store rechunks every file on each
    ingest, the Milvus store rewrites a document whose recorded chunking differs."""
    settings = milvus_settings(tmp_path / "idx", corpus_copy)
    ingest(settings, embedder=hashing_embedder)  # type: ignore[arg-type]
    collections = connect(settings.milvus_address, settings.milvus_collection_name)
    _, stored = read_meta(collections)
    upsert_rows(collections.client, collections.meta, [document_row(replace(stored[CHANGED], digest="older chunker"))])
    collections.client.close()
    embedder = HashingEmbedder()
    report = ingest(settings, embedder=embedder)  # type: ignore[arg-type]
    assert report.changed == (CHANGED,) and len(report.unchanged) == 4
    store = open_store(settings)
    clauses = store.clauses_matching(SearchFilters(doc_ids=(CHANGED,)))
    assert sorted(embedder.embedded) == sorted([c.text for c in clauses] + [s for c in clauses for s in clause_sentences(c.text)])
