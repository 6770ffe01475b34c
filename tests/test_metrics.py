"""rag.metrics against hand-computed values; the arithmetic is in the comments."""

from __future__ import annotations

import copy
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.metrics import (
    AnswerRecord,
    answer_record,
    check_ks,
    citations_grounded,
    department_precision_recall,
    find_departments,
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
    score_answers,
    score_beir,
    score_run,
    states_expected,
)
from rag.schema import Answer, Citation, Clause, Hit

LOG2_3 = math.log2(3)  # discount at rank 2 is 1/log2(2+1) ≈ 1/1.58496


# --- recall, hit, MRR ---------------------------------------------------------------------


def test_recall_counts_relevant_found_in_top_k() -> None:
    ranked = ["a", "b", "c", "d"]
    relevant = {"b", "d", "e"}
    assert recall_at_k(ranked, relevant, 1) == 0.0  # top [a]: 0 of 3
    assert recall_at_k(ranked, relevant, 3) == pytest.approx(1 / 3)  # top [a,b,c]: b → 1/3
    assert recall_at_k(ranked, relevant, 4) == pytest.approx(2 / 3)  # b, d → 2/3
    assert recall_at_k(ranked, relevant, 10) == pytest.approx(2 / 3)  # k past the list: still 2/3


def test_hit_rate_is_one_when_anything_relevant_is_in_top_k() -> None:
    ranked = ["a", "b", "c"]
    assert hit_rate_at_k(ranked, {"b"}, 1) == 0.0  # top [a]
    assert hit_rate_at_k(ranked, {"b"}, 2) == 1.0  # top [a,b]
    assert hit_rate_at_k([], {"b"}, 5) == 0.0  # nothing retrieved


def test_mrr_is_reciprocal_rank_of_first_relevant() -> None:
    assert mrr_at_k(["a", "b", "c"], {"b"}) == 0.5  # first relevant at rank 2 → 1/2
    assert mrr_at_k(["a", "b", "c"], {"b", "c"}, 3) == 0.5  # only the first one counts → 1/2
    assert mrr_at_k(["a", "b", "c"], {"c"}, 2) == 0.0  # c at rank 3 is past k=2
    assert mrr_at_k(["a", "b", "c"], {"a"}, 1) == 1.0


def test_duplicates_earn_credit_only_once() -> None:
    # top-2 of [b, b, c] is [b, (repeat)]: the repeat is a wasted slot, so c is not reached.
    assert recall_at_k(["b", "b", "c"], {"b", "c"}, 2) == 0.5  # 1 of 2
    assert recall_at_k(["b", "b"], {"b"}, 2) == 1.0  # never above 1
    assert mrr_at_k(["a", "a", "b"], {"b"}, 3) == pytest.approx(1 / 3)  # b is at position 3
    # qrels {b:1, c:1}, k=2: DCG = 1/log2(2) + 0 = 1; IDCG = 1 + 1/log2(3) ≈ 1.63093 → ≈ 0.61315
    assert ndcg_at_k(["b", "b", "c"], {"b": 1, "c": 1}, 2) == pytest.approx(1 / (1 + 1 / LOG2_3))
    assert ndcg_at_k(["b", "b", "c"], {"b": 1, "c": 1}, 2) == pytest.approx(0.61315, abs=1e-5)
    assert ndcg_at_k(["b", "b"], {"b": 1}, 2) == 1.0  # the repeat does not push it above 1


# --- nDCG ------------------------------------------------------------------------------------


def test_ndcg_uses_grades_as_gains() -> None:
    qrels = {"b": 2, "c": 1, "d": 1}
    # ranked [a, b, c], k=3:
    #   DCG  = 0/log2(2) + 2/log2(3) + 1/log2(4) = 1.26186 + 0.5 = 1.76186
    #   IDCG = grades sorted [2, 1, 1]: 2/log2(2) + 1/log2(3) + 1/log2(4) = 2 + 0.63093 + 0.5 = 3.13093
    #   nDCG = 1.76186 / 3.13093 = 0.56273
    expected = (2 / LOG2_3 + 1 / 2) / (2 + 1 / LOG2_3 + 1 / 2)
    assert ndcg_at_k(["a", "b", "c"], qrels, 3) == pytest.approx(expected)
    assert ndcg_at_k(["a", "b", "c"], qrels, 3) == pytest.approx(0.56273, abs=1e-5)
    assert ndcg_at_k(["a", "b", "c"], qrels, 1) == 0.0  # top [a]: DCG 0
    assert ndcg_at_k(["b", "c", "d"], qrels, 3) == pytest.approx(1.0)  # the ideal order


def test_ndcg_ideal_is_cut_at_k() -> None:
    # qrels {b:1, c:2}, ranked [b], k=1: DCG = 1/log2(2) = 1; IDCG@1 = best grade 2 → 1/2
    assert ndcg_at_k(["b"], {"b": 1, "c": 2}, 1) == 0.5


def test_ndcg_treats_grade_zero_as_not_relevant() -> None:
    # qrels {a:0, b:1}, ranked [a, b]: DCG = 0 + 1/log2(3) = 0.63093; IDCG = 1/log2(2) = 1
    assert ndcg_at_k(["a", "b"], {"a": 0, "b": 1}, 2) == pytest.approx(1 / LOG2_3)


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "3"], ids=["zero", "negative", "float", "bool", "string"])
def test_bad_k_is_rejected(k: object) -> None:
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        recall_at_k(["a"], {"a"}, k)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "call",
    [
        lambda: recall_at_k(["a"], set(), 1),
        lambda: hit_rate_at_k(["a"], [], 1),
        lambda: mrr_at_k(["a"], (), 1),
        lambda: ndcg_at_k(["a"], {}, 1),
        lambda: ndcg_at_k(["a"], {"a": 0}, 1),
    ],
    ids=["recall", "hit", "mrr", "ndcg-empty", "ndcg-only-grade-zero"],
)
def test_empty_relevant_is_undefined(call: object) -> None:
    with pytest.raises(ValueError, match="unanswerable"):
        call()  # type: ignore[operator]


def test_a_string_is_not_a_ranking() -> None:
    with pytest.raises(ValueError, match="sequence of clause ids"):
        recall_at_k("abc", {"a"}, 1)


def test_check_ks_sorts_and_deduplicates() -> None:
    assert check_ks([10, 1, 5, 1]) == (1, 5, 10)
    with pytest.raises(ValueError):
        check_ks([])


# --- score_run -------------------------------------------------------------------------------


RUN = {"q1": ["a", "b", "c"], "q2": ["d", "e", "f"], "q3": ["x"]}
QRELS = {"q1": {"b": 1}, "q2": {"f": 2, "d": 1}, "q3": {}}  # q3 is unanswerable


def test_score_run_averages_answerable_queries_only() -> None:
    scores = score_run(RUN, QRELS, ks=[3, 1])
    # q1 [a,b,c], gold {b:1}:      recall@1 0, @3 1; hit@1 0, @3 1; mrr@1 0, @3 1/2
    #                              ndcg@1 0; ndcg@3 = (1/log2 3) / 1 = 0.63093
    # q2 [d,e,f], gold {f:2, d:1}: recall@1 1/2, @3 1; hit 1, 1; mrr 1, 1
    #                              ndcg@1 = 1 / 2 = 0.5 (ideal first gain is 2)
    #                              ndcg@3 = (1 + 2/log2 4) / (2 + 1/log2 3) = 2 / 2.63093 = 0.76018
    # q3 has no relevant clause: left out, so every mean is over 2 queries.
    assert list(scores) == [
        "recall@1", "recall@3", "hit@1", "hit@3", "mrr@1", "mrr@3", "ndcg@1", "ndcg@3",
    ]  # fmt: skip
    assert scores["recall@1"] == pytest.approx(0.25)  # (0 + 1/2) / 2
    assert scores["recall@3"] == pytest.approx(1.0)  # (1 + 1) / 2
    assert scores["hit@1"] == pytest.approx(0.5)  # (0 + 1) / 2
    assert scores["hit@3"] == pytest.approx(1.0)
    assert scores["mrr@1"] == pytest.approx(0.5)  # (0 + 1) / 2
    assert scores["mrr@3"] == pytest.approx(0.75)  # (1/2 + 1) / 2
    assert scores["ndcg@1"] == pytest.approx(0.25)  # (0 + 0.5) / 2
    expected_ndcg3 = (1 / LOG2_3 + 2 / (2 + 1 / LOG2_3)) / 2  # (0.63093 + 0.76018) / 2 = 0.69556
    assert scores["ndcg@3"] == pytest.approx(expected_ndcg3)
    assert scores["ndcg@3"] == pytest.approx(0.69556, abs=1e-5)


def test_score_run_does_not_mutate_its_inputs() -> None:
    run, qrels = copy.deepcopy(RUN), copy.deepcopy(QRELS)
    score_run(run, qrels, ks=[1, 3])
    assert run == RUN and qrels == QRELS


def test_score_run_ignores_run_entries_without_qrels() -> None:
    with_extra = {**RUN, "q9": ["a"]}
    assert score_run(with_extra, QRELS, ks=[3]) == score_run(RUN, QRELS, ks=[3])


def test_score_run_rejects_a_run_missing_a_judged_query() -> None:
    with pytest.raises(ValueError, match="no ranking for 1 judged"):
        score_run({"q1": ["b"]}, QRELS, ks=[1])


def test_score_run_needs_an_answerable_query() -> None:
    with pytest.raises(ValueError, match="no answerable queries"):
        score_run({"q3": ["x"]}, {"q3": {}}, ks=[1])


@given(
    ranked=st.lists(st.sampled_from("abcdefgh"), max_size=12),
    qrels=st.dictionaries(st.sampled_from("abcdefgh"), st.integers(1, 3), min_size=1),
)
def test_metrics_stay_in_range_and_recall_grows_with_k(ranked: list[str], qrels: dict[str, int]) -> None:
    previous = 0.0
    for k in range(1, 14):
        recall = recall_at_k(ranked, qrels.keys(), k)
        assert previous <= recall <= 1.0
        previous = recall
        assert 0.0 <= ndcg_at_k(ranked, qrels, k) <= 1.0 + 1e-12
        assert 0.0 <= mrr_at_k(ranked, qrels.keys(), k) <= hit_rate_at_k(ranked, qrels.keys(), k)


# --- answer level ----------------------------------------------------------------------------


def test_find_departments_prefers_the_longest_name() -> None:
    known = ["国家发展改革委", "发展改革委", "工业和信息化部", "商务部"]
    text = "由工业和信息化部、国家发展改革委负责。"
    # 发展改革委 is inside 国家发展改革委, whose characters are already claimed.
    assert find_departments(text, known) == ("工业和信息化部", "国家发展改革委")


def test_department_precision_recall() -> None:
    gold = ["市场监管总局", "工业和信息化部"]
    text = "由市场监管总局牵头，商务部配合。"
    # found {市场监管总局, 商务部}; correct {市场监管总局}: precision 1/2, recall 1/2
    assert department_precision_recall(text, gold, known=["商务部"]) == (0.5, 0.5)
    assert department_precision_recall("按职责分工负责。", gold, known=["商务部"]) == (0.0, 0.0)
    with pytest.raises(ValueError, match="no gold departments"):
        department_precision_recall(text, [], known=["商务部"])


def test_department_aliases_match_through_canonical() -> None:
    aliases = {"工信部": "工业和信息化部"}
    # found {工信部} → canonical {工业和信息化部}; gold {工业和信息化部}: precision 1/1, recall 1/1
    scores = department_precision_recall(
        "工信部负责。", ["工业和信息化部"], known=["工信部"], canonical=lambda n: aliases.get(n, n)
    )
    assert scores == (1.0, 1.0)


def test_citations_grounded() -> None:
    assert citations_grounded(["a"], ["a", "b"]) is True
    assert citations_grounded(["a", "c"], ["a", "b"]) is False
    assert citations_grounded([], ["a"]) is True  # nothing cited, nothing ungrounded


def _clause(clause_id: str) -> Clause:
    return Clause(
        clause_id=clause_id, doc_id="doc", doc_title="标题", kind="clause", chapter="", label="",
        title="", text="内容", start=0, end=2, source="doc.txt",
    )  # fmt: skip


def test_answer_record_flattens_answer_and_hits() -> None:
    answer = Answer(question="问", text="答[1]", found=True, citations=(Citation(1, _clause("doc#1")),))
    hits = [Hit(_clause("doc#1"), 0.9, 1), Hit(_clause("doc#2"), 0.5, 2)]
    assert answer_record(answer, hits) == AnswerRecord(True, "答[1]", ("doc#1",), ("doc#1", "doc#2"), "answered")


def test_score_answers() -> None:
    answers = {
        "q1": AnswerRecord(found=True, text="见[1]", citation_ids=("a",), retrieved_ids=("a", "b")),
        "q2": AnswerRecord(found=False, text="未找到相关规定"),
        "q3": AnswerRecord(True, "由市场监管总局牵头，商务部配合", citation_ids=("x",), retrieved_ids=("y",)),
        "q4": AnswerRecord(True, "文件中有相关规定，但没有写明金额。[1]", citation_ids=("a",), retrieved_ids=("a",),
                           outcome="partly"),
    }
    scores = score_answers(
        answers,
        answerable_ids={"q1", "q3", "q4"},
        gold_departments={"q3": ["市场监管总局", "工业和信息化部"]},
        known_departments=["商务部"],
    )
    assert scores == pytest.approx(
        {
            "answerable_declined": 0.0,  # q1, q3, q4 found (q4 partly) → 0/3
            "answerable_partly": 1 / 3,  # q4 says the asked detail is not stated → 1/3
            "unanswerable_declined": 1.0,  # q2 declined → 1/1
            "citations_grounded": 3 / 4,  # q1, q4 yes, q2 vacuously yes, q3 cites x but retrieved y → 3/4
            "department_precision": 0.5,  # q3: {市场监管总局, 商务部} ∩ gold = 1 of 2 found
            "department_recall": 0.5,  # q3: 1 of 2 gold
        }
    )


def test_a_partial_answer_is_scored_on_whether_it_cites_the_topic_first() -> None:
    """Only unanswerable questions answered "partly" count; a part of a long clause is its clause."""
    answers = {
        "d1": AnswerRecord(True, "没有写明金额[1][2]", citation_ids=("t#1", "x#2"), retrieved_ids=("t#1", "x#2"),
                           outcome="partly"),
        "d2": AnswerRecord(True, "没有写明期限[1][2]", citation_ids=("x#2", "t#1"), retrieved_ids=("x#2", "t#1"),
                           outcome="partly"),
        "d3": AnswerRecord(True, "没有写明电话[1]", citation_ids=("t#1-2",), retrieved_ids=("t#1-2",), outcome="partly"),
        "d4": AnswerRecord(False, "未找到", outcome="not_found"),
    }
    topics = {query_id: ("t#1",) for query_id in answers}
    scores = score_answers(answers, answerable_ids=set(), gold_departments={}, topics=topics)
    assert scores["partly_cites_topic"] == pytest.approx(2 / 3)  # d1 and d3 of the three partly answers


def test_an_answer_states_the_expected_fact_only_by_quoting_it() -> None:
    """The right clause cited with the wrong sentence quoted (a signature's date for a deadline) fails; an answer
    in traditional script is read in simplified; a "not found" answer repeats the question and states nothing."""
    deadline = ("2023年10月26日前",)
    answers = {
        "right": AnswerRecord(True, "有关意见请于2023年10月26日前书面反馈我局。[1]", ("序言",), ("序言",)),
        "signature": AnswerRecord(True, "汕尾市市场监督管理局 2023年9月26日。[1]", ("序言",), ("序言",)),
        "traditional": AnswerRecord(True, "處違法所得五倍以下的罰款。[1]", ("a",), ("a",)),
        "declined": AnswerRecord(False, "未在已收录的文件中找到与“2023年10月26日前交意见吗？”直接相关的规定。",
                                 outcome="not_found"),
    }
    expected = {"right": deadline, "signature": deadline, "traditional": ("五倍以下的罚款",), "declined": deadline}
    assert [states_expected(answers[key], expected[key]) for key in answers] == [True, False, True, False]
    scores = score_answers(answers, answerable_ids=set(answers), gold_departments={}, expected_phrases=expected)
    assert scores["states_expected"] == pytest.approx(2 / 4)
    assert "states_expected" not in score_answers(answers, answerable_ids=set(answers), gold_departments={})


def test_score_beir_averages_the_way_beir_does() -> None:
    qrels = {
        "q1": {"a": 2, "b": 1},  # graded
        "q2": {"c": 1},  # its first result is the query itself
        "q3": {"d": 0},  # judged, nothing relevant
    }
    run = {"q1": ["b", "x", "a"], "q2": ["q2", "c"], "q3": ["d"]}
    scores = score_beir(run, qrels)
    # q1: DCG = 1/log2(2) + 2/log2(4) = 1 + 1 = 2; IDCG = 2/log2(2) + 1/log2(3) = 2.6309 → 0.7602;
    #     recall 2/2; MRR 1/1.  q2: "q2" is dropped (BEIR's ignore_identical_ids), c is first: 1, 1, 1.
    #     q3: no relevant passage: 0 on every metric, and it still counts, as in pytrec_eval.
    ideal = 2 + 1 / math.log2(3)
    assert scores == pytest.approx({"ndcg@10": (2 / ideal + 1) / 3, "recall@100": 2 / 3, "mrr@10": 2 / 3})
    assert score_beir({}, qrels) == {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}  # nothing retrieved
    with pytest.raises(ValueError, match="qrels are empty"):
        score_beir(run, {})
