"""rag.chunk: the five bundled policies, generated documents, and a sample of the laws corpus.

Expected ids were derived once from `rag chunk corpus/` and checked against the source files by hand;
law expectations come from the markdown itself (bench/bench_chunk_laws.py), not from the chunker.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.chunk import split_clauses
from rag.ingest import load_corpus, load_document
from rag.schema import Clause, Document
from tests.conftest import load_script

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
DATA = Path(__file__).resolve().parent / "data"
LAWS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "laws"
needs_laws = pytest.mark.skipif(not LAWS.is_dir(), reason=f"laws corpus not found at {LAWS}")

# 一 … 三十, written out: the tests must not borrow the chunker's numeral parsing.
CN = (
    "一 二 三 四 五 六 七 八 九 十 十一 十二 十三 十四 十五 十六 十七 十八 十九 二十 "
    "二十一 二十二 二十三 二十四 二十五 二十六 二十七 二十八 二十九 三十"
).split()


def clauses_of(chapters: dict[str, range]) -> list[str]:
    """Ids after the '#' for chapters and their numbered clauses, e.g. {"一": range(1, 3)} → 一, 一（一）, 一（二）."""
    ids = []
    for chapter, numbers in chapters.items():
        ids.append(chapter)
        ids.extend(f"{chapter}（{CN[number - 1]}）" for number in numbers)
    return ids


# Checked against the sources: 2014 has four chapters 一–四 with clauses （一）–（十五） numbered through,
# then a closing paragraph; 2021's 一、总体要求 is a chapter with its own text, and 三、保障措施
# restarts at （一）; 2022 is an excerpt (六、七) starting at （十四）; 汕尾 has ten chapters and no
# closing (its last line is the site's "leaving" notice); the docx scrape has seven chapters, no closing.
SEED_IDS: dict[str, list[str]] = {
    "2014-quality-outline-action-plan": [
        "序言",
        *clauses_of({"一": range(1, 6), "二": range(6, 9), "三": range(9, 12), "四": range(12, 16)}),
        "结尾",
    ],
    "2021-qi-private-enterprises-opinion": [
        "序言",
        *clauses_of({"一": range(0), "二": range(1, 10), "三": range(1, 4)}),
        "结尾",
    ],
    "2022-18-departments-quality-improvement": [
        "序言",
        *clauses_of({"六": range(14, 19), "七": range(19, 23)}),
        "结尾",
    ],
    "2023-shanwei-quality-strong-city-opinion": [
        "序言",
        *clauses_of(
            {
                "一": range(1, 3),
                "二": range(3, 6),
                "三": range(6, 10),
                "四": range(10, 13),
                "五": range(13, 16),
                "六": range(16, 19),
                "七": range(19, 22),
                "八": range(22, 25),
                "九": range(25, 28),
                "十": range(28, 31),
            }
        ),
    ],
    "city-product-quality-implementation-opinion": [
        "序言",
        *clauses_of(
            {
                "一": range(1, 4),
                "二": range(4, 8),
                "三": range(8, 11),
                "四": range(11, 15),
                "五": range(15, 18),
                "六": range(18, 21),
                "七": range(21, 25),
            }
        ),
    ],
}


@pytest.fixture(scope="module")
def seeds() -> dict[str, tuple[Document, list[Clause]]]:
    corpus = load_corpus([CORPUS])
    assert corpus.skipped == ()
    return {document.doc_id: (document, split_clauses(document)) for document in corpus.documents}


def by_id(clauses: list[Clause]) -> dict[str, Clause]:
    return {clause.clause_id.split("#", 1)[1]: clause for clause in clauses}


def assert_invariants(document: Document, clauses: list[Clause]) -> None:
    """Ordered, non-overlapping, exact offsets, non-empty, unique ids, and nothing lost."""
    assert len({clause.clause_id for clause in clauses}) == len(clauses)
    for clause in clauses:
        assert clause.text == document.text[clause.start : clause.end]
        assert clause.text.strip()
        assert clause.clause_id.startswith(f"{document.doc_id}#")
    for before, after in zip(clauses, clauses[1:], strict=False):
        assert before.end <= after.start
    chunked = "".join(clause.text for clause in clauses)
    assert re.sub(r"\s", "", chunked) == re.sub(r"\s", "", document.text)


# --- the five seed documents -------------------------------------------------------------------


@pytest.mark.parametrize("doc_id", sorted(SEED_IDS))
def test_seed_clause_ids_in_order(seeds: dict[str, tuple[Document, list[Clause]]], doc_id: str) -> None:
    document, clauses = seeds[doc_id]
    assert [clause.clause_id for clause in clauses] == [f"{doc_id}#{path}" for path in SEED_IDS[doc_id]]
    assert_invariants(document, clauses)


@pytest.mark.parametrize("doc_id", sorted(SEED_IDS))
def test_seed_labels_and_chapters(seeds: dict[str, tuple[Document, list[Clause]]], doc_id: str) -> None:
    _, clauses = seeds[doc_id]
    for clause in clauses:
        path = clause.clause_id.split("#", 1)[1]
        if clause.kind == "clause":
            chapter_number, label = path.split("（", 1)
            assert clause.label == f"（{label}"
            assert clause.chapter.startswith(f"{chapter_number}、")
            assert clause.title and clause.text.startswith(clause.label + clause.title)
        elif clause.kind in ("chapter", "heading"):
            assert clause.label == path
            assert clause.chapter.startswith(f"{path}、")
        else:
            assert (clause.kind, clause.label, clause.chapter) == ({"序言": "preamble", "结尾": "closing"}[path], "", "")


def test_seed_kinds(seeds: dict[str, tuple[Document, list[Clause]]]) -> None:
    kinds = {doc_id: [clause.kind for clause in clauses] for doc_id, (_, clauses) in seeds.items()}
    assert all(kind[0] == "preamble" for kind in kinds.values())
    assert {doc_id for doc_id, kind in kinds.items() if kind[-1] == "closing"} == {
        "2014-quality-outline-action-plan",
        "2021-qi-private-enterprises-opinion",
        "2022-18-departments-quality-improvement",
    }
    # 2021 一、总体要求 has a paragraph of its own; every other chapter line is a bare heading.
    chapters = {doc_id: [c.clause_id for c in clauses if c.kind == "chapter"] for doc_id, (_, clauses) in seeds.items()}
    assert chapters["2021-qi-private-enterprises-opinion"] == ["2021-qi-private-enterprises-opinion#一"]
    assert sum(len(ids) for ids in chapters.values()) == 1


def test_seed_chapter_assignment_and_titles(seeds: dict[str, tuple[Document, list[Clause]]]) -> None:
    plan_2014 = by_id(seeds["2014-quality-outline-action-plan"][1])
    assert plan_2014["四（十三）"].chapter == "四、强化质量治理体系和能力建设"
    assert plan_2014["四（十三）"].title == "推进质量共治"
    assert plan_2014["一（一）"].title == "加强食品农产品质量安全监管"

    opinion_2021 = by_id(seeds["2021-qi-private-enterprises-opinion"][1])
    assert opinion_2021["三（一）"].chapter == "三、保障措施"
    assert opinion_2021["三（一）"].title == "加强统筹协调"
    assert opinion_2021["二（一）"].title == "引导民营企业牢固树立“质量第一”的意识"  # traditional + pinyin in the source
    assert opinion_2021["一"].title == "总体要求"
    assert "十九届二中、三中、四中、五中全会" in opinion_2021["一"].text  # 二中、三中 is not a chapter

    plan_2022 = by_id(seeds["2022-18-departments-quality-improvement"][1])
    assert plan_2022["六（十六）"].title == "提升质量基础设施服务效能"
    assert plan_2022["六（十六）"].chapter == "六、以质量变革创新推动质量持续提升"
    assert plan_2022["七（十九）"].chapter == "七、强化实施保障"
    assert plan_2022["六（十六）"].citation == (
        "《进一步提高产品、工程和服务质量行动方案（2022—2025年）（节选：六、七）》六（十六）"
    )

    shanwei = by_id(seeds["2023-shanwei-quality-strong-city-opinion"][1])
    assert shanwei["八（二十四）"].title == "提升质量基础设施服务效能"
    assert shanwei["一（二）"].text.rstrip().endswith("实现质量更好、效益更高、竞争力更强、影响力更大的发展。")

    city = by_id(seeds["city-product-quality-implementation-opinion"][1])
    # The docx page break "加强先进\n2、标准研制" is rejoined before chunking.
    assert city["一（二）"].title == "加强先进标准研制"
    assert city["四（十四）"].title == "推行质量基础设施“一站式”服务"
    assert city["一"].chapter == "一、发挥标准引领作用，全面实施标准化战略"


def test_seed_preambles_and_closings(seeds: dict[str, tuple[Document, list[Clause]]]) -> None:
    plan_2014 = by_id(seeds["2014-quality-outline-action-plan"][1])
    assert plan_2014["序言"].text.startswith("国务院办公厅关于印发贯彻实施质量发展纲要2014年行动计划的通知")
    assert plan_2014["结尾"].text.startswith("地方各级人民政府要加强对质量工作的组织领导")
    assert plan_2014["四（十五）"].text.endswith("（中央组织部、质检总局、统计局按职责分工负责）")

    opinion_2021 = by_id(seeds["2021-qi-private-enterprises-opinion"][1])
    assert opinion_2021["结尾"].text.startswith("市场监管总局")
    assert opinion_2021["结尾"].text.endswith("2021年9月28日")

    plan_2022 = by_id(seeds["2022-18-departments-quality-improvement"][1])
    assert plan_2022["序言"].text == "大动作！18部门联合推动质量提升"
    assert plan_2022["结尾"].text.startswith("各地区、各有关部门要加强组织领导")
    assert "来源" not in plan_2022["结尾"].text  # "来源:市说新语" is page chrome


def test_long_policy_clause_is_split_into_parts_with_the_same_heading(
    seeds: dict[str, tuple[Document, list[Clause]]],
) -> None:
    document, _ = seeds["2014-quality-outline-action-plan"]
    clauses = split_clauses(document, max_chars=100)
    assert_invariants(document, clauses)
    parts = [clause for clause in clauses if clause.base_id == f"{document.doc_id}#一（一）"]
    assert [part.clause_id for part in parts] == [f"{document.doc_id}#一（一）"] + [
        f"{document.doc_id}#一（一）-{n}" for n in range(2, len(parts) + 1)
    ]
    assert len(parts) >= 4  # 336 characters
    assert {(part.label, part.title, part.chapter) for part in parts} == {
        ("（一）", "加强食品农产品质量安全监管", "一、加强重点领域质量安全监管")
    }
    assert [part.part for part in parts] == list(range(1, len(parts) + 1))
    assert all(len(part.text) <= 100 for part in parts)
    assert re.sub(r"\s", "", "".join(part.text for part in parts)) == re.sub(
        r"\s", "", by_id(split_clauses(document))["一（一）"].text
    )


def test_max_chars_is_validated() -> None:
    document = Document(doc_id="d", title="t", text="（一）内容。", source="d.txt")
    with pytest.raises(ValueError, match="max_chars"):
        split_clauses(document, max_chars=10)


def test_numbered_items_without_clauses_under_them_are_content_not_headings() -> None:
    """A short notice numbered 一、二、 only: each line is what the notice says, so it must be searchable."""
    text = "关于开展质量月活动的通知\n一、每年九月开展全国质量月活动。\n二、各地市场监管部门负责组织质量月活动。\n"
    clauses = by_id(split_clauses(Document(doc_id="n", title="关于开展质量月活动的通知", text=text, source="n.txt")))
    assert [clauses[label].kind for label in ("一", "二")] == ["chapter", "chapter"]
    headed = "通知\n一、活动安排\n（一）每年九月开展质量月活动。\n二、工作要求\n（二）按时报送总结。\n"
    kinds = {c.label: c.kind for c in split_clauses(Document(doc_id="h", title="通知", text=headed, source="h.txt"))}
    assert kinds["一"] == kinds["二"] == "heading"  # bare lines heading the clauses under them


# --- hand-written fixtures ---------------------------------------------------------------------


def test_short_policy_fixture() -> None:
    document = load_document(DATA / "policy-short.txt")
    clauses = split_clauses(document)
    assert [c.clause_id.split("#")[1] for c in clauses] == [
        "序言", "一", "一（一）", "一（二）", "二", "二（三）", "二（四）", "结尾",
    ]  # fmt: skip
    # "依照《产品质量法》第十条" is a cross-reference inside a policy, not a law article.
    assert all(clause.kind != "article" for clause in clauses)
    assert_invariants(document, clauses)


def test_short_law_fixture() -> None:
    document = load_document(DATA / "law-short.md")
    clauses = split_clauses(document)
    articles = [clause for clause in clauses if clause.kind == "article"]
    assert [(a.label, a.chapter) for a in articles] == [
        ("第一条", "第一章 总则"),
        ("第二条", "第一章 总则"),
        ("第三条", "第二章监督检查"),  # the heading lost its space in the source
        ("第三条之一", "第二章监督检查"),
        ("第四条", "第二章监督检查"),  # written "第四 条检验机构…"
        ("第五条", "第二章监督检查"),
        ("第六条", "第三章 附则"),
    ]
    by_label = {a.label: a for a in articles}
    # Line-internal cross-references stay inside their article.
    assert "依照本法第十条规定" in by_label["第二条"].text
    assert "违反本法第二条规定的，依照第五条处罚。" in by_label["第三条"].text
    # The repeated item is kept in both articles (it used to be dropped as a repeated line).
    assert "（一）法律、行政法规规定的其他情形。" in by_label["第四条"].text
    assert "（一）法律、行政法规规定的其他情形。" in by_label["第五条"].text
    # "第三十一条的决定》第一次修正" in the preamble is not an article.
    assert clauses[0].kind == "preamble" and "第三十一条的决定" in clauses[0].text
    assert_invariants(document, clauses)


# --- generated documents -----------------------------------------------------------------------

_HAN = "质量标准监管部门推动加强建设服务企业产品市场发展体系提升工作"
_words = st.text(alphabet=_HAN + "，、“”《》0123456789AB ", min_size=0, max_size=40)
_sentence = st.builds(lambda words, end: words + end, _words, st.sampled_from(["。", "；", "", "：", "\n"]))
_numeral = st.sampled_from(CN)
_block = st.one_of(
    _sentence,
    st.builds(lambda n, w: f"{n}、{w}", _numeral, _words),
    st.builds(lambda n, w: f"（{n}）{w}。", _numeral, _words),
    st.builds(lambda n, w: f"第{n}条 {w}", _numeral, _words),
    st.builds(lambda n, w: f"第{n}章 {w}", _numeral, _words),
    st.builds(lambda n, w: f"依照本法第{n}条规定，{w}", _numeral, _words),
    st.sampled_from(
        [
            "（科技部、工业和信息化部、市场监管总局等按职责分工负责）",
            "【市市场监管局牵头负责】",
            "列第一位者为牵头部门，下同。",
            "市场监管总局\n2021年9月28日",
        ]
    ),
    st.text(max_size=10),  # anything at all, including odd whitespace
)
_separator = st.sampled_from(["\n", "", " ", "\n\n", "\n \t", "　"])
generated_document = st.lists(st.tuples(_block, _separator), max_size=30).map(
    lambda pieces: "".join(block + separator for block, separator in pieces)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=generated_document, max_chars=st.sampled_from([50, 120, 800]))
def test_chunking_loses_nothing(text: str, max_chars: int) -> None:
    document = Document(doc_id="generated", title="生成文档", text=text, source="generated.txt")
    assert_invariants(document, split_clauses(document, max_chars=max_chars))


# --- the laws corpus ---------------------------------------------------------------------------


def load_bench() -> ModuleType:
    """bench/bench_chunk_laws.py holds the reference reader of the law markdown."""
    return load_script(REPO / "bench" / "bench_chunk_laws.py")


bench = load_bench()

# Files with known traps, on top of one file from the middle of each folder (sorted by path).
LAW_EDGE_CASES = [
    "刑法/刑法.md",  # 编/章/节, 第一百二十条之一 …
    "民法典/物权编.md",  # 分编, en-space headings, 节 under 章
    "行政法/文物保护法(2017-11-04).md",  # "第三十一条的决定》" at line start in the preamble
    "DLC/北京地方法规/地方性法规/北京/北京中轴线文化遗产保护条例(2022-05-25).md",  # table of contents
    "DLC/浙江地方法规/地方性法规/浙江/浙江省志愿服务条例(2018-07-27).md",  # "## 第四章志愿服务活动"
    "DLC/山东地方法规/地方性法规/山东/山东省循环经济条例(2016-07-22).md",  # heading without "##"
    "DLC/山东地方法规/地方性法规/山东/青岛市海上交通安全条例(2014-09-26).md",  # "第七十五 条体育…"
    "DLC/上海地方法规/地方性法规/上海/上海市公共文化服务保障与促进条例(2020-10-27).md",  # "第五章“上海文化”…"
    "宪法/宪法修正案（2018年）.md",  # "第七节相应改为第八节，…" is a sentence
]


def law_sample() -> list[Path]:
    """About 35 files: the edge cases plus the middle file of every folder that holds laws."""
    if not LAWS.is_dir():
        return []
    folders: dict[Path, list[Path]] = {}
    for path in sorted(LAWS.rglob("*.md")):
        if path.name != "_index.md":
            folders.setdefault(path.parent, []).append(path)
    picked = [files[len(files) // 2] for _, files in sorted(folders.items())]
    return sorted({*picked, *(LAWS / name for name in LAW_EDGE_CASES)})


def law_id(path: Path) -> str:
    return str(path.relative_to(LAWS)) if LAWS in path.parents else path.name


@pytest.fixture(scope="module")
def chunked_laws() -> dict[Path, tuple[Document, list[Clause]]]:
    documents = {path: load_document(path) for path in law_sample()}
    return {path: (document, split_clauses(document)) for path, document in documents.items()}


@needs_laws
def test_law_sample_covers_every_folder() -> None:
    sample = law_sample()
    assert 25 <= len(sample) <= 40
    assert {path.relative_to(LAWS).parts[0] for path in sample} >= {"刑法", "民法典", "DLC", "司法解释", "行政法规"}


@needs_laws
@pytest.mark.parametrize("path", law_sample(), ids=law_id)
def test_every_law_article_is_one_chunk(chunked_laws: dict[Path, tuple[Document, list[Clause]]], path: Path) -> None:
    document, clauses = chunked_laws[path]
    expected = bench.expected_articles(path.read_text(encoding="utf-8"))
    articles = [clause for clause in clauses if clause.kind == "article" and clause.part == 1]
    if len(expected) == 1:  # a case quoting one article: a law needs two line-start articles
        expected = []
    assert [(a.label, bench.chapter_label(a.chapter)) for a in articles] == [(e.label, e.chapter) for e in expected]
    for article in articles:  # the chunk starts at its own 第X条, not at a cross-reference
        assert re.sub(r"\s", "", article.text).startswith(article.label)
        assert article.clause_id == f"{document.doc_id}#{article.label}"
    assert_invariants(document, clauses)


@needs_laws
def test_articles_with_a_suffix_and_odd_spacing(chunked_laws: dict[Path, tuple[Document, list[Clause]]]) -> None:
    _, criminal_law = chunked_laws[LAWS / "刑法/刑法.md"]
    articles = by_id([clause for clause in criminal_law if clause.part == 1])
    assert articles["第一百二十条之一"].text.startswith("第一百二十条之一 ")
    assert articles["第一百二十条之一"].chapter.startswith("第二章")
    assert articles["第一百二十条之一"].section == ""
    assert articles["第十七条"].section.startswith("第一节")
    _, qingdao = chunked_laws[LAWS / "DLC/山东地方法规/地方性法规/山东/青岛市海上交通安全条例(2014-09-26).md"]
    article_75 = by_id(qingdao)["第七十五条"]
    assert article_75.text.startswith("第七十五 条体育运动船艇的安全管理")


@needs_laws
def test_section_ids_use_the_chapter_number(chunked_laws: dict[Path, tuple[Document, list[Clause]]]) -> None:
    _, property_law = chunked_laws[LAWS / "民法典/物权编.md"]
    sections = [clause for clause in property_law if clause.section and clause.kind == "heading"]
    assert sections[0].clause_id == "物权编#第二章第一节"
    assert sections[0].section == "第一节 不动产登记"
    assert all(" " not in clause.clause_id for clause in property_law)


@needs_laws
def test_over_long_articles_are_split_into_parts(chunked_laws: dict[Path, tuple[Document, list[Clause]]]) -> None:
    document, _ = chunked_laws[LAWS / "刑法/刑法.md"]
    clauses = split_clauses(document, max_chars=200)
    assert_invariants(document, clauses)
    whole = {clause.clause_id: clause for clause in split_clauses(document, max_chars=100_000)}
    parts_by_base: dict[str, list[Clause]] = {}
    for clause in clauses:
        parts_by_base.setdefault(clause.base_id, []).append(clause)
    split = {base: parts for base, parts in parts_by_base.items() if len(parts) > 1}
    assert len(split) > 50
    for base, parts in split.items():
        assert [part.clause_id for part in parts] == [base] + [f"{base}-{n}" for n in range(2, len(parts) + 1)]
        assert len({(part.label, part.title, part.chapter, part.section, part.kind) for part in parts}) == 1
        assert all(len(part.text) <= 200 for part in parts)
        joined = "".join(part.text for part in parts)
        assert re.sub(r"\s", "", joined) == re.sub(r"\s", "", whole[base].text)


@needs_laws
@pytest.mark.slow
def test_all_law_files_agree_with_the_reference_count() -> None:
    """The bench's comparison over every file (about three minutes)."""
    results = [bench.check_file(path) for path in bench.law_files(LAWS)]
    assert len(results) >= 3000
    unexplained = [
        f"{law_id(result.path)}: {bench.disagreement_reason(result)}"
        for result in results
        if not result.agrees and not result.by_design
    ]
    assert unexplained == []
