"""The supported-answer decision (rag/support.py) over the real index of the bundled corpus."""

from __future__ import annotations

import dataclasses

import pytest

from rag.clause_store import SearchFilters
from rag.config import Settings
from rag.pipeline import Pipeline, thresholds_from
from rag.support import Support, asked_details, assess_support, detail_stated, specific_terms

THRESHOLDS = thresholds_from(Settings())


def support_for(pipeline: Pipeline, question: str) -> Support:
    retriever = pipeline.retriever
    query = retriever.analyze(question)
    hits = retriever.search(query, k=10)
    return assess_support(query, hits, retriever.index, thresholds=THRESHOLDS,
                          typical_similarity=retriever.typical_similarity(query))


@pytest.mark.parametrize("question", [
    "哪些部门负责质量基础设施一站式服务？",
    "企业主导制定国际标准，市里每个项目奖励多少钱？",
    "民營企業想參加質量管理體系認證，有哪些支持？",
])
def test_answerable_questions_are_answered(corpus_pipeline: Pipeline, question: str) -> None:
    support = support_for(corpus_pipeline, question)
    assert support.outcome == "answered" and support.reasons == ()


@pytest.mark.parametrize("question", ["个人所得税起征点现在是多少？", "公司公章丢了，要怎么登报挂失？"])
def test_off_domain_questions_are_declined_with_a_reason(corpus_pipeline: Pipeline, question: str) -> None:
    support = support_for(corpus_pipeline, question)
    assert support.outcome == "not_found"
    assert support.unknown > 0.5 and "已收录的文件中没有出现" in support.reasons[0]


def test_a_detail_the_documents_do_not_state_is_a_partial_answer(corpus_pipeline: Pipeline) -> None:
    support = support_for(corpus_pipeline, "汕尾市政府质量奖奖金是多少？")
    assert support.outcome == "partly" and support.unstated == ("金额",)
    assert support.reasons == ("相关条款没有写明金额",)


def test_asked_details() -> None:
    assert asked_details("奖金是多少？") == ("金额",)
    assert asked_details("今年的中国民营企业合作大会什么时候开？在哪里开？") == ("时间", "地点")
    assert asked_details("拿了红点奖多久之内要去申报那10万元奖励？") == ("期限",)
    assert asked_details("市里说的“25个重点产业链”具体是哪些产业链？") == ("具体名单",)
    assert asked_details("红黑榜在哪个网站能查到？") == ("网址",)
    assert asked_details("首席质量官有什么要求？") == ()


def test_a_detail_counts_only_beside_the_question_words(corpus_pipeline: Pipeline) -> None:
    clauses = {c.clause_id: c for c in corpus_pipeline.index.clauses_matching(SearchFilters())}
    reward = clauses["city-product-quality-implementation-opinion#一（二）"]  # 30万元、20万元、10万元 for 国际标准
    assert detail_stated("金额", [reward], ["制修订"])
    assert not detail_stated("金额", [reward], ["质量奖"])


def test_a_year_is_no_period_and_a_list_states_its_items(corpus_pipeline: Pipeline) -> None:
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    year = dataclasses.replace(clause, text="到2025年，申报工作全面完成。")
    period = dataclasses.replace(clause, text="获奖企业应当在30个工作日内申报奖励。")
    assert detail_stated("时间", [year], ["申报"]) and not detail_stated("期限", [year], ["申报"])
    assert detail_stated("期限", [period], ["申报"])
    listed = dataclasses.replace(clause, text="重点产业链包括电子信息、海工装备、新能源、现代农业。")
    unlisted = dataclasses.replace(clause, text="围绕25个重点产业链开展质量提升。")
    assert detail_stated("具体名单", [listed], ["产业链"]) and not detail_stated("具体名单", [unlisted], ["产业链"])


def test_only_rare_question_words_place_a_detail(corpus_pipeline: Pipeline) -> None:
    index = corpus_pipeline.index
    assert specific_terms(["质量提升", "经费"], index) == ("经费",)
    assert specific_terms(["质量提升"], index) == ("质量提升",)  # nothing rarer: keep what there is
