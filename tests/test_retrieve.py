"""Retrieval over the real corpus in every store with the real multilingual model, plus fusion and LangChain."""

from __future__ import annotations

import numpy as np
import pytest
from langchain_core.runnables import RunnableLambda

from rag.errors import QueryError
from rag.langchain_retriever import ClauseRetriever
from rag.retrieve import SearchFilters, convex_fusion, normalize_query

ONE_STOP = "2022-18-departments-quality-improvement#六（十六）"


def test_convex_fusion_hand_computed() -> None:
    # dense [0.9, 0.8, 0.85] → minmax [1.0, 0.0, 0.5]; BM25 [0.0, 10.0, 5.0] → [0.0, 1.0, 0.5]
    # weights 0.55 / 0.45: [0.55, 0.45, 0.5] — the clause far ahead on one signal keeps its lead
    fused = convex_fusion([np.array([0.9, 0.8, 0.85]), np.array([0.0, 10.0, 5.0])], (0.55, 0.45))
    assert fused == pytest.approx([0.55, 0.45, 0.5])
    # a flat signal adds nothing; a zero weight silences a retriever
    assert convex_fusion([np.array([0.5, 0.5]), np.array([1.0, 3.0])], (1.0, 1.0)) == pytest.approx([0.0, 0.5])
    assert convex_fusion([np.array([1.0, 0.0]), np.array([0.0, 1.0])], (0.0, 1.0)) == pytest.approx([0.0, 1.0])
    with pytest.raises(ValueError):
        convex_fusion([np.array([1.0])], (1.0, 1.0))
    with pytest.raises(ValueError):
        convex_fusion([np.array([1.0])], (0.0,))


def test_normalize_query() -> None:
    assert normalize_query("  哪些部門負責質量基礎設施一站式服務？ ", max_chars=100) == "哪些部门负责质量基础设施一站式服务？"
    assert normalize_query("２０２５年　目标", max_chars=100) == "2025年 目标"
    with pytest.raises(QueryError, match="问题是空的"):
        normalize_query(" \n\t", max_chars=100)
    with pytest.raises(QueryError, match="上限 10 字"):
        normalize_query("质" * 11, max_chars=10)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_one_stop_question_finds_the_clause(store_pipeline, mode: str) -> None:  # type: ignore[no-untyped-def]
    hits = store_pipeline.search("哪些部门负责质量基础设施一站式服务？", k=5, mode=mode)
    assert ONE_STOP in [h.clause.clause_id for h in hits]
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert len({h.clause.base_id for h in hits}) == len(hits)


def test_hybrid_hits_carry_the_rank_of_each_search(store_pipeline) -> None:  # type: ignore[no-untyped-def]
    """What each search alone thinks of a fused hit: the relevance decision reads whether they agree."""
    question = "哪些部门负责质量基础设施一站式服务？"
    hybrid = {h.clause.base_id: h for h in store_pipeline.search(question, k=10)}
    best_by_meaning = store_pipeline.search(question, k=1, mode="dense")[0].clause.base_id
    best_by_words = store_pipeline.search(question, k=1, mode="lexical")[0].clause.base_id
    assert hybrid[best_by_meaning].dense_rank == 1 and hybrid[best_by_words].lexical_rank == 1
    assert all(h.dense_rank is not None and h.dense_rank >= 1 for h in hybrid.values())
    assert all(h.dense_rank is None and h.lexical_rank is None
               for h in store_pipeline.search(question, k=3, mode="dense"))


def test_traditional_query_matches_simplified_index(store_pipeline) -> None:  # type: ignore[no-untyped-def]
    simplified = store_pipeline.search("推进质量共治由谁牵头", k=3)
    traditional = store_pipeline.search("推進質量共治由誰牽頭", k=3)
    assert [h.clause.clause_id for h in traditional] == [h.clause.clause_id for h in simplified]
    assert simplified[0].clause.clause_id == "2014-quality-outline-action-plan#四（十三）"


def test_colloquial_question_dense_retrieval(store_pipeline) -> None:  # type: ignore[no-untyped-def]
    # No shared wording with the clause ("主导制修订国际、国家、行业标准的企业…给予…奖励"): the model must bridge it.
    hits = store_pipeline.search("我们公司牵头起草了一项国家标准，市里给多少钱？", k=5, mode="dense")
    assert "city-product-quality-implementation-opinion#一（二）" in [h.clause.clause_id for h in hits]
    assert all(h.similarity is not None and 0 < h.similarity <= 1.0001 for h in hits)


def test_filters_with_real_index(store_pipeline) -> None:  # type: ignore[no-untyped-def]
    hits = store_pipeline.search("质量基础设施", k=10, filters=SearchFilters(department="国家市场监督管理总局"))
    assert hits and all("市场监管总局" in h.clause.departments for h in hits)
    shanwei = store_pipeline.search("质量基础设施", k=3, filters=SearchFilters(doc_ids=("2023-shanwei-quality-strong-city-opinion",)))
    assert {h.clause.doc_id for h in shanwei} == {"2023-shanwei-quality-strong-city-opinion"}


@pytest.mark.parametrize("query", ["", "   ", "质" * 5000])
def test_bad_queries_raise_query_error(corpus_pipeline, query: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError):
        corpus_pipeline.search(query)


def test_langchain_retriever_in_a_chain(store_pipeline) -> None:  # type: ignore[no-untyped-def]
    retriever = ClauseRetriever(retriever=store_pipeline.retriever, k=3)
    documents = retriever.invoke("哪些部门负责质量基础设施一站式服务？")
    assert len(documents) == 3 and all(d.metadata["citation"].startswith("《") for d in documents)
    # compose with a real runnable: retriever | format citations
    chain = retriever | RunnableLambda(lambda docs: [d.metadata["id"] for d in docs])
    assert ONE_STOP in chain.invoke("哪些部门负责质量基础设施一站式服务？")
    one_stop = next(d for d in documents if d.metadata["id"] == ONE_STOP)
    assert "海关总署" in one_stop.metadata["departments"] and one_stop.page_content.startswith("（十六）")


def test_answers_and_declines_alike_in_every_store(store_pipeline) -> None:  # type: ignore[no-untyped-def]
    # the support decision reads the store's mean similarity and term counts
    answer = store_pipeline.ask("哪些部门负责质量基础设施一站式服务？")
    assert answer.outcome == "answered" and ONE_STOP in [c.clause.clause_id for c in answer.citations]
    assert store_pipeline.ask("个人所得税起征点现在是多少？").outcome == "not_found"
