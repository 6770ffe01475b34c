"""rag.departments: attributions as written in the bundled policies, and matching names by alias."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.chunk import split_clauses
from rag.departments import (
    canonical_department,
    department_matches,
    known_department_names,
    parse_attribution,
)
from rag.ingest import load_corpus
from rag.schema import Clause

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@pytest.fixture(scope="module")
def seed_clauses() -> dict[str, Clause]:
    """Every clause of the bundled corpus by its id."""
    corpus = load_corpus([CORPUS])
    return {clause.clause_id: clause for document in corpus.documents for clause in split_clauses(document)}


# --- attributions in the seeds ------------------------------------------------------------------


def test_one_stop_service_clause_of_the_18_department_plan(seed_clauses: dict[str, Clause]) -> None:
    clause = seed_clauses["2022-18-departments-quality-improvement#六（十六）"]
    assert "一站式" in clause.text
    assert clause.departments == ("市场监管总局", "科技部", "工业和信息化部", "全国工商联", "商务部", "海关总署")
    assert clause.lead_department == ""  # "等按职责分工负责" names no lead, and this plan has no lead note


def test_2014_plan_lead_is_the_first_listed(seed_clauses: dict[str, Clause]) -> None:
    doc = "2014-quality-outline-action-plan"
    first = seed_clauses[f"{doc}#一（一）"]  # carries "列第一位者为牵头部门，下同"
    assert first.departments == (
        "食品药品监管总局", "教育部", "公安部", "农业部", "商务部", "人力资源社会保障部", "卫生计生委", "海关总署", "质检总局",
    )  # fmt: skip
    assert first.lead_department == "食品药品监管总局"
    # "下同": later clauses without the note still lead with their first department …
    assert seed_clauses[f"{doc}#一（二）"].lead_department == "工业和信息化部"
    assert seed_clauses[f"{doc}#三（九）"].departments[0] == seed_clauses[f"{doc}#三（九）"].lead_department == "质检总局"
    assert seed_clauses[f"{doc}#四（十五）"].lead_department == "中央组织部"
    # … unless they name their lead themselves.
    common = seed_clauses[f"{doc}#四（十三）"]
    assert common.chapter.startswith("四、")
    assert common.departments == ("质检总局", "国务院有关部门")
    assert common.lead_department == "质检总局"
    # Every clause of this plan has an attribution with a lead.
    clauses = [c for c in seed_clauses.values() if c.doc_id == doc and c.kind == "clause"]
    assert len(clauses) == 15 and all(c.departments and c.lead_department for c in clauses)


def test_shanwei_brackets(seed_clauses: dict[str, Clause]) -> None:
    doc = "2023-shanwei-quality-strong-city-opinion"
    for number in ("八（二十四）", "九（二十六）"):  # 【市市场监管局牵头负责】
        assert seed_clauses[f"{doc}#{number}"].departments == ("市市场监管局",)
        assert seed_clauses[f"{doc}#{number}"].lead_department == "市市场监管局"
    shared = seed_clauses[f"{doc}#九（二十七）"]
    assert shared.lead_department == "市市场监管局"
    assert shared.departments == (
        "市市场监管局", "市质量强市工作领导小组各成员单位", "市公平竞争审查工作部门间联席会议成员单位",
    )  # fmt: skip
    # "各县（市、区）党委" is one body: 、 inside brackets does not split it; "以下不再列出" is not a name.
    assert seed_clauses[f"{doc}#二（三）"].departments == (
        "市科技局", "市市场监管局", "市工业和信息化局", "各县（市、区）党委", "人民政府（管委会）",
    )  # fmt: skip
    # A stray ")" inside the brackets in the source: "汕尾海关按职责分工负责)】".
    assert seed_clauses[f"{doc}#四（十一）"].departments[-1] == "汕尾海关"
    assert seed_clauses[f"{doc}#二（三）"].lead_department == ""  # no 牵头, no lead note
    # The closing chapter 十、组织保障 names no departments.
    assert all(not seed_clauses[f"{doc}#十（{n}）"].departments for n in ("二十八", "二十九", "三十"))


def test_documents_without_attributions(seed_clauses: dict[str, Clause]) -> None:
    for doc in ("2021-qi-private-enterprises-opinion", "city-product-quality-implementation-opinion"):
        assert all(not c.departments for c in seed_clauses.values() if c.doc_id == doc)
    # Only clauses carry attributions; a preamble or closing never does.
    assert all(not c.departments for c in seed_clauses.values() if c.kind != "clause")


def test_filtering_seed_clauses_by_department_alias(seed_clauses: dict[str, Clause]) -> None:
    doc = "2022-18-departments-quality-improvement"
    by_miit = sorted(
        c.clause_id.split("#")[1]
        for c in seed_clauses.values()
        if c.doc_id == doc and department_matches("工信部", c.departments)
    )
    assert by_miit == sorted(["六（十四）", "六（十五）", "六（十六）", "六（十七）", "七（二十）", "七（二十一）", "七（二十二）"])
    by_customs = [c.clause_id.split("#")[1] for c in seed_clauses.values() if c.doc_id == doc and department_matches("海关", c.departments)]
    assert by_customs == ["六（十六）", "七（二十）"]


# --- parse_attribution ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "departments", "lead"),
    [
        ("（科技部、工业和信息化部、市场监管总局等按职责分工负责）", ("科技部", "工业和信息化部", "市场监管总局"), ""),
        ("加强宣传。（质检总局牵头，国务院有关部门参加）", ("质检总局", "国务院有关部门"), "质检总局"),
        ("优化监管。【市市场监管局牵头负责】", ("市市场监管局",), "市市场监管局"),
        ("加强监管（市场监管总局等按职责分工负责）。", ("市场监管总局",), ""),  # the full stop after the bracket
        ("（科技部、工业和信息化部）", ("科技部", "工业和信息化部"), ""),  # a bare list of bodies
        ("【县市场监管局牵头，县科技局、县商务局配合】", ("县市场监管局", "县科技局", "县商务局"), "县市场监管局"),
    ],
)
def test_parse_attribution(text: str, departments: tuple[str, ...], lead: str) -> None:
    attribution = parse_attribution(text)
    assert attribution is not None
    assert (attribution.departments, attribution.lead_department) == (departments, lead)
    assert text[attribution.start] in "（【"


def test_lead_note_and_lead_first_listed() -> None:
    text = "加强监管。（食品药品监管总局、教育部、质检总局。列第一位者为牵头部门，下同）"
    plain = parse_attribution(text)
    assert plain is not None and plain.departments == ("食品药品监管总局", "教育部", "质检总局")
    assert plain.lead_department == ""
    first_listed = parse_attribution(text, lead_first_listed=True)
    assert first_listed is not None and first_listed.lead_department == "食品药品监管总局"
    # An explicit 牵头 wins over the first-listed rule.
    explicit = parse_attribution("（国务院有关部门参加，质检总局牵头）", lead_first_listed=True)
    assert explicit is not None and explicit.departments == ("国务院有关部门", "质检总局")
    assert explicit.lead_department == "质检总局"


@pytest.mark.parametrize(
    "text",
    [
        "没有括号的句子。",
        "（一）",
        "分别给予50万元、5万元的奖励（含增加值、产值、税收）",  # an explanation, not bodies
        "（张三、李四）",
        "加强监管（市场监管总局等按职责分工负责）后续文字",  # the bracket does not close the text
        "",
    ],
)
def test_text_without_an_attribution(text: str) -> None:
    assert parse_attribution(text) is None


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("工信部", "工业和信息化部"),
        (" 国家市场监督管理总局 ", "市场监管总局"),
        ("发改委", "国家发展改革委"),
        ("市市场监督管理局", "市市场监管局"),
        ("某某县人民政府", "某某县人民政府"),  # unknown names are kept as written
    ],
)
def test_canonical_department(name: str, canonical: str) -> None:
    assert canonical_department(name) == canonical


@pytest.mark.parametrize(
    ("query", "departments", "matches"),
    [
        ("工信部", ("工业和信息化部",), True),
        ("市场监管总局", ("国家市场监督管理总局",), True),
        ("国家市场监管总局", ("市场监管总局",), True),
        ("海关", ("海关总署",), True),
        ("市场监管", ("市市场监管局",), True),  # a part of a listed name
        ("科技局", ("市科技局",), True),
        ("市场监管总局", ("市市场监管局",), False),  # the national body is not the city bureau
        ("财政部", ("商务部",), False),
        ("部", ("商务部",), False),  # one character is too little to match a part
        ("商务部", (), False),
    ],
)
def test_department_matches(query: str, departments: tuple[str, ...], matches: bool) -> None:
    assert department_matches(query, departments) is matches
    assert department_matches(query, list(departments)) is matches


def test_known_department_names_include_aliases() -> None:
    names = known_department_names()
    assert {"工信部", "工业和信息化部", "国家市场监督管理总局", "市市场监管局"} <= set(names)
    assert names == sorted(names)
