"""answer_question and `rag ask` over a real index of the bundled corpus (real model, jieba, OpenCC, FAISS)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from rag.answer import answer_question, calibrate_support, load_calibration_questions
from rag.clean import is_traditional
from rag.cli_ask import ask_command
from rag.config import Settings
from rag.errors import QueryError
from rag.generate import ExtractiveGenerator
from rag.llm import LlmGenerator
from rag.pipeline import Pipeline, thresholds_from
from rag.question import mentioned_documents
from rag.retrieve import SearchFilters
from rag.schema import Answer
from rag.support import SupportThresholds

THRESHOLDS = thresholds_from(Settings())

SHANWEI = "2023-shanwei-quality-strong-city-opinion"
PLAN_2022 = "2022-18-departments-quality-improvement"
CITY = "city-product-quality-implementation-opinion"
PRIVATE = "2021-qi-private-enterprises-opinion"
SIX_DEPARTMENTS = "由市场监管总局、科技部、工业和信息化部、全国工商联、商务部、海关总署按职责分工负责。"


def ask(pipeline: Pipeline, question: str, history: tuple[tuple[str, str], ...] = (), **options: object) -> Answer:
    return answer_question(question, retriever=pipeline.retriever, generator=ExtractiveGenerator(), history=history,
                           thresholds=THRESHOLDS, **options)  # type: ignore[arg-type]


def cited_ids(answer: Answer) -> list[str]:
    return [c.clause.clause_id for c in answer.citations]


def test_department_question_names_the_six_departments(corpus_pipeline: Pipeline) -> None:
    answer = ask(corpus_pipeline, "哪些部门负责质量基础设施一站式服务？")
    assert answer.found and answer.mode == "extractive"
    line = next(line for line in answer.text.splitlines() if "六（十六）" in line)
    assert line.startswith("根据《进一步提高产品、工程和服务质量行动方案（2022—2025年）（节选：六、七）》（国家层面）"
                           "六（十六）「提升质量基础设施服务效能」")
    assert answer.text.index("六（十六）") < answer.text.index("八（二十四）")  # the national plan first
    assert SIX_DEPARTMENTS in line
    n = int(re.findall(r"\[(\d+)\]", line)[0])
    assert answer.citations[n - 1].clause.clause_id == f"{PLAN_2022}#六（十六）"


def test_numeric_question_quotes_the_figure_with_its_citation(corpus_pipeline: Pipeline) -> None:
    answer = ask(corpus_pipeline, "企业主导制定国际标准，市里每个项目奖励多少钱？")
    first = answer.text.splitlines()[0]
    assert "我市每个项目再分别给予30万元、20万元、10万元奖励" in first and first.endswith("。[1]")
    assert cited_ids(answer)[0] == f"{CITY}#一（二）"

    rate = ask(corpus_pipeline, "汕尾到2025年制造业产品质量合格率力争达到多少？")
    assert "制造业产品质量合格率力争达到94.8%" in rate.text
    assert cited_ids(rate) == [f"{SHANWEI}#一（二）"]


def test_unanswerable_question_says_so_and_offers_related_clauses(corpus_pipeline: Pipeline) -> None:
    answer = ask(corpus_pipeline, "个人所得税起征点现在是多少？")
    assert not answer.found and answer.citations == ()
    assert answer.text == "未在已收录的文件中找到与“个人所得税起征点现在是多少？”直接相关的规定。"
    assert len(answer.related) == 3 and all(h.similarity is not None for h in answer.related)


def test_threshold_is_what_decides(corpus_pipeline: Pipeline) -> None:
    question = "哪些部门负责质量基础设施一站式服务？"
    assert ask(corpus_pipeline, question).found
    strict = answer_question(question, retriever=corpus_pipeline.retriever, generator=ExtractiveGenerator(),
                             thresholds=SupportThresholds(min_support=0.99, coverage_weight=0.0, unknown_weight=0.0))
    assert not strict.found and strict.related and strict.outcome == "not_found" and strict.reasons


def test_traditional_question_gets_a_traditional_answer(corpus_pipeline: Pipeline) -> None:
    question = "汕尾的食品抽檢合格率目標是多少？"
    answer = ask(corpus_pipeline, question)
    assert answer.question == question
    assert is_traditional(answer.text) and "食品抽檢合格率達到98.5%以上" in answer.text
    citation = answer.citations[0]
    assert citation.clause.clause_id == f"{SHANWEI}#一（二）"  # ids stay as indexed
    assert citation.clause.citation.startswith("《關於深入貫徹落實《廣東省質量強省建設綱要》的實施意見（徵求意見稿）》")
    assert citation.clause.title == "目標任務"


def test_traditional_not_found_and_related_are_traditional(corpus_pipeline: Pipeline) -> None:
    answer = ask(corpus_pipeline, "個人所得稅起徵點現在是多少？")
    assert not answer.found
    assert answer.text == "未在已收錄的文件中找到與“個人所得稅起徵點現在是多少？”直接相關的規定。"
    assert all(is_traditional(h.clause.doc_title + h.clause.text) for h in answer.related)


def test_follow_up_about_another_document(corpus_pipeline: Pipeline) -> None:
    first = "哪些部门负责质量基础设施一站式服务？"
    history = ((first, ask(corpus_pipeline, first).text),)
    answer = ask(corpus_pipeline, "汕尾的呢？", history)
    assert answer.found and answer.question == "汕尾的呢？"
    assert {c.clause.doc_id for c in answer.citations} == {SHANWEI}
    assert "由市市场监管局牵头负责。" in answer.text and f"{SHANWEI}#八（二十四）" in cited_ids(answer)


def test_follow_up_asks_for_the_lead_department(corpus_pipeline: Pipeline) -> None:
    history = (("汕尾推动质量社会共治、有奖举报有什么措施？", ""),)
    answer = ask(corpus_pipeline, "那牵头的是哪个部门？", history)
    assert cited_ids(answer)[0] == f"{SHANWEI}#九（二十七）"
    assert "由市市场监管局牵头" in answer.text


def test_follow_up_asks_for_the_amount(corpus_pipeline: Pipeline) -> None:
    history = (("企业主导制修订国际标准，市里有什么支持？", ""),)
    answer = ask(corpus_pipeline, "具体奖励多少？", history)
    assert "万元" in answer.text.splitlines()[0]
    assert f"{CITY}#一（二）" in cited_ids(answer)


@pytest.mark.parametrize(("question", "stated"), [
    ("汕尾的征求意见稿，意见最晚什么时候交？", "2023年10月26日前"),  # not the signature's 2023年9月26日
    ("汕尾这份征求意见稿，意见反馈邮箱是多少？", "swsqsb@126.com"),
    ("汕尾质量强市征求意见稿的联系电话是多少？", "0660-3361078"),
    ("汕尾那份征求意见稿，我想提点意见，截止到什么时候？", "2023年10月26日前"),  # said before the clause that asks
])
def test_a_question_about_the_consultation_is_answered_by_its_notice(corpus_pipeline: Pipeline, question: str,
                                                                     stated: str) -> None:
    """Contact lines and the call for comments answer no other question, but they answer these."""
    answer = corpus_pipeline.ask(question)
    assert answer.outcome == "answered" and stated in answer.text.splitlines()[0]
    assert "9月26日" not in answer.text


@pytest.mark.parametrize("question", [
    "哪些部门负责质量基础设施一站式服务？",
    "首席质量官",
    "我们是民营小厂，想提高产品检测能力，国家有什么支持？",
    "研发投入强度排全省前20的县，能拿到多少奖励？",
    "民營企業可以申報中國質量獎嗎？有沒有鼓勵政策？",
    "《关于进一步发挥质量基础设施支撑引领民营企业提质增效升级作用的意见》是哪几个部门联合发的？",
])
def test_every_citation_is_a_retrieved_clause(corpus_pipeline: Pipeline, question: str) -> None:
    answer = ask(corpus_pipeline, question)
    retrieved = {h.clause.clause_id for h in corpus_pipeline.search(question, k=10)}
    mentioned = mentioned_documents(question, corpus_pipeline.index.manifest.documents)
    if mentioned:  # the answer searched within the named document
        retrieved |= {h.clause.clause_id for h in corpus_pipeline.search(
            question, k=10, filters=SearchFilters(doc_ids=mentioned))}
    assert answer.found and answer.citations
    assert set(cited_ids(answer)) <= retrieved
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    assert list(dict.fromkeys(markers)) == [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


def test_issuers_of_a_named_document(corpus_pipeline: Pipeline) -> None:
    answer = ask(corpus_pipeline, "《关于进一步发挥质量基础设施支撑引领民营企业提质增效升级作用的意见》是哪几个部门联合发的？")
    assert "由市场监管总局、全国工商联、国家发展改革委、科技部、工业和信息化部、商务部印发" in answer.text
    assert {c.clause.doc_id for c in answer.citations} == {PRIVATE}


def test_an_issuer_answer_says_when_where_the_signature_is_retrieved(corpus_pipeline: Pipeline) -> None:
    """The signature ("国务院办公厅 2014年4月21日") says who and when: "谁发的" is answered with both and cites it. A
    date known only from the manifest (the 18-department plan's is a repost's) is not said."""
    answer = ask(corpus_pipeline, "国务院2014年那份质量行动计划是谁印发的？")
    assert "由国务院办公厅于2014年4月21日印发" in answer.text
    assert "2014年4月21日" in answer.citations[0].clause.text
    answer = ask(corpus_pipeline, "18部门那个方案是谁发的？")
    assert "由市场监管总局等18部门印发。" in answer.text


def test_an_asking_word_glued_to_its_verb_is_no_unknown_word(corpus_pipeline: Pipeline) -> None:
    """jieba guesses 哪天发 as one word; no document holds it, and the question is about 汕尾's opinion."""
    answer = ask(corpus_pipeline, "汕尾那份意见是谁发的，哪天发的？")
    assert answer.found and "2023年9月26日" in answer.text


def test_a_count_of_departments_in_chinese_numerals_is_a_number_stated(corpus_pipeline: Pipeline) -> None:
    """The 序言's "市场监管总局等六部门联合发布" answers how many issued it."""
    answer = ask(corpus_pipeline, "支持民营企业用好质量基础设施的那份意见，是几个部门一起发的？")
    assert answer.outcome == "answered" and "六部门" in answer.text


def test_a_task_that_issues_something_is_no_question_about_the_issuer(corpus_pipeline: Pipeline) -> None:
    """"发布…管理办法" is the task whose lead is asked, not who issued the plan."""
    answer = ask(corpus_pipeline, "2014年计划里，发布节能产品认证管理办法这件事，哪个部门牵头？")
    assert "印发" not in answer.text and "质检总局" in answer.text


@pytest.mark.parametrize("question", ["", "   ", "质" * 2_001])
def test_bad_questions_raise_query_error(corpus_pipeline: Pipeline, question: str) -> None:
    with pytest.raises(QueryError):
        ask(corpus_pipeline, question)


def test_llm_generator_through_answer_question(corpus_pipeline: Pipeline) -> None:
    reply = "国家层面由市场监管总局等部门按职责分工负责[1]。另有[12]。"
    generator = LlmGenerator(GenericFakeChatModel(messages=iter([AIMessage(content=reply)])))
    answer = answer_question("哪些部门负责质量基础设施一站式服务？", retriever=corpus_pipeline.retriever,
                             generator=generator, thresholds=THRESHOLDS)
    assert answer.mode == "llm" and answer.text == "国家层面由市场监管总局等部门按职责分工负责[1]。另有。"
    assert any("[12]" in w for w in answer.warnings)
    retrieved = {h.clause.clause_id for h in corpus_pipeline.search("哪些部门负责质量基础设施一站式服务？", k=10)}
    assert set(cited_ids(answer)) <= retrieved


def test_pipeline_ask_uses_the_configured_generator(corpus_pipeline: Pipeline) -> None:
    answer = corpus_pipeline.ask("哪些部门负责质量基础设施一站式服务？")
    assert answer.mode == "extractive" and SIX_DEPARTMENTS in answer.text


# --- calibration ----------------------------------------------------------------------------------


def test_calibrate_support_separates_the_two_kinds(corpus_pipeline: Pipeline) -> None:
    questions = [("哪些部门负责质量基础设施一站式服务？", True), ("企业主导制定国际标准，市里每个项目奖励多少钱？", True),
                 ("个人所得税起征点现在是多少？", False), ("公司公章丢了，要怎么登报挂失？", False)]
    calibration = calibrate_support([(questions, corpus_pipeline.retriever)])
    assert calibration.wrongly_declined == 0.0 and calibration.declined_unanswerable == 1.0
    assert (calibration.answerable, calibration.unanswerable) == (2, 2)
    for question, answerable in questions:
        answer = answer_question(question, retriever=corpus_pipeline.retriever, generator=ExtractiveGenerator(),
                                 thresholds=calibration.thresholds)
        assert answer.found is answerable
    with pytest.raises(ValueError, match="both answerable and unanswerable"):
        calibrate_support([(questions[:2], corpus_pipeline.retriever)])


def test_load_calibration_questions(tmp_path: Path) -> None:
    path = tmp_path / "queries.jsonl"
    records = [
        {"_id": "q1", "text": "首席质量官", "metadata": {"style": "keyword", "split": "dev"}},
        {"_id": "q2", "text": "个人所得税起征点现在是多少？", "metadata": {"style": "unanswerable", "split": "dev"}},
        {"_id": "q3", "text": "QC小组", "metadata": {"style": "keyword", "split": "test"}},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n\n", encoding="utf-8")
    assert load_calibration_questions([path]) == [("首席质量官", True), ("个人所得税起征点现在是多少？", False)]
    assert load_calibration_questions([path], split="test") == [("QC小组", True)]
    path.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match="queries.jsonl:1"):
        load_calibration_questions([path])


# --- CLI ----------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI loads the configured (tuned) model, the one the corpus index was built with.
    for name in ("RAG_LLM_BASE_URL", "RAG_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)


def test_cli_ask_json(corpus_index_dir: Path, cli_env: None) -> None:
    result = CliRunner().invoke(ask_command, ["哪些部门负责质量基础设施一站式服务？", "--index", str(corpus_index_dir),
                                              "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert list(record) == ["question", "answer", "found", "outcome", "reasons", "citations", "mode", "related",
                            "warnings"]
    assert record["outcome"] == "answered" and record["reasons"] == []
    assert record["found"] is True and record["mode"] == "extractive" and SIX_DEPARTMENTS in record["answer"]
    citation = next(c for c in record["citations"] if c["id"] == f"{PLAN_2022}#六（十六）")
    # The first contract's fields, in their order, then the rest of the one clause record (rag/shapes.py).
    assert [key for key in citation if key in ("n", "id", "doc_title", "chapter", "clause", "text")] == [
        "n", "id", "doc_title", "chapter", "clause", "text"]
    assert citation["departments"][0] == "市场监管总局" and citation["citation"].endswith("》六（十六）")
    assert citation["clause"] == "（十六）" and citation["chapter"] == "六、以质量变革创新推动质量持续提升"
    assert f"[{citation['n']}]" in record["answer"]


def test_cli_ask_readable_not_found_and_filters(corpus_index_dir: Path, cli_env: None) -> None:
    runner = CliRunner()
    result = runner.invoke(ask_command, ["哪些部门负责质量基础设施一站式服务？", "--index", str(corpus_index_dir),
                                         "--doc", PLAN_2022])
    assert result.exit_code == 0, result.output
    assert result.output.endswith(
        "来源：\n[1] 《进一步提高产品、工程和服务质量行动方案（2022—2025年）（节选：六、七）》六（十六）「提升质量基础设施服务效能」"
        "（责任部门：市场监管总局、科技部、工业和信息化部、全国工商联、商务部、海关总署）\n")
    missing = runner.invoke(ask_command, ["个人所得税起征点现在是多少？", "--index", str(corpus_index_dir), "--json"])
    record = json.loads(missing.output)
    assert record["found"] is False and record["citations"] == [] and len(record["related"]) == 3
    assert record["outcome"] == "not_found" and any("个人所得税" in r or "起征点" in r for r in record["reasons"])
    empty = runner.invoke(ask_command, ["  ", "--index", str(corpus_index_dir)])
    assert empty.exit_code == 1 and empty.output.startswith("Error: 问题是空的")
    no_index = runner.invoke(ask_command, ["首席质量官", "--index", str(corpus_index_dir.parent / "none")])
    assert no_index.exit_code == 1 and "rag ingest" in no_index.output


def test_department_named_in_the_sentence_not_a_bracket(corpus_pipeline) -> None:  # type: ignore[no-untyped-def]
    # 七（二十二） has no trailing attribution: "市级财政和行业主管部门要……建立质量激励奖励项目动态优化清单".
    # The answer must quote that sentence rather than list another clause's bracketed departments.
    answer = corpus_pipeline.ask("质量激励奖励项目动态优化清单由谁负责建立？")
    assert answer.found
    assert "市级财政和行业主管部门" in answer.text
    assert "city-product-quality-implementation-opinion#七（二十二）" in [c.clause.clause_id for c in answer.citations]


def test_department_answer_starts_with_the_best_clause(corpus_pipeline) -> None:  # type: ignore[no-untyped-def]
    answer = corpus_pipeline.ask("2014年加快制造业、服务业质量升级的牵头部门是哪个？")
    assert answer.citations[0].clause.clause_id == "2014-quality-outline-action-plan#三（九）"
    assert "三（九）「加快制造业、服务业质量升级」，由质检总局牵头" in answer.text
    assert len(answer.citations) <= 2
