"""Generators over real clauses of the bundled corpus (chunked here, no index needed).

The LLM path runs on LangChain's own fake chat model and, end to end through ChatOpenAI, on a
stand-in OpenAI-compatible server on 127.0.0.1 (no real LLM is reachable from tests).
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage

from rag.chunk import split_clauses, split_sentences
from rag.clause_store import DocumentEntry
from rag.config import PROJECT_ROOT, load_settings
from rag.generate import NOT_FOUND_MARK, ExtractiveGenerator
from rag.ingest import load_corpus
from rag.llm import LlmGenerator, build_generator, uncited_statements
from rag.question import analyze_question, question_intent
from rag.schema import Answer, Clause, Hit

SHANWEI = "2023-shanwei-quality-strong-city-opinion"
PLAN_2022 = "2022-18-departments-quality-improvement"
CITY = "city-product-quality-implementation-opinion"
PLAN_2014 = "2014-quality-outline-action-plan"
SIX_DEPARTMENTS = ["市场监管总局", "科技部", "工业和信息化部", "全国工商联", "商务部", "海关总署"]


@pytest.fixture(scope="module")
def clauses() -> dict[str, Clause]:
    corpus = load_corpus([str(PROJECT_ROOT / "corpus")])
    return {c.clause_id: c for d in corpus.documents for c in split_clauses(d, max_chars=800)}


def hits_for(clauses: dict[str, Clause], *ids: str) -> list[Hit]:
    """Hits in the given order, as a retriever would return them."""
    return [Hit(clause=clauses[i], score=1.0 / rank, rank=rank) for rank, i in enumerate(ids, start=1)]


def law_articles(*files: str) -> dict[str, Clause]:
    """The articles of laws of the laws eval set (file names in eval/laws/corpus), by clause id."""
    corpus = load_corpus([str(PROJECT_ROOT / "eval" / "laws" / "corpus" / name) for name in files])
    return {c.clause_id: c for d in corpus.documents for c in split_clauses(d)}


def assert_citations_resolve(answer: Answer, hits: list[Hit]) -> None:
    """Markers are 1..n in order of first use, each resolves to a citation, each citation to a hit."""
    used = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    assert list(dict.fromkeys(used)) == list(range(1, len(answer.citations) + 1))
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert {c.clause.clause_id for c in answer.citations} <= {h.clause.clause_id for h in hits}


# --- extractive ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "kind"), [
    ("哪些部门负责质量基础设施一站式服务？", "department"),
    ("质量共治由谁牵头？", "department"),
    ("学校食堂的饭菜安全谁来管？", "department"),
    ("那牵头的是哪个部门？", "department"),
    ("企业主导制定国际标准，市里每个项目奖励多少钱？", "figure"),
    ("汕尾到2025年制造业产品质量合格率力争达到多少？", "figure"),
    ("我们厂牵头起草了一项行业标准", "general"),  # 牵头 here is the company's role, not a department question
    ("两家公司联合投标，中标后出了问题谁负责？", "general"),  # who is liable, not which department
    ("托运的危险品出了事，到底谁负责？", "general"),
    ("首席质量官", "general"),
])
def test_question_kind(question: str, kind: str) -> None:
    assert question_intent(question) == kind


def test_department_question_lists_the_six_departments_of_6_16(clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{PLAN_2022}#六（十六）", f"{CITY}#四（十四）", f"{PLAN_2022}#七（十九）")
    answer = ExtractiveGenerator().answer(analyze_question("哪些部门负责质量基础设施一站式服务？"), hits)
    assert answer.found and answer.mode == "extractive"
    assert answer.text == (
        "根据《进一步提高产品、工程和服务质量行动方案（2022—2025年）（节选：六、七）》六（十六）「提升质量基础设施服务效能」，"
        "由市场监管总局、科技部、工业和信息化部、全国工商联、商务部、海关总署按职责分工负责。[1]"
    )
    assert [c.clause.clause_id for c in answer.citations] == [f"{PLAN_2022}#六（十六）"]
    # 七（十九） (财政金融政策) also lists departments, but it is not what was asked about.
    assert "财政部" not in answer.text


def test_department_answer_marks_the_lead_and_groups_by_document(clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{PLAN_2014}#四（十三）", f"{SHANWEI}#九（二十七）", f"{PLAN_2014}#三（十一）")
    answer = ExtractiveGenerator().answer(analyze_question("质量共治由谁牵头？"), hits)
    lines = answer.text.splitlines()
    assert lines[0] == ("根据《贯彻实施质量发展纲要2014年行动计划》（国家层面）四（十三）「推进质量共治」，"
                        "由质检总局牵头，国务院有关部门按职责分工负责。[1]")
    assert lines[1].startswith("根据《关于深入贯彻落实《广东省质量强省建设纲要》的实施意见（征求意见稿）》（地方：汕尾市，征求意见稿）九（二十七）")
    assert "由市市场监管局牵头" in lines[1] and lines[1].endswith("[2]")
    assert_citations_resolve(answer, hits)


def test_department_question_without_departments_falls_back_to_sentences(clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{CITY}#四（十四）")
    answer = ExtractiveGenerator().answer(analyze_question("哪些部门负责质量基础设施一站式服务？"), hits)
    assert answer.text.startswith("检索到的条款没有列明负责部门")
    assert "一站式" in answer.text and answer.text.endswith("[1]")


def test_figure_question_quotes_the_sentence_with_the_amount(clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{CITY}#一（二）", f"{CITY}#一（三）", f"{CITY}#七（二十二）")
    answer = ExtractiveGenerator().answer(analyze_question("企业主导制定国际标准，市里每个项目奖励多少钱？"), hits)
    first = answer.text.splitlines()[0]
    assert first.startswith("《关于全面提升产品质量的实施意见》一（二）「加强先进标准研制」：对主导制修订国际、国家、行业标准的企业")
    assert "我市每个项目再分别给予30万元、20万元、10万元奖励" in first and first.endswith("。[1]")
    assert answer.citations[0].clause.clause_id == f"{CITY}#一（二）"
    assert_citations_resolve(answer, hits)


def test_rate_question_answers_with_the_target_rate(clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{SHANWEI}#一（二）", f"{SHANWEI}#一（一）", f"{SHANWEI}#七（二十一）")
    answer = ExtractiveGenerator().answer(analyze_question("汕尾到2025年制造业产品质量合格率力争达到多少？"), hits)
    assert "制造业产品质量合格率力争达到94.8%" in answer.text
    assert [c.clause.clause_id for c in answer.citations] == [f"{SHANWEI}#一（二）"]


def test_a_measures_question_is_not_answered_by_a_target_rate(clauses: dict[str, Clause]) -> None:
    """"政府有啥帮扶？" shares 抽检、合格 with a target ("食品抽检合格率达到98.5%以上") ranked first: the measures lead."""
    hits = hits_for(clauses, f"{SHANWEI}#一（二）", f"{SHANWEI}#七（二十）", f"{SHANWEI}#四（十二）",
                    f"{PLAN_2022}#六（十六）", "2021-qi-private-enterprises-opinion#二（六）")
    answer = ExtractiveGenerator().answer(analyze_question("我是开小厂的，产品老是被抽检不合格，政府有啥帮扶？"), hits)
    first = answer.text.splitlines()[0]
    assert "合格率" not in first and "帮扶" in first
    assert_citations_resolve(answer, hits)


def test_date_question_finds_the_date_line(clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{PLAN_2014}#序言", f"{PLAN_2014}#四（十五）")
    answer = ExtractiveGenerator().answer(analyze_question("2014年质量工作行动计划是国务院办公厅哪天印发的？"), hits)
    assert answer.text == "《贯彻实施质量发展纲要2014年行动计划》序言：国务院办公厅 2014年4月21日。[1]"


def test_general_answer_is_short_cited_and_deduplicated(clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{CITY}#二（五）", f"{PLAN_2014}#二（八）", f"{PLAN_2022}#七（二十一）",
                    f"{SHANWEI}#七（二十）", f"{CITY}#七（二十四）")
    answer = ExtractiveGenerator().answer(analyze_question("首席质量官"), hits)
    lines = answer.text.splitlines()
    assert 1 <= len(lines) <= 4
    assert all(re.search(r"\[\d+\]$", line) for line in lines)
    assert all("首席质量官" in line for line in lines)
    assert_citations_resolve(answer, hits)
    assert len(set(lines)) == len(lines)


def test_the_best_ranked_clause_leads_when_its_sentence_is_nearly_as_good(monkeypatch: pytest.MonkeyPatch) -> None:
    """A colloquial question shares more words with a neighbouring article (小时计酬) than with the one that
    answers it (终止用工 … 不支付经济补偿), which retrieval ranked first: that one is quoted first."""
    articles = law_articles("劳动合同法(2012-12-28).md")
    hits = hits_for(articles, *(f"劳动合同法-2012-12-28#{label}" for label in ("第七十一条", "第七十二条", "第六十八条")))
    question = analyze_question("按小时算钱的兼职工，老板说不用就不用了，要给补偿吗？")
    answer = ExtractiveGenerator().answer(question, hits)
    assert [c.clause.label for c in answer.citations][0] == "第七十一条"
    assert answer.text.startswith("《中华人民共和国劳动合同法》第七十一条：终止用工，用人单位不向劳动者支付经济补偿。[1]")
    assert_citations_resolve(answer, hits)
    # Word overlap alone would have led with 第七十二条.
    monkeypatch.setattr("rag.generate.LEAD_SHARE", 2.0)
    assert ExtractiveGenerator().answer(question, hits).citations[0].clause.label == "第七十二条"


def test_the_clause_both_searches_rank_first_leads_the_answer(clauses: dict[str, Clause]) -> None:
    """"小批量定制…国家文件有没有提啥要求？" shares more words (服装) with the 18 departments' brand clause than with the
    private-enterprise opinion's 个性化定制 clause that the dense and the lexical search both ranked first: the
    agreed clause leads; ranked first by the fusion alone, word overlap still picks the lead."""
    ids = ("2021-qi-private-enterprises-opinion#二（三）", "2022-18-departments-quality-improvement#六（十七）",
           "2023-shanwei-quality-strong-city-opinion#四（十一）")
    question = analyze_question("我们做服装小批量定制，单子又碎又急、每单款式都不一样，国家文件对适应这种生产方式有没有提啥要求？")
    agreed = [dataclasses.replace(hit, dense_rank=hit.rank, lexical_rank=hit.rank) for hit in hits_for(clauses, *ids)]
    answer = ExtractiveGenerator().answer(question, agreed)
    assert [c.clause.clause_id for c in answer.citations][:2] == [ids[0], ids[1]]
    assert_citations_resolve(answer, agreed)
    fused_only = [dataclasses.replace(hit, dense_rank=2 if hit.rank == 1 else 1, lexical_rank=hit.rank) for hit in agreed]
    assert ExtractiveGenerator().answer(question, fused_only).citations[0].clause.clause_id == ids[1]


def test_the_dense_first_clause_leads_when_its_sentence_is_good_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    """"评审专家跟竞争对手的老板是亲戚，我能要求他回避吗？": 政府采购法's 回避 article, first for the fusion and the dense
    search (second for the lexical one), leads although 反垄断法's 评审标准 sentence shares more words."""
    articles = law_articles("政府采购法(2014-08-31).md", "职业病防治法(2018-12-29).md", "反垄断法(2022-06-24).md",
                            "行政许可法(2019-04-23).md", "招标投标法(2017-12-27).md")
    ranked = [("政府采购法-2014-08-31#第十二条", 1, 2), ("职业病防治法-2018-12-29#第五十四条", 2, 12),  # the laws index's top 10
              ("政府采购法-2014-08-31#第二十五条", 3, 27), ("反垄断法-2022-06-24#第四十二条", 8, 8),
              ("反垄断法-2022-06-24#第四十条", 7, 56), ("政府采购法-2014-08-31#第二十三条", 22, 6),
              ("反垄断法-2022-06-24#第五十条", 4, 69), ("行政许可法-2019-04-23#第四十八条", 6, 64),
              ("政府采购法-2014-08-31#第三十八条", 47, 5), ("招标投标法-2017-12-27#第四十四条", 5, 74)]
    hits = [dataclasses.replace(hit, dense_rank=dense, lexical_rank=lexical)
            for hit, (_, dense, lexical) in zip(hits_for(articles, *(i for i, _, _ in ranked)), ranked, strict=True)]
    question = analyze_question("参加政府采购时发现评审专家跟竞争对手的老板是亲戚，我能要求他回避吗？")
    answer = ExtractiveGenerator().answer(question, hits)
    assert answer.citations[0].clause.clause_id == "政府采购法-2014-08-31#第十二条"
    assert "必须回避" in answer.text.split("[1]")[0]
    assert_citations_resolve(answer, hits)
    # A partial answer quotes the topic by its words: the dense match leans on the detail left unstated.
    topic_first = ExtractiveGenerator().answer(question, hits, partly=True)
    assert topic_first.citations[0].clause.clause_id == "反垄断法-2022-06-24#第四十二条"
    monkeypatch.setattr("rag.generate.DENSE_LEAD_SHARE", 0.9)  # word overlap alone leads with 反垄断法
    assert ExtractiveGenerator().answer(question, hits).citations[0].clause.clause_id == "反垄断法-2022-06-24#第四十二条"


def test_a_figure_in_chinese_numerals_answers_a_figure_question() -> None:
    """Laws write their figures in Chinese numerals (自公司成立之日起五年内缴足): the sentence holding one is a
    figure to quote, not passed over for an amount in digits further down (保险法: 二亿元)."""
    articles = law_articles("公司法(2023-12-29).md", "保险法(2015-04-24).md")
    # The laws index's top 10 for this question, in its order.
    ranked = ["公司法-2023-12-29#第四十七条", "公司法-2023-12-29#第二百二十七条", "公司法-2023-12-29#第二百二十八条",
              "公司法-2023-12-29#第二百二十五条", "保险法-2015-04-24#第一百二十条", "公司法-2023-12-29#第二百二十四条",
              "公司法-2023-12-29#第九十六条", "公司法-2023-12-29#第一百四十二条", "保险法-2015-04-24#第六十九条",
              "公司法-2023-12-29#第二百一十四条"]
    hits = hits_for(articles, *ranked)
    answer = ExtractiveGenerator().answer(analyze_question("现在注册公司，认缴的注册资本要在几年内交齐？"), hits)
    assert answer.citations[0].clause.clause_id == ranked[0]
    assert "自公司成立之日起五年内缴足" in answer.text.splitlines()[0]
    assert_citations_resolve(answer, hits)


def test_a_period_counted_in_working_days_is_a_figure() -> None:
    """政府采购法 第五十二条's 七个工作日内 answers "最晚多少天内能提出质疑"; 第四十六条's 三十日内 is about
    signing the contract. Before 个 was allowed before 工作日, the ranked-first article held no figure at all."""
    articles = law_articles("政府采购法(2014-08-31).md")
    ranked = ["政府采购法-2014-08-31#第五十二条", "政府采购法-2014-08-31#第五十五条", "政府采购法-2014-08-31#第四十六条"]
    hits = hits_for(articles, *ranked)
    answer = ExtractiveGenerator().answer(analyze_question("参加政府采购没中标，觉得结果有问题，最晚多少天内能提出质疑？"), hits)
    assert answer.citations[0].clause.clause_id == ranked[0] and "七个工作日内" in answer.text.splitlines()[0]


def test_a_reference_to_items_is_no_figure() -> None:
    """"前款第一项至第四项所得" names items of a list, it states no figure: the article ranked first, holding only
    such references, does not answer a figure question; the deadline of the next one does."""
    articles = law_articles("个人所得税法(2018-08-31).md")
    hits = hits_for(articles, "个人所得税法-2018-08-31#第二条", "个人所得税法-2018-08-31#第十二条")
    answer = ExtractiveGenerator().answer(analyze_question("综合所得按纳税年度合并计算个人所得税，多少天内申报？"), hits)
    assert answer.citations[0].clause.label == "第十二条" and "十五日内" in answer.text.splitlines()[0]


def test_a_count_describing_the_situation_does_not_make_a_figure_answer() -> None:
    """"本地几家同行约好一起涨价，这样违法吗？" asks whether it is lawful: the article ranked first answers, not a
    penalty article picked for its figure (五倍以下的罚款)."""
    articles = law_articles("价格法(1997-12-29).md")
    hits = hits_for(articles, "价格法-1997-12-29#第十四条", "价格法-1997-12-29#第三十九条", "价格法-1997-12-29#第四十条")
    answer = ExtractiveGenerator().answer(analyze_question("本地几家同行约好一起涨价，这样违法吗？"), hits)
    assert answer.citations[0].clause.label == "第十四条"


def test_a_picked_piece_of_a_lead_line_is_quoted_inside_it() -> None:
    """The fine is a middle piece of a long lead line: quoted alone, the item after it (（二）用超过保质期的…) would
    lose what it is an item of; the lead is quoted shortened around the piece instead."""
    article = law_articles("食品安全法(2021-04-29).md")["食品安全法-2021-04-29#第一百二十四条"]
    text = ("第一百二十四条 违反本法规定，有下列情形之一，尚不构成犯罪的，由县级以上人民政府食品安全监督管理部门没收违法所得和"
            "违法生产经营的食品、食品添加剂，并可以没收用于违法生产经营的工具、设备、原料等物品；违法生产经营的食品货值金额不足一万元的，"
            "并处五万元以上十万元以下罚款；货值金额一万元以上的，并处货值金额十倍以上二十倍以下罚款；情节严重的，吊销许可证：\n"
            "（一）用非食品原料生产食品；\n（二）用超过保质期的食品原料生产食品。")
    hits = [Hit(clause=dataclasses.replace(article, text=text), score=1.0, rank=1)]
    question = analyze_question("用超过保质期的食品原料生产食品，货值金额不足一万元的，会怎么处罚？")
    assert ExtractiveGenerator().answer(question, hits).text == (
        "《中华人民共和国食品安全法》第一百二十四条：违反本法规定，有下列情形之一，尚不构成犯罪的，由县级以上人民政府"
        "食品安全监督管理部门没收违法所得和违法生产经营的食品、食品添加剂，并可以没收用于违法生产经营的工具、设备、原料等物品；"
        "……违法生产经营的食品货值金额不足一万元的，并处五万元以上十万元以下罚款；……情节严重的，吊销许可证："
        "（二）用超过保质期的食品原料生产食品。[1]")


def test_a_question_about_the_consequences_is_answered_by_the_sanction(monkeypatch: pytest.MonkeyPatch) -> None:
    """"会怎么处罚？" is answered by the article that fines the sale (产品质量法 第五十二条, ranked first), not by the
    storage duty that shares more of its words (食品安全法 第五十四条: 变质、超过保质期)."""
    articles = law_articles("产品质量法(2018-12-29).md", "食品安全法(2021-04-29).md", "消费者权益保护法(2013-10-25).md")
    # The laws index's top 10 for the question, in its order.
    ranked = ["产品质量法-2018-12-29#第五十二条", "食品安全法-2021-04-29#第一百二十四条", "食品安全法-2021-04-29#第五十四条",
              "产品质量法-2018-12-29#第六十三条", "消费者权益保护法-2013-10-25#第五十六条", "食品安全法-2021-04-29#第五十条",
              "食品安全法-2021-04-29#第三十四条"]
    hits = hits_for(articles, *ranked)
    question = analyze_question("店里卖了过期变质的东西，会怎么处罚？")
    answer = ExtractiveGenerator().answer(question, hits)
    assert answer.citations[0].clause.clause_id == ranked[0] and "罚款" in answer.text.splitlines()[0]
    monkeypatch.setattr("rag.generate.SANCTION_WEIGHT", 1.0)
    assert ExtractiveGenerator().answer(question, hits).citations[0].clause.label == "第五十四条"


def test_a_list_item_is_quoted_with_the_line_that_opens_its_list() -> None:
    """"（一）没有按照规定缴纳年费的" alone does not say that the patent ends; the lead line does. A long lead
    keeps its first and last parts."""
    articles = law_articles("专利法(2020-10-17).md", "食品安全法(2021-04-29).md", "劳动法(2018-12-29).md")

    def answer_from(article: str, question: str) -> str:
        return ExtractiveGenerator().answer(analyze_question(question), hits_for(articles, article)).text

    assert answer_from("专利法-2020-10-17#第四十四条", "专利的年费忘了交，专利会不会就没了？") == (
        "《中华人民共和国专利法》第四十四条：有下列情形之一的，专利权在期限届满前终止：（一）没有按照规定缴纳年费的。[1]")
    penalty = answer_from("食品安全法-2021-04-29#第一百二十四条", "店里卖了过期变质的东西，会怎么处罚？")
    assert penalty.startswith("《中华人民共和国食品安全法》第一百二十四条：违反本法规定，有下列情形之一，尚不构成犯罪的，")
    assert "……情节严重的，吊销许可证：（二）用超过保质期的食品原料" in penalty
    assert penalty.count("吊销许可证：") == 1  # one lead for the two items quoted
    quit_answer = answer_from("劳动法-2018-12-29#第三十二条", "试用期可以随便辞退人吗")
    assert "劳动者可以随时通知用人单位解除劳动合同：（一）在试用期内的。" in quit_answer  # a lead picked as a sentence
    assert "：。" not in quit_answer


def test_a_proviso_or_a_paragraph_on_the_one_before_is_quoted_after_it_and_a_short_list_after_its_lead() -> None:
    """"但是，…章程另有规定的除外" alone tells a caller only the exception; "按照下列顺序清偿：" without its items does not say
    what is paid first."""
    articles = law_articles("公司法(2023-12-29).md", "个人独资企业法(1999-08-30).md")

    def answer_from(article: str, question: str) -> str:
        return ExtractiveGenerator().answer(analyze_question(question), hits_for(articles, article)).text

    heir = answer_from("公司法-2023-12-29#第一百六十七条", "我爸是股东，他去世了，章程另有规定的除外是什么意思？")
    assert "自然人股东死亡后，其合法继承人可以继承股东资格。但是，" in heir
    notice = answer_from("公司法-2023-12-29#第二百二十五条", "公司为了弥补亏损减资，要在多少天内登报公告？")
    assert "义务。依照前款规定减少注册资本的，" in notice  # the paragraph it refers to, by its last sentence
    order = answer_from("个人独资企业法-1999-08-30#第二十九条", "个人独资企业关门了，欠的钱先还哪个？")
    assert "财产应当按照下列顺序清偿：（一）所欠职工工资和社会保险费用；（二）所欠税款；（三）其他债务。" in order


def test_a_definition_answers_only_what_a_term_means() -> None:
    """电子商务法's 本法所称电子商务经营者，是指… shares many words with a question about returning an online order,
    but says nothing about who pays the postage: the article ranked first leads. Asked what the term means, the
    definition answers."""
    articles = law_articles("消费者权益保护法(2013-10-25).md", "电子商务法(2018-08-31).md", "产品质量法(2018-12-29).md")
    # The laws index's top 10 for the question, in its order.
    ranked = ["消费者权益保护法-2013-10-25#第二十四条", "消费者权益保护法-2013-10-25#第二十五条", "电子商务法-2018-08-31#第九条",
              "电子商务法-2018-08-31#第二十一条", "消费者权益保护法-2013-10-25#第五十二条", "产品质量法-2018-12-29#第四十条",
              "电子商务法-2018-08-31#第五十二条", "消费者权益保护法-2013-10-25#第五十四条", "电子商务法-2018-08-31#第三十四条",
              "电子商务法-2018-08-31#第二条"]
    hits = hits_for(articles, *ranked)
    postage = ExtractiveGenerator().answer(analyze_question("网购退货的来回运费到底谁出？"), hits)
    assert postage.citations[0].clause.clause_id == ranked[0]
    assert "经营者应当承担运输等必要费用" in postage.text.splitlines()[0]
    meaning = ExtractiveGenerator().answer(analyze_question("电子商务经营者是指什么？"), hits)
    assert meaning.citations[0].clause.clause_id == "电子商务法-2018-08-31#第九条"


def test_statements_do_not_repeat_the_department_attribution(clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{PLAN_2022}#六（十六）")
    answer = ExtractiveGenerator().answer(analyze_question("计量服务中小企业行"), hits)
    assert "计量服务中小企业行" in answer.text
    assert "按职责分工负责" not in answer.text


def test_no_hits_is_not_found() -> None:
    answer = ExtractiveGenerator().answer(analyze_question("个人所得税起征点现在是多少？"), [])
    assert not answer.found and answer.citations == ()
    assert answer.text == "未在已收录的文件中找到与“个人所得税起征点现在是多少？”直接相关的规定。"


def test_follow_up_context_supplies_the_kind_and_the_terms(clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{SHANWEI}#八（二十四）", f"{SHANWEI}#八（二十二）")
    shanwei = DocumentEntry(SHANWEI, clauses[f"{SHANWEI}#八（二十四）"].doc_title, "", "", 0, issuer="汕尾市市场监督管理局")
    query = analyze_question("汕尾的呢？", history=["哪些部门负责质量基础设施一站式服务？"], documents=[shanwei])
    answer = ExtractiveGenerator().answer(query, hits)
    assert "由市市场监管局牵头负责。[1]" in answer.text


def test_split_sentences_keeps_terminators_and_joins_short_lines() -> None:
    text = "现印发给你们；请认真贯彻执行。\n国务院办公厅\n2014年4月21日\n贯彻实施质量发展纲要2014年行动计划\n一二"
    assert split_sentences(text) == [
        "现印发给你们；", "请认真贯彻执行。", "国务院办公厅 2014年4月21日", "贯彻实施质量发展纲要2014年行动计划"]


# --- LLM: LangChain's fake chat model --------------------------------------------------------------


def fake_llm(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content=reply) for reply in replies]))


def test_llm_answer_keeps_valid_citations_renumbered_in_order_of_use(clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{CITY}#七（二十二）", f"{PLAN_2022}#六（十六）")
    reply = "由市场监管总局、科技部等六个部门按职责分工负责。[2]\n地方要统筹相关专项资金。[1]"
    answer = LlmGenerator(fake_llm(reply)).answer(analyze_question("哪些部门负责质量基础设施一站式服务？"), hits)
    assert answer.mode == "llm" and answer.found and answer.warnings == ()
    assert answer.text == "由市场监管总局、科技部等六个部门按职责分工负责。[1]\n地方要统筹相关专项资金。[2]"
    assert [c.clause.clause_id for c in answer.citations] == [f"{PLAN_2022}#六（十六）", f"{CITY}#七（二十二）"]


def test_llm_citation_to_a_clause_it_was_not_given_is_removed_and_flagged(clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{PLAN_2022}#六（十六）", f"{CITY}#四（十四）")
    reply = "大力开展质量基础设施“一站式”服务[1][7]。奖励标准为每家企业100万元[9]。"
    answer = LlmGenerator(fake_llm(reply)).answer(analyze_question("质量基础设施一站式服务"), hits)
    assert answer.text == "大力开展质量基础设施“一站式”服务[1]。奖励标准为每家企业100万元。"
    assert [c.clause.clause_id for c in answer.citations] == [f"{PLAN_2022}#六（十六）"]
    assert any("[7]" in w and "[9]" in w for w in answer.warnings)
    assert any("没有标注出处" in w and "奖励标准为每家企业100万元" in w for w in answer.warnings)


def test_llm_not_found_reply_gives_related_clauses(clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{PLAN_2022}#七（十九）")
    answer = LlmGenerator(fake_llm("未在已收录的文件中找到与该问题直接相关的规定。")).answer(analyze_question("个人所得税起征点是多少？"), hits)
    assert not answer.found and answer.citations == ()
    assert answer.text.startswith(NOT_FOUND_MARK)
    assert [h.clause.clause_id for h in answer.related] == [f"{PLAN_2022}#七（十九）"]


def test_llm_reply_without_any_valid_citation_falls_back(clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{PLAN_2022}#六（十六）")
    answer = LlmGenerator(fake_llm("政府会全力支持。[5]")).answer(analyze_question("哪些部门负责质量基础设施一站式服务？"), hits)
    assert answer.mode == "extractive" and "海关总署" in answer.text
    assert any("[5]" in w for w in answer.warnings) and any("摘录式" in w for w in answer.warnings)


def test_llm_failure_falls_back_to_the_extractive_answer(clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{PLAN_2022}#六（十六）")
    exhausted = GenericFakeChatModel(messages=iter([]))  # raises on invoke
    answer = LlmGenerator(exhausted).answer(analyze_question("哪些部门负责质量基础设施一站式服务？"), hits)
    assert answer.mode == "extractive" and answer.found
    assert answer.text == ExtractiveGenerator().answer(analyze_question("哪些部门负责质量基础设施一站式服务？"), hits).text
    assert any("大模型调用失败" in w for w in answer.warnings)


def test_llm_prompt_offers_only_the_numbered_clauses(clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{PLAN_2022}#六（十六）", f"{SHANWEI}#八（二十四）")
    generator = LlmGenerator(FakeListChatModel(responses=["x"]))
    (_, system), (_, user) = generator.messages(analyze_question("那牵头的是哪个部门？", history=["质量基础设施一站式服务"]), hits)
    assert NOT_FOUND_MARK in system and "[1]" in system
    assert re.findall(r"^\[(\d+)\] ", user, re.MULTILINE) == ["1", "2"] and user.startswith("条款：\n\n[1] 《进一步提高产品")
    assert "[2] 《关于深入贯彻落实" in user and "（责任部门：市市场监管局（牵头））" in user
    assert user.endswith("对话上文中的问题（仅用于理解省略的问题）：质量基础设施一站式服务\n\n问题：那牵头的是哪个部门？")


def test_uncited_statements_accept_markers_after_the_full_stop() -> None:
    assert uncited_statements("由市场监管总局负责。[1]\n根据所给条款：\n- 另有规定说明如下内容。") == ["另有规定说明如下内容"]


# --- LLM: the real ChatOpenAI client against a stand-in OpenAI-compatible server -----------------


class StandIn:
    """A tiny /v1/chat/completions server; `behaviour` is "ok", "error" (HTTP 500) or "slow"."""

    def __init__(self) -> None:
        self.behaviour = "ok"
        self.reply = ""
        self.requests: list[dict[str, Any]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.requests.append(body)
                if stand_in.behaviour == "slow":
                    time.sleep(2.0)
                if stand_in.behaviour == "error":
                    self._send(500, {"error": {"message": "stand-in failure", "type": "server_error"}})
                    return
                self._send(200, {
                    "id": "chatcmpl-standin", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": stand_in.reply}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                })

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    server = StandIn()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def stand_in_generator(server: StandIn, timeout_s: float = 5.0) -> LlmGenerator:
    generator = build_generator(llm_base_url=server.base_url, llm_model="stand-in", llm_timeout_s=timeout_s)
    assert isinstance(generator, LlmGenerator)
    return generator


def test_chat_openai_end_to_end(stand_in: StandIn, clauses: dict[str, Clause]) -> None:
    hits = hits_for(clauses, f"{PLAN_2022}#六（十六）", f"{SHANWEI}#八（二十四）")
    stand_in.reply = "国家层面由市场监管总局等部门按职责分工负责[1]；汕尾由市市场监管局牵头[2]。另据[3]。"
    answer = stand_in_generator(stand_in).answer(analyze_question("哪些部门负责质量基础设施一站式服务？"), hits)
    assert answer.mode == "llm" and answer.found
    assert answer.text == "国家层面由市场监管总局等部门按职责分工负责[1]；汕尾由市市场监管局牵头[2]。另据。"
    assert [c.clause.clause_id for c in answer.citations] == [f"{PLAN_2022}#六（十六）", f"{SHANWEI}#八（二十四）"]
    assert any("[3]" in w for w in answer.warnings)
    request = stand_in.requests[0]
    assert request["model"] == "stand-in" and request["temperature"] == 0
    assert [m["role"] for m in request["messages"]] == ["system", "user"]
    assert "[2] 《关于深入贯彻落实" in request["messages"][1]["content"]


def test_chat_openai_server_error_falls_back(stand_in: StandIn, clauses: dict[str, Clause]) -> None:
    stand_in.behaviour = "error"
    hits = hits_for(clauses, f"{PLAN_2022}#六（十六）")
    answer = stand_in_generator(stand_in).answer(analyze_question("哪些部门负责质量基础设施一站式服务？"), hits)
    assert answer.mode == "extractive" and "海关总署" in answer.text
    assert any("大模型调用失败" in w for w in answer.warnings)


def test_chat_openai_timeout_falls_back(stand_in: StandIn, clauses: dict[str, Clause]) -> None:
    stand_in.behaviour = "slow"
    hits = hits_for(clauses, f"{PLAN_2022}#六（十六）")
    started = time.monotonic()
    answer = stand_in_generator(stand_in, timeout_s=0.3).answer(analyze_question("哪些部门负责质量基础设施一站式服务？"), hits)
    assert time.monotonic() - started < 1.9  # one retry at most: two 0.3 s attempts, not the 2 s reply
    assert answer.mode == "extractive" and answer.found
    assert any("大模型调用失败" in w and "Timeout" in w for w in answer.warnings)


def test_build_generator_picks_the_backend() -> None:
    assert isinstance(build_generator(), ExtractiveGenerator)
    assert isinstance(build_generator(llm_base_url="http://127.0.0.1:9/v1"), ExtractiveGenerator)  # no model
    settings = load_settings(llm_base_url="http://127.0.0.1:9/v1", llm_model="qwen2.5")
    from rag.answer import make_generator

    assert isinstance(make_generator(settings), LlmGenerator)
    with pytest.raises(ValueError, match="llm_timeout_s"):
        build_generator(llm_base_url="http://127.0.0.1:9/v1", llm_model="m", llm_timeout_s=0)


def test_figure_fragments_cut_target_lists_only() -> None:
    from rag.generate import figure_fragments

    targets = ("到2025年，质量整体水平进一步全面提高，人民群众质量获得感、满意度明显增强，制造业产品质量合格率"
               "力争达到94.8%，食品抽检合格率达到98.5%以上，农产品质量安全例行监测合格率达到98%以上。")
    assert figure_fragments(targets) == [
        "到2025年，……制造业产品质量合格率力争达到94.8%",
        "到2025年，……食品抽检合格率达到98.5%以上",
        "到2025年，……农产品质量安全例行监测合格率达到98%以上",
    ]
    # a condition and its consequence stay together, however long the sentence
    reward = ("对主导制修订国际、国家、行业标准的企业，在省每个项目分别资助30万元、20万元、10万元的基础上，"
              "我市每个项目再分别给予30万元、20万元、10万元奖励，到2025年，全市参与制修订标准达到100项以上。")
    assert figure_fragments(reward) == [reward]
    # a later sentence of the same list carries the year given to it
    assert figure_fragments("工程质量抽查符合率不断提高，房屋市政工程质量抽查符合率90%以上，公路水运工程质量"
                            "一次验收合格率达到100%，竣工验收工程质量优良率达到90%以上，水利工程质量抽检合格率为98%以上。",
                            year="到2025年")[0] == \
        "到2025年，……房屋市政工程质量抽查符合率90%以上"
