"""The web app, launched for real on a free port over the real corpus index and driven with gradio_client."""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from app import add_to_corpus, build_app, parse_settings, remove_from_corpus
from rag import ui, uploads
from rag.clause_store import SearchFilters
from rag.config import load_settings
from rag.generate import NOT_FOUND_MARK
from rag.login import LoginGuard
from rag.page import page_options
from rag.pipeline import Pipeline
from rag.store import open_index
from tests.conftest import CORPUS_DIR
from tests.test_limits import zip_bomb_docx

gradio_client = pytest.importorskip("gradio_client")
# Gradio's own queue code trips pandas deprecation warnings; they are not ours to fix.
GRADIO_INTERNAL_WARNINGS = pytest.mark.filterwarnings("ignore:::gradio.queueing")
pytestmark = GRADIO_INTERNAL_WARNINGS

DEPARTMENT_QUESTION = "哪些部门负责质量基础设施一站式服务？"
ACTION_PLAN_2022 = "进一步提高产品、工程和服务质量行动方案"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def launch(pipeline: Pipeline) -> Iterator[str]:
    demo = build_app(pipeline)
    demo.queue(default_concurrency_limit=2)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                            **page_options())
    try:
        yield url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def client(corpus_pipeline: Pipeline) -> Iterator[Any]:
    for url in launch(corpus_pipeline):
        yield gradio_client.Client(url, verbose=False)


@pytest.fixture(scope="module")
def writable_pipeline(tmp_path_factory: pytest.TempPathFactory, corpus_index_dir: Path,
                      default_embedder: Any) -> Pipeline:
    """A pipeline over copies of the corpus and its index, so uploads leave the shared index alone."""
    root = tmp_path_factory.mktemp("upload")
    shutil.copytree(CORPUS_DIR, root / "corpus")
    shutil.copytree(corpus_index_dir, root / "index", ignore=shutil.ignore_patterns(".lock"))
    settings = load_settings(index_dir=str(root / "index"), corpus_paths=(str(root / "corpus"),))
    return Pipeline(settings, embedder=default_embedder)


@pytest.fixture(scope="module")
def upload_client(writable_pipeline: Pipeline) -> Iterator[Any]:
    for url in launch(writable_pipeline):
        yield gradio_client.Client(url, verbose=False)


def ask(client: Any, question: str, history: list[dict[str, Any]] | None = None, **settings: Any) -> dict[str, Any]:
    messages, question_box, plain_text, notice = client.predict(
        question, history or [], settings.get("documents", []), settings.get("mode", "hybrid"), settings.get("k", 5),
        api_name="/ask")
    return {"messages": messages, "question_box": question_box, "cards": sources_html(messages),
            "plain_text": plain_text, "notice": notice}


def sources_html(messages: list[dict[str, Any]]) -> str:
    """The source cards inside the last answer's bubble: its HTML part, after the text."""
    if not messages or messages[-1]["role"] != "assistant":
        return ""
    content = messages[-1]["content"]
    return "".join(part.get("value", "") for part in (content if isinstance(content, list) else [content])
                   if isinstance(part, dict) and part.get("component") == "html")


def last_answer(result: dict[str, Any]) -> str:
    assert result["messages"][-1]["role"] == "assistant"
    return ui.message_text(result["messages"][-1]["content"])


# --- chat ----------------------------------------------------------------------------------------


def test_department_question_is_answered_with_citation_cards(client: Any) -> None:
    result = ask(client, DEPARTMENT_QUESTION)
    assert result["notice"] == ""
    assert result["question_box"] == ""  # cleared for the next question
    assert [m["role"] for m in result["messages"]] == ["user", "assistant"]
    assert "市场监管总局" in last_answer(result)
    assert "[1]" in last_answer(result)
    cards = result["cards"]
    assert '<div class="section-title">出处</div>' in cards
    assert ACTION_PLAN_2022 in cards
    assert "（十六）提升质量基础设施服务效能" in cards
    assert re.search(r'<span class="department( lead)?">市场监管总局', cards)  # a highlighted department chip
    assert "<details><summary>条款全文</summary>" in cards and "大力开展质量基础设施“一站式”服务" in cards
    # The sources share the answer's bubble, after its text; each [n] links to its card.
    text_part, sources_part = result["messages"][-1]["content"]
    assert "[[1]](#source-1-1)" in text_part["text"] and '<article class="clause-card" id="source-1-1">' in cards
    assert sources_part["component"] == "html"
    plain = result["plain_text"]
    assert plain.startswith(f"问：{DEPARTMENT_QUESTION}\n答：")
    assert f"《{ACTION_PLAN_2022}" in plain and "六（十六）「提升质量基础设施服务效能」（责任部门：市场监管总局" in plain
    assert "<" not in plain  # plain text for pasting, no markup


def test_follow_up_keeps_the_conversation(client: Any) -> None:
    first = ask(client, "参与制定国家标准，市里奖励多少？")
    assert "万元" in last_answer(first)
    second = ask(client, "那行业标准呢？", history=first["messages"])
    assert [m["role"] for m in second["messages"]] == ["user", "assistant"] * 2
    assert second["notice"] == "" and "万元" in last_answer(second)
    assert 'id="source-2-1"' in second["cards"] and "(#source-2-1)" in second["messages"][-1]["content"][0]["text"]
    assert "#source" not in ui.history_pairs(second["messages"])[0][1]  # follow-ups read the answer as written


def test_traditional_question_is_answered(client: Any) -> None:
    result = ask(client, "哪些部門負責質量基礎設施一站式服務？")
    assert result["notice"] == ""
    assert "市场监管总局" in last_answer(result) or "市場監管總局" in last_answer(result)


def test_unanswerable_question_gets_the_refusal(client: Any) -> None:
    result = ask(client, "个人所得税起征点是多少？")
    assert NOT_FOUND_MARK in last_answer(result)
    assert '<div class="section-title">出处</div>' not in result["cards"]
    assert "出处：" not in result["plain_text"]


def test_empty_question_gets_a_message_and_the_server_keeps_serving(client: Any) -> None:
    result = ask(client, "   ")
    assert "问题是空的" in result["notice"]
    assert result["messages"] == []  # nothing added to the conversation
    assert "Traceback" not in result["notice"]
    punctuation = ask(client, "？？？")  # no letter, digit or CJK character: as empty as blanks
    assert "问题是空的" in punctuation["notice"] and punctuation["messages"] == []
    assert "市场监管总局" in last_answer(ask(client, DEPARTMENT_QUESTION))


def test_restricting_to_one_document_cites_only_it(client: Any) -> None:
    result = ask(client, DEPARTMENT_QUESTION, documents=["2023-shanwei-quality-strong-city-opinion"])
    assert "汕尾" in result["cards"] or "广东省质量强省建设纲要" in result["cards"]
    assert ACTION_PLAN_2022 not in result["cards"]


# --- search and corpus ---------------------------------------------------------------------------


def search(client: Any, query: str, *, documents: list[str] | None = None, department: str = "",
           chapter: str = "", k: int = 5) -> str:
    return str(client.predict(query, documents or [], "hybrid", k, department, chapter, api_name="/search"))


def test_search_lists_matching_clauses(client: Any) -> None:
    html = search(client, "质量基础设施 一站式服务")
    assert html.count('<article class="clause-card">') == 5
    assert "（十六）提升质量基础设施服务效能" in html


def test_search_counts_every_match_not_the_k_shown_and_marks_the_words(client: Any, corpus_pipeline: Pipeline
                                                                      ) -> None:
    having = {c.base_id for c in corpus_pipeline.index.clauses_matching(SearchFilters()) if "一站式" in c.text}
    assert len(having) == 4
    html = search(client, "一站式", k=2)
    assert "共 4 条条款含检索词，按相关度显示前 2 条。" in html  # not "找到 2 条"
    assert html.count('<article class="clause-card">') == 2 and "<mark>一站式</mark>" in html
    html = search(client, "一站式", k=10)  # hybrid: the 4 with the word and 6 close in meaning
    assert "共找到 10 条，按相关度排序（其中 6 条不含检索词，意思相近）。" in html
    assert html.count('<span class="semantic">意思相近</span>') == 6


def test_a_cited_clause_opens_in_its_document_outline(client: Any) -> None:
    outline = client.predict("2022-18-departments-quality-improvement#六（十六）|1", api_name="/open_clause")  # and tab 文件库
    assert f"《{ACTION_PLAN_2022}" in outline and outline.count('class="outline-clause opened" open') == 1
    assert 'data-clause="2022-18-departments-quality-improvement#六（十六）"' in outline
    assert outline.count("outline-clause") == 11  # the document's 11 clauses, the opened one among them
    gone = client.predict("no-such-document#一|2", api_name="/open_clause")
    assert "不在索引中" in gone


def test_search_department_filter_accepts_aliases(client: Any) -> None:
    html = search(client, "质量基础设施", department="工信部", documents=["2022-18-departments-quality-improvement"])
    assert html.count('<article class="clause-card">') >= 1
    assert html.count("工业和信息化部") >= html.count('<article class="clause-card">')
    assert "汕尾" not in html


def test_search_with_nothing_left_after_filters_says_so(client: Any) -> None:
    html = search(client, "质量", department="不存在的部门")
    assert "没有匹配的条款" in html


def test_corpus_listing(client: Any, corpus_pipeline: Pipeline) -> None:
    summary, table, choices = client.predict(api_name="/documents")
    rows = table["data"]
    assert table["headers"] == ["标题", "发布机关", "日期", "条款数", "来源文件"]
    assert len(rows) == 5 == len(corpus_pipeline.index.manifest.documents)
    by_file = {row[4]: row for row in rows}
    plan = by_file["2022-18-departments-quality-improvement.txt"]
    assert plan[0].startswith(ACTION_PLAN_2022) and plan[1] == "市场监管总局等18部门" and plan[2] == "2022-12-03"
    assert sum(int(row[3]) for row in rows) == corpus_pipeline.index.manifest.clauses
    assert f"已收录 5 个文件、{corpus_pipeline.index.manifest.clauses} 条条款" in summary
    assert re.search(r"索引更新于 \d{4}-\d{2}-\d{2} \d{2}:\d{2}）", summary), summary  # Beijing time, not ISO
    assert ["贯彻实施质量发展纲要2014年行动计划", "2014-quality-outline-action-plan"] in choices["choices"]


# --- uploads -------------------------------------------------------------------------------------


def test_unreadable_uploads_change_nothing(upload_client: Any, writable_pipeline: Pipeline, tmp_path: Path) -> None:
    live = open_index(writable_pipeline.settings.index_dir).directory
    corpus_files = sorted(Path(writable_pipeline.settings.corpus_paths[0]).iterdir())
    (tmp_path / "blob.txt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "empty.md").write_bytes(b"")
    zip_bomb_docx(tmp_path / "bomb.docx", megabytes=150)  # read in a child process, refused before inflating
    for path, reason in ((tmp_path / "blob.txt", "二进制文件"), (tmp_path / "empty.md", "文件是空的"),
                         (tmp_path / "bomb.docx", "超过上限 100 MB")):
        status, _, table, _, _ = upload_client.predict(gradio_client.handle_file(str(path)), api_name="/add_document")
        status = ui.message_text(status)  # shown as text: sent with markup characters escaped
        assert status.startswith(f"未添加 {path.name}") and reason in status
        assert str(tmp_path) not in status  # the user sees their file name, not the server's temp path
        assert status.count(path.name) == 1  # named once: “未添加 empty.md：文件是空的”
        assert len(table["data"]) == 5
    assert sorted(Path(writable_pipeline.settings.corpus_paths[0]).iterdir()) == corpus_files
    assert not uploads.list_uploads(writable_pipeline.settings.upload_path)
    assert open_index(writable_pipeline.settings.index_dir).directory == live
    assert "（十六）" in search(upload_client, "质量基础设施 一站式服务")


def test_uploaded_gbk_document_is_indexed_and_searchable(upload_client: Any, writable_pipeline: Pipeline,
                                                         tmp_path: Path) -> None:
    text = "关于支持计量检测服务的通知\n一、总体要求\n（一）建设计量检测公共服务平台。对新建的平台奖励八十万元。（市科技局牵头，市财政局负责）\n"
    upload = tmp_path / "计量通知.txt"
    upload.write_bytes(text.encode("gbk"))
    status, summary, table, choices, file_box = upload_client.predict(
        gradio_client.handle_file(str(upload)), api_name="/add_document")
    status = ui.message_text(status)
    assert re.match(r"已添加《关于支持计量检测服务的通知（用户上传：匿名用户，\d{4}-\d{2}-\d{2} \d{2}:\d{2}）》", status), status
    assert "本次计算" in status and file_box is None
    assert len(table["data"]) == 6 and "已收录 6 个文件" in summary
    assert any(label.startswith("关于支持计量检测服务的通知（用户上传") for label, _ in choices["choices"])
    stored = uploads.list_uploads(writable_pipeline.settings.upload_path)
    assert [u.original_name for u in stored] == ["计量通知.txt"]
    assert (writable_pipeline.settings.upload_path / stored[0].file_name).read_bytes() == upload.read_bytes()
    assert not (Path(writable_pipeline.settings.corpus_paths[0]) / "计量通知.txt").exists()
    assert "计量检测公共服务平台" in search(upload_client, "计量检测公共服务平台")


def test_upload_named_like_a_bundled_document_is_added_beside_it(upload_client: Any, writable_pipeline: Pipeline,
                                                                 tmp_path: Path) -> None:
    """Issue 11: an upload with a bundled file's name used to overwrite it and be cited under its official title."""
    corpus = Path(writable_pipeline.settings.corpus_paths[0])
    bundled = {path.name: path.read_bytes() for path in corpus.iterdir()}
    official = "贯彻实施质量发展纲要2014年行动计划"
    forgery = tmp_path / "2014-quality-outline-action-plan.txt"
    forgery.write_text(f"{official}\n一、总体要求\n（一）伪造条款：所有企业一律免征质量检验费用。\n", encoding="utf-8")
    documents_before = len(upload_client.predict(api_name="/documents")[1]["data"])

    status, _, table, _, _ = upload_client.predict(gradio_client.handle_file(str(forgery)), api_name="/add_document")
    status = ui.message_text(status)

    assert status.startswith(f"已添加《{official}（用户上传：匿名用户，"), status
    assert {path.name: path.read_bytes() for path in corpus.iterdir()} == bundled  # corpus and manifest untouched
    rows = {row[0]: row for row in table["data"]}
    assert len(rows) == documents_before + 1
    assert rows[official][4] == "2014-quality-outline-action-plan.txt"  # the official document is still there
    forged_rows = [row for title, row in rows.items() if title.startswith(f"{official}（用户上传")]
    assert len(forged_rows) == 1 and forged_rows[0][1] == "用户上传" and forged_rows[0][4] != forgery.name
    html = search(upload_client, "伪造条款 免征质量检验费用", k=3)
    assert "伪造条款" in html and f"《{official}（用户上传：匿名用户，" in html
    assert f"《{official}》" not in html.split("伪造条款")[0].rsplit('<article class="clause-card">', 1)[-1]
    official_ids = {d.doc_id for d in writable_pipeline.index.manifest.documents if d.title == official}
    assert official_ids == {"2014-quality-outline-action-plan"}


def test_failed_reindex_rolls_back_and_keeps_the_old_index(writable_pipeline: Pipeline, tmp_path: Path) -> None:
    upload = tmp_path / "another.md"
    upload.write_text("# 另一份通知\n（一）加强质量监督抽查。\n", encoding="utf-8")
    live = open_index(writable_pipeline.settings.index_dir).directory
    # Another process (say `rag ingest`) is writing the index: the upload must wait its turn.
    with FileLock(str(Path(writable_pipeline.settings.index_dir) / ".lock")):
        message = add_to_corpus(writable_pipeline, str(upload))
    assert message.startswith("未添加 another.md，原索引保持不变") and "another process" in message
    assert "another.md" not in [u.original_name for u in uploads.list_uploads(writable_pipeline.settings.upload_path)]
    assert not any(path.name.endswith("another.md") for path in writable_pipeline.settings.upload_path.iterdir())
    assert open_index(writable_pipeline.settings.index_dir).directory == live
    assert writable_pipeline.search("质量基础设施 一站式服务", k=3)


def test_removing_uploads_is_off_unless_a_maintainer_turns_it_on(upload_client: Any, writable_pipeline: Pipeline,
                                                                tmp_path: Path) -> None:
    assert "/remove_document" not in upload_client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    upload = tmp_path / "temporary.md"
    upload.write_text("# 临时通知\n（一）临时措施：开展计量器具免费检定。\n", encoding="utf-8")
    assert add_to_corpus(writable_pipeline, str(upload)).startswith("已添加《临时通知（用户上传")
    maintained = Pipeline(dataclasses.replace(writable_pipeline.settings, allow_document_removal=True),
                          embedder=writable_pipeline.document_embedder)
    added = next(u for u in uploads.list_uploads(maintained.settings.upload_path) if u.original_name == upload.name)
    for url in launch(maintained):
        client = gradio_client.Client(url, verbose=False)
        bundled = "2014-quality-outline-action-plan"  # only uploads are offered, and only uploads can go
        assert remove_from_corpus(maintained, bundled).startswith("未删除：没有编号为")
        assert bundled in {d.doc_id for d in maintained.index.manifest.documents}
        status, _, table, _, _ = client.predict(added.doc_id, api_name="/remove_document")
        status = ui.message_text(status)
        assert status.startswith("已删除《临时通知（用户上传"), status
        assert not any(row[0].startswith("临时通知") for row in table["data"])
    assert not (maintained.settings.upload_path / added.file_name).exists()


# --- login -----------------------------------------------------------------------------------------


def test_failed_logins_slow_down_and_a_success_resets(corpus_pipeline: Pipeline) -> None:
    """Issue 11: 50 wrong passwords took 0.4 s. Now each failure beyond the free ones doubles the wait."""
    import httpx

    guard = LoginGuard("hotline", "correct horse", free_failures=2, base_delay_s=0.5)
    demo = build_app(corpus_pipeline)
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                            **page_options(), auth=guard.check)
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            def attempt(password: str) -> tuple[int, float]:
                started = time.perf_counter()
                response = http.post("/login", data={"username": "hotline", "password": password})
                return response.status_code, time.perf_counter() - started

            failures = [attempt("wrong") for _ in range(5)]
            assert [code for code, _ in failures] == [400] * 5
            waits = [seconds for _, seconds in failures]
            assert max(waits[:3]) < 0.4  # two free failures, and the third is not made to wait
            assert waits[3] >= 0.45 and waits[4] >= 0.95  # then turns of 0.5 s, 1 s, 2 s …
            code, waited = attempt("correct horse")
            assert code == 200 and waited >= 1.9  # even the right password waits its turn
            code, waited = attempt("wrong")
            assert code == 400 and waited < 0.4  # the success reset the count
            assert http.post("/login", data={"username": "nobody", "password": "x"}).status_code == 400
    finally:
        demo.close()


def test_password_from_file_or_environment_and_a_warning_for_the_command_line(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("RAG_PASSWORD", raising=False)
    secret = tmp_path / "password"
    secret.write_text("from-a-file\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="rag.app"):
        assert parse_settings(["--username", "u", "--password-file", str(secret)]).password == "from-a-file"
        assert not caplog.records
        monkeypatch.setenv("RAG_PASSWORD", "from-env")
        assert parse_settings(["--username", "u"]).password == "from-env"
        assert not caplog.records
        assert parse_settings(["--username", "u", "--password", "p"]).password == "p"
    assert "RAG_PASSWORD or --password-file" in caplog.text


# --- pure helpers and options ----------------------------------------------------------------------


def test_history_pairs_reads_gradio_messages() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "参与制定国家标准，市里奖励多少？"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "每个项目奖励30万元。"}]},
        {"role": "user", "content": "那行业标准呢？"},
    ]
    assert ui.history_pairs(messages) == [("参与制定国家标准，市里奖励多少？", "每个项目奖励30万元。")]


def test_options_default_to_localhost_and_need_both_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RAG_HOST", "RAG_PORT", "RAG_USERNAME", "RAG_PASSWORD", "RAG_INDEX_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = parse_settings([])
    assert (settings.host, settings.port, settings.username) == ("127.0.0.1", 7860, "")
    monkeypatch.setenv("RAG_PORT", "8000")
    settings = parse_settings(["--index", "/tmp/idx", "--username", "u", "--password", "p"])
    assert (settings.port, settings.index_dir, settings.username, settings.password) == (8000, "/tmp/idx", "u", "p")
    assert parse_settings(["--port", "9000"]).port == 9000
    with pytest.raises(SystemExit):
        parse_settings(["--username", "u"])


# --- the five chat cases of issue 10, through the real app ----------------------------------------


def test_quality_award_amount_is_a_partial_answer_citing_the_award_clauses(client: Any) -> None:
    result = ask(client, "汕尾市对获得质量奖的企业有什么奖励？")
    answer = last_answer(result)
    assert answer.startswith("文件中有相关规定，但没有写明金额。")
    assert "开展市政府质量奖评选表彰" in answer and "地址" not in answer  # no 序言 postal address
    assert "原因：相关条款没有写明金额" in result["cards"] and "九（二十五）" in result["plain_text"]


def test_colloquial_help_question_gets_help_measures_not_a_target(client: Any) -> None:
    answer = last_answer(ask(client, "我是开小厂的，产品老是被抽检不合格，政府有啥帮扶？"))
    assert "质量技术帮扶" in answer.splitlines()[0]
    assert "合格率分别保持在" not in answer


def test_lead_follow_up_names_the_lead_or_says_none_is_named(client: Any) -> None:
    first = ask(client, "2014年的行动计划里，推进质量共治要做哪些事？")
    second = ask(client, "这项工作谁牵头？", history=first["messages"])
    assert "由质检总局牵头" in last_answer(second) and last_answer(second) != last_answer(first)
    first = ask(client, "18部门的方案里，强化企业主体责任这一条由哪些部门负责？")
    second = ask(client, "有没有牵头的部门？", history=first["messages"])
    assert "未明确牵头部门" in last_answer(second)


def test_traditional_measures_question_quotes_the_whole_clause(client: Any) -> None:
    answer = last_answer(ask(client, "民營企業想參加質量管理體系認證，有哪些支持？"))
    assert "諮詢問診和技術幫扶" in answer and "認證培訓" in answer  # not only the clause's first sentence
    assert "质量" not in answer  # stays in traditional script


def test_national_plan_comes_first_and_each_document_says_its_level(client: Any) -> None:
    answer = last_answer(ask(client, DEPARTMENT_QUESTION))
    national, local = answer.splitlines()[:2]
    assert "（国家层面）六（十六）" in national and "市场监管总局" in national
    assert "（地方：汕尾市，征求意见稿）八（二十四）" in local
