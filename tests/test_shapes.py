"""One shape per output: the clause record, citation line and departments line, over real corpus clauses,
and the places that must use them (CLI, chat text, LLM prompt)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from rag.answer import in_script_of
from rag.chunk import split_clauses
from rag.cli import main, render_hits
from rag.cli_ask import render_answer
from rag.config import PROJECT_ROOT
from rag.generate import ExtractiveGenerator
from rag.ingest import load_corpus
from rag.llm import LlmGenerator
from rag.question import analyze_question
from rag.schema import Clause, Hit
from rag.shapes import (
    answer_record,
    citation_line,
    clause_fields,
    clause_record,
    departments_line,
    hit_record,
    relative_sources,
    source_line,
)
from rag.ui import answer_plain_text

PLAN_2022 = "2022-18-departments-quality-improvement"
PLAN_2014 = "2014-quality-outline-action-plan"
TITLE_2022 = "进一步提高产品、工程和服务质量行动方案（2022—2025年）（节选：六、七）"


@pytest.fixture(scope="module")
def clauses() -> dict[str, Clause]:
    paths = [str(PROJECT_ROOT / "corpus"), *map(str, (PROJECT_ROOT / "eval/laws/corpus").glob("产品质量法*"))]
    corpus = load_corpus(paths)
    return {c.clause_id: c for d in corpus.documents for c in split_clauses(d, max_chars=800)}


def test_citation_line_by_kind(clauses: dict[str, Clause]) -> None:
    assert citation_line(clauses[f"{PLAN_2022}#六（十六）"]) == f"《{TITLE_2022}》六（十六）「提升质量基础设施服务效能」"
    assert citation_line(clauses["产品质量法-2018-12-29#第一条"]) == "《中华人民共和国产品质量法》第一条"
    # A chapter's own text: the heading already holds its title, which is not repeated.
    chapter = clauses["2021-qi-private-enterprises-opinion#一"]
    assert citation_line(chapter) == f"《{chapter.doc_title}》一、总体要求"
    assert citation_line(clauses[f"{PLAN_2014}#序言"]) == "《贯彻实施质量发展纲要2014年行动计划》序言"


def test_departments_line_marks_the_lead(clauses: dict[str, Clause]) -> None:
    assert departments_line(clauses[f"{PLAN_2014}#三（九）"]).startswith("责任部门：质检总局（牵头）、发展改革委、科技部")
    assert departments_line(clauses[f"{PLAN_2022}#六（十六）"]) == (
        "责任部门：市场监管总局、科技部、工业和信息化部、全国工商联、商务部、海关总署")  # no lead named
    assert departments_line(clauses[f"{PLAN_2014}#序言"]) == ""
    assert source_line(clauses[f"{PLAN_2014}#序言"]) == citation_line(clauses[f"{PLAN_2014}#序言"])
    assert source_line(clauses[f"{PLAN_2014}#三（九）"]).endswith("统计局、旅游局）")


def test_clause_record_and_every_field(clauses: dict[str, Clause]) -> None:
    clause = clauses[f"{PLAN_2022}#六（十六）"]
    record = clause_record(clause)
    assert list(record) == ["id", "doc_id", "doc_title", "source", "chapter", "clause", "clause_title", "departments",
                            "lead_department", "citation", "text"]
    assert record["id"] == clause.clause_id and record["clause"] == "（十六）" and record["text"] == clause.text
    assert json.loads(json.dumps(record, ensure_ascii=False)) == record  # plain JSON types only
    fields = clause_fields(clause)
    assert fields["id"] == clause.clause_id and "clause_id" not in fields
    assert (fields["label"], fields["start"], fields["kind"]) == ("（十六）", clause.start, "clause")


def test_hit_and_answer_records(clauses: dict[str, Clause]) -> None:
    hit = Hit(clauses[f"{PLAN_2022}#六（十六）"], score=0.123456789, rank=1, similarity=0.87654321)
    record = hit_record(hit)
    assert (record["rank"], record["score"], record["similarity"]) == (1, 0.123457, 0.8765)
    assert {k: v for k, v in record.items() if k not in ("rank", "score", "similarity")} == clause_record(hit.clause)
    answer = ExtractiveGenerator().answer(analyze_question("哪些部门负责质量基础设施一站式服务？"), [hit])
    shaped = answer_record(answer)
    assert list(shaped) == ["question", "answer", "found", "outcome", "reasons", "citations", "mode", "related",
                            "warnings"]
    assert shaped["citations"] == [{"n": 1, **clause_record(hit.clause)}] and "[1]" in shaped["answer"]


def test_relative_sources_never_show_the_servers_folders(clauses: dict[str, Clause], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "corpus" / "laws").mkdir(parents=True)
    single = tmp_path / "elsewhere" / "one.txt"
    single.parent.mkdir()
    single.write_text("一", encoding="utf-8")
    public = relative_sources([tmp_path / "corpus", str(single), tmp_path / "index" / "uploads"])
    assert public(str(tmp_path / "corpus" / "laws" / "计量法.txt")) == "laws/计量法.txt"
    assert public(str(tmp_path / "corpus" / "a.txt")) == "a.txt"
    assert public(str(single)) == "one.txt"  # a corpus path that is a file: its name
    assert public(str(tmp_path / "index" / "uploads" / "20261126T024001-3fa2c1-x.txt")) == "20261126T024001-3fa2c1-x.txt"
    assert public("/srv/old-corpus/b.txt") == "b.txt"  # indexed from elsewhere: the name only
    assert public("D:\\文件\\c.docx") == "c.docx"  # written on Windows
    monkeypatch.chdir(tmp_path)  # `rag ingest corpus` records paths relative to where it ran
    assert public("corpus/laws/计量法.txt") == "laws/计量法.txt"
    hit = Hit(dataclasses.replace(clauses[f"{PLAN_2022}#六（十六）"], source=str(tmp_path / "corpus" / "laws" / "d.txt")),
              score=1.0, rank=1)
    assert hit_record(hit, source=public)["source"] == "laws/d.txt" and hit_record(hit)["source"] == hit.clause.source


def test_every_listing_uses_the_same_lines(clauses: dict[str, Clause]) -> None:
    clause = clauses[f"{PLAN_2014}#三（九）"]
    hits = [Hit(clause, score=1.0, rank=1)]
    query = analyze_question("2014年加快制造业、服务业质量升级的牵头部门是哪个？")
    answer = ExtractiveGenerator().answer(query, hits)
    assert f"[1] {source_line(clause)}" in render_answer(answer).splitlines()  # rag ask
    assert f"[1] {source_line(clause)}" in answer_plain_text(answer).splitlines()  # the chat's copy text
    listing = render_hits("牵头", hits).splitlines()  # rag search
    assert listing[1].startswith(f" 1. {citation_line(clause)}") and listing[2] == f"    {departments_line(clause)}"
    prompt = LlmGenerator(FakeListChatModel(responses=["x"])).messages(query, hits)[1][1]  # the LLM prompt
    assert f"[1] {citation_line(clause)}\n（{departments_line(clause)}）\n" in prompt


def test_a_traditional_answer_lists_its_sources_in_traditional_script(clauses: dict[str, Clause]) -> None:
    clause = clauses[f"{PLAN_2014}#三（九）"]
    question = "2014年加快製造業、服務業質量升級的牽頭部門是哪個？"
    answer = in_script_of(True, ExtractiveGenerator().answer(analyze_question(question), [Hit(clause, 1.0, 1)]))
    answer = dataclasses.replace(answer, question=question)
    for printed, heading in ((render_answer(answer), "來源："), (answer_plain_text(answer), "出處：")):  # rag ask, the chat's copy
        sources = printed.split(heading)[1]
        assert "責任部門：" in sources and "（牽頭）" in sources and "责任部门" not in sources


def test_cli_json_outputs_are_the_records(clauses: dict[str, Clause], tmp_path: Path) -> None:
    source = tmp_path / "plan.txt"
    source.write_text("关于测试的通知\n一、总则\n（一）加强质量管理。各部门按职责分工负责。（市场监管局负责）\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["chunk", str(source), "--json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    reparsed = load_corpus([str(source)]).documents[0]
    assert records == [clause_fields(c) for c in split_clauses(reparsed, max_chars=800)]
