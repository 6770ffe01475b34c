"""rag.clean: each cleaning step on the shapes found in the bundled corpus, and idempotence."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rag.clean import (
    clean_text,
    drop_repeated_lines,
    is_traditional,
    normalize_width,
    rejoin_page_fragments,
    remove_chrome,
    remove_pinyin,
    to_simplified,
)
from rag.loaders import read_text

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
SEED_FILES = sorted(CORPUS.glob("*.txt"))


# --- pinyin annotations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        # corpus/2021-…: a pinyin syllable after every traditional character that differs
        ("自由貿(mào)易實(shí)驗(yàn)區(qū)", "自由贸易实验区"),
        ("提高質(zhì)量的(de)水平", "提高质量的水平"),
        ("質（zhì）量", "质量"),  # full-width brackets
        ("質( zhì )量", "质量"),
    ],
)
def test_pinyin_annotations_are_removed(raw: str, cleaned: str) -> None:
    assert clean_text(raw) == cleaned


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("（一）加强食品农产品质量安全监管。", "（一）加强食品农产品质量安全监管。"),
        (
            "优化出口商品和服务质量。（市场监管总局、科技部……海关总署等按职责分工负责）",
            "优化出口商品和服务质量。（市场监管总局、科技部……海关总署等按职责分工负责）",
        ),
        ("中國(云南)自由貿(mào)易", "中国（云南）自由贸易"),  # real parentheses, made full-width
        ("推广建筑信息模型(BIM)技术", "推广建筑信息模型(BIM)技术"),  # ASCII content keeps ASCII brackets
        ("QC小组（质量管理小组）", "QC小组（质量管理小组）"),
        ("按照(2)款执行", "按照(2)款执行"),
    ],
)
def test_real_parentheses_are_kept(raw: str, cleaned: str) -> None:
    assert clean_text(raw) == cleaned


def test_remove_pinyin_needs_a_character_before_the_bracket() -> None:
    # Without a CJK character before it, "(de)" is ordinary text, e.g. a language code.
    assert remove_pinyin("see (de) and (mào)") == "see (de) and (mào)"
    assert remove_pinyin("貿(mào)易") == "貿易"


# --- docx page fragments -----------------------------------------------------------------------


def test_page_number_inside_a_sentence_is_removed() -> None:
    # corpus/city-…: "（二）加强先进\n2、标准研制。" — page 2 starts mid-word
    assert clean_text("（二）加强先进\n2、标准研制。对主导制修订") == "（二）加强先进标准研制。对主导制修订"


def test_first_page_number_goes_with_the_others() -> None:
    # Three docx pages of 250 characters, each cut mid-sentence: "1、" opens page one.
    filler = "加强质量基础设施建设，" * 24
    raw = f"1、关于全面提升产品质量的实施意见{filler}贯彻落实\n2、省政府{filler}加快促进\n3、产品质量全面提升。"
    expected = f"关于全面提升产品质量的实施意见{filler}贯彻落实省政府{filler}加快促进产品质量全面提升。"
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    "items",
    [
        "1、建立质量追溯体系。\n2、开展质量提升行动。\n3、加强标准化建设；",
        "主要任务如下：\n1、对标达标。\n2、品牌培育。",
        "一、总体要求\n1、指导思想\n坚持质量第一。\n2、基本原则\n坚持创新驱动。",
        # Unpunctuated items: a list, because pages are never this short.
        "一、总体要求\n1、指导思想\n2、基本原则",
        # 行政法规/交通警察道路执勤执法工作规范(2018-01-25).md
        "附件：1、查处酒后驾驶操作规程\n2、查处违反装载规定违法行为操作规程\n3、查处超速行驶操作规程",
    ],
)
def test_real_list_items_are_kept(items: str) -> None:
    assert clean_text(items) == items


def test_rejoin_page_fragments_keeps_a_single_leading_list_number() -> None:
    # One break is not enough evidence that "1、" is a page number.
    assert rejoin_page_fragments("1、加强先进\n2、标准研制") == "1、加强先进标准研制"


# --- web chrome --------------------------------------------------------------------------------

CHROME_LINES = [
    "首页>>新闻详情",
    "来源: | 作者:市协会宣教部 | 发布时间: 2022-12-03 | 154 次浏览 | 分享到:",
    "分享到：",
    "浏览次数：154",
    "来源:国家市场监督管理总局官网       发布时间:2021-11-05       阅读次数:",
    "来源:市说新语",
    "您访问的链接即将离开“汕尾市市场监督管理局”网站，是否继续？",
    "• 服务电话0871-64148058",
    "《关于全面提升产品质量的实施意见.docx》由会员分享，可在线阅读，更多相关请在第壹文秘上搜索。",
    "<!-- INFO END -->",
]


@pytest.mark.parametrize("line", CHROME_LINES)
def test_chrome_lines_are_dropped(line: str) -> None:
    assert clean_text(f"正文第一句。\n{line}\n正文第二句。") == "正文第一句。\n正文第二句。"


@pytest.mark.parametrize(
    "sentence",
    [
        "（五）拓宽资金来源。鼓励社会资本参与质量基础设施建设。",
        "来源：本意见所需资金来源于市级财政预算，由市财政局统筹安排，各县（市、区）配套资金应及时足额到位。",
        "强化质量安全监管，从来源上保障食品安全，浏览次数过多的网站应当加强管理。",
        "市场监管部门发布时间表，分享到各县（市、区）。",
    ],
)
def test_policy_sentences_that_mention_chrome_words_stay(sentence: str) -> None:
    assert clean_text(sentence) == sentence
    assert remove_chrome([sentence]) == [sentence]


def test_repeated_title_lines_are_dropped_but_structure_lines_are_not() -> None:
    title = "国务院办公厅关于印发贯彻实施质量发展纲要2014年行动计划的通知"
    assert drop_repeated_lines([title, "国务院办公厅", title]) == [title, "国务院办公厅"]
    # A law's table of contents repeats its chapter headings; the body's copy is the real one.
    toc = ["第一章 总 则", "第二章 保护规划和保护措施", "第一章 总 则", "第一条 为了加强保护。"]
    body = ["第二章 保护规划和保护措施", "第十一条 编制保护规划。"]
    assert drop_repeated_lines(toc + body) == toc + body
    # Laws repeat whole sentences in different articles; dropping them loses law text.
    article_15 = ["第十五条 河长履行下列职责：", "（五）国家、省和市规定的其他职责。"]
    article_16 = ["第十六条 有前款行为的，由公安机关交通管理部门扣留机动车。", "（五）国家、省和市规定的其他职责。"]
    repeated_sentence = ["有前款行为的，由公安机关交通管理部门扣留机动车至违法状态消除。"] * 2
    assert drop_repeated_lines(article_15 + article_16) == article_15 + article_16
    assert drop_repeated_lines(repeated_sentence) == repeated_sentence


# --- script and width --------------------------------------------------------------------------


def test_traditional_text_is_converted_to_simplified() -> None:
    raw = "國務院辦公廳關于印發貫徹實施質量發展綱要2014年行動計劃的通知"
    assert is_traditional(raw)
    assert clean_text(raw) == "国务院办公厅关于印发贯彻实施质量发展纲要2014年行动计划的通知"
    assert not is_traditional(clean_text(raw))
    assert to_simplified("監管總局") == "监管总局"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("到２０２５年", "到2025年"),
        ("ＱＣ小组", "QC小组"),
        ("质量,效益", "质量，效益"),
        ("各直属机构:", "各直属机构："),
        ("标准体系;推进", "标准体系；推进"),
        ("大动作!18部门", "大动作！18部门"),
        ("资金1,000万元", "资金1,000万元"),  # a thousands separator is not between CJK
        ("版本1.2.3", "版本1.2.3"),
        ("（一）", "（一）"),
    ],
)
def test_width_normalisation(raw: str, cleaned: str) -> None:
    assert normalize_width(raw) == cleaned
    assert clean_text(raw) == cleaned


def test_whitespace_is_normalised() -> None:
    # Runs of spaces become one space (a signature "市场监管总局 全国工商联" keeps its separator).
    raw = "## 第一章\u2002\u2002一般规定\r\n\r\n第一条\u3000为了规范，  制定本法。  \n\ufeff"
    assert clean_text(raw) == "第一章 一般规定\n第一条 为了规范， 制定本法。"


# --- idempotence -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda path: path.stem)
def test_cleaning_the_seed_corpus_is_idempotent(path: Path) -> None:
    cleaned = clean_text(read_text(path).text)
    assert cleaned.strip()
    assert clean_text(cleaned) == cleaned


_HAN = "国國务務院辦办质質量發发展纲綱要贸貿易实實验驗区區市场監监管总總局科技部的了和在一二三四五六七八九十条章"
_ASCII = "abcxyzABCQ0123456789 "
_PUNCTUATION = "，。；：！？、（）()【】“”《》,.;:!?…—-·•|>#*"
_SPACES = " \t\u3000\u00a0\u2002"
_PINYIN = ["mào", "shí", "yàn", "qū", "zhì", "de", "le", "fā", "lǜ", "guo"]

_plain = st.text(alphabet=_HAN + _ASCII + _PUNCTUATION + _SPACES + "０１２ＡＢ\n", max_size=25)
_pinyin_annotation = st.builds(
    lambda char, syllable, brackets: f"{char}{brackets[0]}{syllable}{brackets[1]}",
    st.sampled_from(_HAN),
    st.sampled_from(_PINYIN),
    st.sampled_from(["()", "（）", "(）"]),
)
_label = st.sampled_from(
    ["一、", "十二、", "（一）", "(十三)", "1、", "2、", "13、", "第十条 ", "第一百二十条之一 ", "第二章 ", "\n2、", "\n第三条 "]
)
_line_break = st.sampled_from(["\n", "\r\n", "\r", "\n\n", "\n \n"])
_chrome = st.sampled_from(["分享到：", "浏览次数：12", "来源：新华网", "首页>>新闻", "<!-- INFO END -->", "## ", "\ufeff"])
_page_of_text = st.just("加强质量基础设施建设" * 21)  # 210 characters without a full stop: a docx page
generated_text = st.lists(
    st.one_of(_plain, _pinyin_annotation, _label, _line_break, _chrome, _page_of_text, st.text(max_size=5)),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_text)
@example("a\n2、\n3、b")
@example("質(ｍàｏ)量")
def test_clean_text_is_idempotent(raw: str) -> None:
    once = clean_text(raw)
    assert clean_text(once) == once
