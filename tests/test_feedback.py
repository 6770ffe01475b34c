"""Feedback in a real SQLite file, its export as an eval set, and the conversation record, over real clauses."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from rag.chunk import split_clauses
from rag.clause_store import SearchFilters
from rag.config import PROJECT_ROOT, load_settings
from rag.conversation import Turn, to_csv, to_markdown
from rag.errors import FeedbackError
from rag.evaluate import load_eval_set
from rag.feedback import Feedback, FeedbackStore, Served, resolve_sources, sources_in_store
from rag.feedback_export import export_feedback
from rag.generate import ExtractiveGenerator
from rag.ingest import load_corpus
from rag.pipeline import ingest, open_store
from rag.question import analyze_question
from rag.schema import Clause, Hit
from rag.shapes import source_line
from tests.conftest import STORES, HashingEmbedder

CITY = "city-product-quality-implementation-opinion"
CITY_TITLE = "关于全面提升产品质量的实施意见"
PLAN_2022 = "2022-18-departments-quality-improvement"
PRIVATE = "2021-qi-private-enterprises-opinion"


@pytest.fixture(scope="module")
def clauses() -> list[Clause]:
    corpus = load_corpus([str(PROJECT_ROOT / "corpus")])
    return [c for d in corpus.documents for c in split_clauses(d, max_chars=300)]  # short: some clauses in parts


def served(question: str, *cited: str, outcome: str = "answered") -> Served:
    return Served(question, "答案[1]", outcome, "extractive", cited, "v-1")


SOURCES = [
    (f"{CITY}#一（二）", (), [f"{CITY}#一（二）"]),
    (f"正确的出处是《{CITY_TITLE}》一（二）「加强先进标准研制」", (), [f"{CITY}#一（二）"]),
    (f"《{CITY_TITLE}》一（二）和一（三）", (), [f"{CITY}#一（二）", f"{CITY}#一（三）"]),
    ("应该是一（二）", (f"{CITY}#五（十七）",), [f"{CITY}#一（二）"]),  # a place within the cited document
    ("应该是十一（二）", (f"{CITY}#五（十七）",), []),  # not 一（二）: a whole mention only
    (f"{PRIVATE}#一", (), [f"{PRIVATE}#一"]),  # a chapter's own text
    (f"{CITY}#一（二）", (), [f"{CITY}#一（二）"]),  # and not its bare heading …#一, which is never gold
    ("不知道", (f"{CITY}#五（十七）",), []),
]  # fmt: skip


@pytest.mark.parametrize(("text", "cited", "expected"), SOURCES)
def test_resolve_sources(clauses: list[Clause], text: str, cited: tuple[str, ...], expected: list[str]) -> None:
    known = {c.clause_id for c in clauses}
    assert all(e in known for e in expected)
    assert list(resolve_sources(text, clauses, cited_ids=cited)) == expected


def test_parts_of_a_long_clause_resolve_to_the_clause(clauses: list[Clause]) -> None:
    part = next(c for c in clauses if c.part == 2)
    assert resolve_sources(part.clause_id, clauses) == (part.base_id,)
    assert resolve_sources(part.citation, clauses) == (part.base_id,)


@pytest.mark.parametrize("store", STORES)
def test_sources_in_store_reads_only_the_documents_meant(store: str, corpus_copy: Path, tmp_path: Path,
                                                         hashing_embedder: HashingEmbedder) -> None:
    """What the chat and the API resolve against a store equals resolving against every clause."""
    settings = load_settings(index_dir=str(tmp_path / "idx"), corpus_paths=(str(corpus_copy),), store=store)
    ingest(settings, embedder=hashing_embedder)  # type: ignore[arg-type]
    index = open_store(settings)
    everything = index.clauses_matching(SearchFilters())
    for text, cited, _ in [*SOURCES, (f"{PLAN_2022}#六（十六）", (), None), ("第十条", (), None)]:
        assert sources_in_store(text, index, cited_ids=cited) == resolve_sources(text, everything, cited_ids=cited)


def test_store_round_trip_in_wal_mode(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "nested" / "feedback.sqlite")
    asked_id = store.record_served(served("问一", f"{CITY}#一（二）"), channel="chat")
    store.add(Feedback(served("问一", f"{CITY}#一（二）"), -1, "《…》一（三）", (f"{CITY}#一（三）",), "错了", asked_id))
    with pytest.raises(ValueError, match="rating"):
        store.add(Feedback(served("问一"), 0))
    (entry,) = store.feedback()
    assert entry.feedback == Feedback(served("问一", f"{CITY}#一（二）"), -1, "《…》一（三）", (f"{CITY}#一（三）",),
                                      "错了", asked_id)
    assert store.served(asked_id) == served("问一", f"{CITY}#一（二）") and store.served(asked_id + 1) is None
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_declined_counts_and_concurrent_writers(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite")

    def serve(worker: int) -> None:
        for n in range(10):
            outcome = "not_found" if n % 2 else "answered"
            store.record_served(served(f"问题{n % 4}", outcome=outcome), channel=f"api-{worker}")

    threads = [threading.Thread(target=serve, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM asked").fetchone()[0] == 60
    # n = 1, 3, 5, 7, 9 are declined: 问题1 for n = 1, 5, 9 (3 per worker), 问题3 for n = 3, 7 (2 per worker)
    assert [(d.question, d.count) for d in store.declined()] == [("问题1", 18), ("问题3", 12)]
    assert [d.question for d in store.declined(limit=1)] == ["问题1"]


def test_an_unusable_feedback_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(FeedbackError, match="反馈记录文件 .*taken 无法读写"):
        FeedbackStore(tmp_path / "taken").record_served(served("问"), channel="chat")


def test_feedback_file_sits_beside_the_index() -> None:
    settings = load_settings(index_dir="/srv/rag/index/default")
    assert settings.feedback_path == Path("/srv/rag/index/default-feedback.sqlite")
    assert load_settings(feedback_file="/tmp/f.sqlite").feedback_path == Path("/tmp/f.sqlite")


def test_export_writes_an_eval_set_a_declined_list_and_what_needs_a_person(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite")
    store.add(Feedback(served("哪些部门负责质量基础设施一站式服务？", f"{PLAN_2022}#六（十六）-2", f"{CITY}#一"), 1))
    store.add(Feedback(served("市里奖励多少？", f"{CITY}#五（十七）"), 1))
    store.add(Feedback(served("市里  奖励多少？", f"{CITY}#五（十七）"), -1, "一（二）", (f"{CITY}#一（二）",)))
    store.add(Feedback(served("市里奖励多少？", f"{CITY}#五（十七）"), 1))  # after the correction: changes nothing
    store.add(Feedback(served("質量月是幾月？"), -1, "不对"))
    store.add(Feedback(served("？？？", f"{CITY}#一"), 1))  # no question at all: left out
    for question in ("增值税起征点？", "增值税起征点？", "社保怎么交？"):
        store.record_served(served(question, outcome="not_found"), channel="api")
    store.record_served(served("质量月几月？", outcome="partly"), channel="chat")

    summary = export_feedback(store, tmp_path / "out")
    assert (summary.questions, summary.from_corrections, summary.from_ratings, summary.declined, summary.unresolved) \
        == (2, 1, 1, 3, 1)
    out = summary.directory
    queries = [json.loads(line) for line in (out / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(q["_id"], q["text"], q["metadata"]["style"], q["metadata"]["source"], q["metadata"]["feedback_ids"])
            for q in queries] == [("fb0001", "哪些部门负责质量基础设施一站式服务？", "department", "rating", [1]),
                                  ("fb0002", "市里奖励多少？", "numeric", "correction", [3])]
    assert (out / "qrels.tsv").read_text(encoding="utf-8").splitlines() == [
        "query-id\tcorpus-id\tscore", f"fb0001\t{PLAN_2022}#六（十六）\t2", f"fb0001\t{CITY}#一\t1",
        f"fb0002\t{CITY}#一（二）\t2"]
    assert (out / "declined.txt").read_text(encoding="utf-8").splitlines()[0] == "2\t增值税起征点？"
    assert (out / "unresolved.tsv").read_text(encoding="utf-8").splitlines()[1] == "質量月是幾月？\t不对\t"
    eval_set = load_eval_set(out)  # what `rag eval --set out` reads
    assert [q.query_id for q in eval_set.select("test")] == ["fb0001", "fb0002"]


def test_conversation_record_lists_each_answer_with_its_sources(clauses: list[Clause]) -> None:
    clause = next(c for c in clauses if c.clause_id == f"{PLAN_2022}#六（十六）")
    answer = ExtractiveGenerator().answer(analyze_question("哪些部门负责质量基础设施一站式服务？"),
                                          [Hit(clause, score=1.0, rank=1)])
    turns = [Turn.of(answer, time="2026-11-26 10:05"),
             Turn("个人所得税起征点？", "未在已收录的文件中找到…", "not_found")]
    markdown = to_markdown(turns)
    assert markdown.startswith("# 咨询记录\n")
    assert "## 1. 问：哪些部门负责质量基础设施一站式服务？（2026-11-26 10:05）" in markdown
    assert f"- [1] {source_line(clause)}" in markdown and "结果：未找到依据" in markdown
    table = to_csv(turns)
    assert table.startswith("\ufeff序号,时间,问题,回答,结果,出处\r\n")
    rows = list(csv.reader(io.StringIO(table[1:])))
    assert rows[1] == ["1", "2026-11-26 10:05", answer.question, answer.text, "已回答", f"[1] {source_line(clause)}"]
    assert rows[2][4:] == ["未找到依据", ""]
