"""The HTTP API, served for real by uvicorn with the chat mounted beside it, called over HTTP with httpx.

The server is app.py's own `build_server` over the real corpus index and the real model; each server gets
its own feedback file.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner

from app import build_server
from rag import uploads
from rag.clause_store import SearchFilters
from rag.cli import main as rag_cli
from rag.config import Settings, load_settings
from rag.pipeline import Pipeline
from rag.shapes import answer_record, hit_record, relative_sources, source_line
from tests.test_app import GRADIO_INTERNAL_WARNINGS, free_port

pytestmark = GRADIO_INTERNAL_WARNINGS

DEPARTMENT_QUESTION = "哪些部门负责质量基础设施一站式服务？"
UNANSWERABLE = "个人所得税起征点现在是多少？"
CITY = "city-product-quality-implementation-opinion"
CITY_TITLE = "关于全面提升产品质量的实施意见"
PLAN_2022 = "2022-18-departments-quality-improvement"
SHANWEI = "2023-shanwei-quality-strong-city-opinion"


@contextmanager
def serving(pipeline: Pipeline) -> Iterator[str]:
    """app.py's server (API + chat) on a free port, in a thread; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(build_server(pipeline), host="127.0.0.1", port=free_port(),
                                           log_level="warning", timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(30)


def pipeline_with(settings: Settings, embedder: Any, **overrides: Any) -> Pipeline:
    return Pipeline(dataclasses.replace(settings, **overrides), embedder=embedder)


@pytest.fixture(scope="module")
def feedback_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feedback") / "feedback.sqlite"


@pytest.fixture(scope="module")
def pipeline(corpus_settings_fixture: Settings, default_embedder: Any, feedback_file: Path) -> Pipeline:
    return pipeline_with(corpus_settings_fixture, default_embedder, feedback_file=str(feedback_file))


@pytest.fixture(scope="module")
def api(pipeline: Pipeline) -> Iterator[httpx.Client]:
    with serving(pipeline) as url, httpx.Client(base_url=url, timeout=120) as client:
        yield client


def test_ask_answers_what_rag_ask_json_prints(api: httpx.Client, pipeline: Pipeline, corpus_index_dir: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    response = api.post("/api/ask", json={"question": DEPARTMENT_QUESTION, "k": 5})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    record = response.json()
    assert record == answer_record(pipeline.ask(DEPARTMENT_QUESTION, k=5),
                                   source=relative_sources(pipeline.settings.corpus_paths))
    assert record["outcome"] == "answered" and f"{PLAN_2022}#六（十六）" in [c["id"] for c in record["citations"]]
    assert int(response.headers["X-Answer-Id"]) >= 1
    printed = CliRunner().invoke(rag_cli, ["ask", DEPARTMENT_QUESTION, "--k", "5", "--index", str(corpus_index_dir),
                                           "--json"])
    cli_record = json.loads(printed.output)
    assert list(cli_record) == list(record) and list(cli_record["citations"][0]) == list(record["citations"][0])
    assert [c["id"] for c in cli_record["citations"]] == [c["id"] for c in record["citations"]]
    # The CLI prints the path the index was built from; the API only the file's place in the corpus.
    served, printed_source = record["citations"][0]["source"], cli_record["citations"][0]["source"]
    assert served == f"{PLAN_2022}.txt" and printed_source == str(pipeline.settings.corpus_paths[0]) + "/" + served


def test_follow_up_uses_the_history_as_pairs_or_messages(api: httpx.Client) -> None:
    first = "质量基础设施一站式服务由哪些部门负责？"
    follow_up = "那牵头的是哪个部门？"
    alone = api.post("/api/ask", json={"question": follow_up})
    pairs = api.post("/api/ask", json={"question": follow_up, "history": [[first, "……"]]}).json()
    messages = api.post("/api/ask", json={"question": follow_up, "history": [
        {"role": "user", "content": first}, {"role": "assistant", "content": "……"}]}).json()
    assert pairs == messages
    assert pairs["citations"][0]["id"] == f"{SHANWEI}#八（二十四）" and "市市场监管局牵头" in pairs["answer"]
    # Without the history it asks about nothing: a clear message, not a guess.
    assert alone.status_code == 422 and "没有问的是哪件事" in alone.json()["error"]


def test_search_answers_what_rag_search_json_prints(api: httpx.Client, pipeline: Pipeline) -> None:
    body = api.post("/api/search", json={"query": "计量服务 中小企业", "k": 3, "mode": "lexical"}).json()
    hits = pipeline.search("计量服务 中小企业", k=3, mode="lexical")
    public = relative_sources(pipeline.settings.corpus_paths)
    assert body == {"query": "计量服务 中小企业", "hits": [hit_record(hit, source=public) for hit in hits]}
    only = api.post("/api/search", json={"query": "质量奖", "documents": [SHANWEI], "department": "市市场监管局"}).json()
    assert only["hits"] and {hit["doc_id"] for hit in only["hits"]} == {SHANWEI}
    assert all("市市场监管局" in hit["departments"] for hit in only["hits"])


def test_documents_and_health(api: httpx.Client, pipeline: Pipeline) -> None:
    documents = api.get("/api/documents").json()["documents"]
    assert sorted(d["doc_id"] for d in documents) == sorted(d.doc_id for d in pipeline.index.manifest.documents)
    city = next(d for d in documents if d["doc_id"] == CITY)
    assert city["title"] == CITY_TITLE and city["clauses"] > 0 and "/" not in city["source"]
    health = api.get("/api/health").json()
    assert health == {"status": "ok", "index_version": pipeline.index.manifest.version,
                      "built_at": pipeline.index.manifest.built_at, "documents": len(documents),
                      "clauses": pipeline.index.manifest.clauses, "model": "multilingual-e5-small-tuned",
                      "answers": "extractive"}


def test_sources_are_paths_under_the_corpus_never_the_servers(tmp_path: Path, default_embedder: Any) -> None:
    """A file in a corpus subfolder shows as "laws/…", an upload as its stored name: nothing of tmp_path."""
    (tmp_path / "corpus" / "laws").mkdir(parents=True)
    (tmp_path / "corpus" / "laws" / "计量法.txt").write_text(
        "计量法\n第一条 为了加强计量监督管理，保障国家计量单位制的统一和量值的准确可靠，制定本法。\n", encoding="utf-8")
    (tmp_path / "corpus" / "notice.txt").write_text(
        "关于质量月的通知\n一、活动时间\n（一）每年九月为全国质量月，各地集中开展质量宣传活动。\n", encoding="utf-8")
    settings = load_settings(index_dir=str(tmp_path / "index"), corpus_paths=(str(tmp_path / "corpus"),),
                             feedback_file=str(tmp_path / "feedback.sqlite"))
    handed_in = tmp_path / "handed-in" / "标准奖励.txt"
    handed_in.parent.mkdir()
    handed_in.write_text("关于标准奖励的说明\n一、奖励\n（一）主导制定国家标准的，每项奖励30万元。\n", encoding="utf-8")
    upload = uploads.add_upload(handed_in, settings.upload_path, title="关于标准奖励的说明", uploaded_by="hotline")
    pipeline = Pipeline(settings, embedder=default_embedder)
    pipeline.ingest()
    with serving(pipeline) as url, httpx.Client(base_url=url, timeout=120) as client:
        documents = {d["doc_id"]: d["source"] for d in client.get("/api/documents").json()["documents"]}
        hits = client.post("/api/search", json={"query": "计量 质量月 标准奖励", "k": 10, "mode": "lexical"}).json()["hits"]
        answer = client.post("/api/ask", json={"question": "全国质量月是几月？"}).json()
    assert sorted(documents.values()) == sorted(["laws/计量法.txt", "notice.txt", upload.file_name])
    assert {hit["doc_id"]: hit["source"] for hit in hits} == documents  # every document found, each as listed
    shown = [c["source"] for c in (*answer["citations"], *answer["related"])]  # cited, or related when declined
    assert "notice.txt" in shown and set(shown) <= set(documents.values())
    assert str(tmp_path) not in json.dumps([documents, hits, answer], ensure_ascii=False)


def test_openapi_docs_and_the_chat_share_the_port(api: httpx.Client) -> None:
    schema = api.get("/openapi.json").json()
    assert {"/api/ask", "/api/search", "/api/documents", "/api/health", "/api/feedback", "/api/export"} <= set(
        schema["paths"])
    assert api.get("/docs").status_code == 200
    page = api.get("/")
    assert page.status_code == 200 and "政策文件问答" in page.text  # the chat's page, its title in the config


@pytest.mark.parametrize(("method", "path", "content", "status", "message"), [
    ("POST", "/api/ask", '{"question": ', 400, "不是有效的 JSON"),
    ("POST", "/api/ask", '["哪些部门"]', 400, "请求体应为 JSON 对象"),
    ("POST", "/api/ask", "{}", 422, "缺少字段 question"),
    ("POST", "/api/ask", '{"question": 42}', 422, "question 应为文本"),
    ("POST", "/api/ask", '{"question": "  "}', 422, "问题是空的"),
    ("POST", "/api/ask", '{"question": "？？？"}', 422, "问题是空的"),
    ("POST", "/api/ask", json.dumps({"question": "质" * 2_001}), 422, "问题太长（2001 字，上限 2000 字）"),
    ("POST", "/api/ask", '{"question": "质量月", "k": 0}', 422, "k 不能小于 1"),
    ("POST", "/api/ask", '{"question": "质量月", "k": "many"}', 422, "k 应为整数"),
    ("POST", "/api/ask", '{"question": "质量月", "mode": "fuzzy"}', 422, "mode 只能是 hybrid、dense、lexical"),
    ("POST", "/api/ask", '{"question": "质量月", "history": "上一个问题"}', 422, "history 应为 [["),
    ("POST", "/api/ask", '{"question": "质量月", "questoin": "拼错"}', 422, "不认识的字段 questoin"),
    ("POST", "/api/search", '{"q": "质量月"}', 422, "缺少字段 query"),
    ("POST", "/api/feedback", '{"rating": 5, "question": "质量月"}', 422, "rating 只能是 1、-1"),
    ("POST", "/api/feedback", '{"rating": 1}', 422, "缺少字段 question（或 answer_id）"),
    ("POST", "/api/feedback", '{"rating": 1, "answer_id": 999999}', 404, "找不到编号为 999999 的回答"),
    ("POST", "/api/feedback", '{"rating": 1, "answer_id": 9007199254740992}', 422, "answer_id 不能大于 9007199254740991"),
    ("POST", "/api/feedback", '{"rating": 1, "question": "q", "citations": [5]}', 422, "citations 应为条款编号的列表"),
    ("POST", "/api/export", '{"format": "xml", "history": [["问", "答"]]}', 422, "format 只能是 md、csv"),
    ("POST", "/api/export", "{}", 422, "对话是空的"),
    ("GET", "/api/ask", None, 405, "这个接口不接受 GET 请求（可用：POST）"),
    ("DELETE", "/api/documents", None, 405, "不接受 DELETE 请求（可用：GET"),
    ("GET", "/api/answers", None, 404, "没有这个接口：/api/answers"),
    ("POST", "/api/ask", json.dumps({"question": "质量月", "history": [["问", "答" * 1_000_000]]}), 413, "请求体太大"),
])  # fmt: skip
def test_bad_requests_get_a_chinese_json_error(api: httpx.Client, method: str, path: str, content: str | None,
                                               status: int, message: str) -> None:
    response = api.request(method, path, content=content, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert message in response.json()["error"] and "Traceback" not in response.text


def test_feedback_is_stored_with_its_answer_and_resolved_source(api: httpx.Client, pipeline: Pipeline,
                                                                feedback_file: Path) -> None:
    asked = api.post("/api/ask", json={"question": "参与制定国家标准，市里奖励多少？"})
    record = asked.json()
    # A client sends the ask response back with its rating; the wrong answer names the right clause.
    wrong = api.post("/api/feedback", json={**record, "rating": -1, "comment": "应看市级意见",
                                            "correct_source": f"正确的出处是《{CITY_TITLE}》一（二）"})
    assert wrong.status_code == 201 and wrong.json()["correct_ids"] == [f"{CITY}#一（二）"]
    good = api.post("/api/feedback", json={"answer_id": int(asked.headers["X-Answer-Id"]), "rating": 1})
    assert good.status_code == 201
    with sqlite3.connect(feedback_file) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = db.execute("SELECT asked_id, question, answer, citations, outcome, mode, index_version, rating, "
                          "correct_ids, comment FROM feedback ORDER BY id DESC LIMIT 2").fetchall()
    by_id, by_record = rows
    assert by_id[0] == int(asked.headers["X-Answer-Id"]) and by_record[0] is None
    for row in rows:
        assert row[1:3] == (record["question"], record["answer"]) and row[4:7] == (
            record["outcome"], "extractive", pipeline.index.manifest.version)
        assert json.loads(row[3]) == [c["id"] for c in record["citations"]]
    assert (by_record[7], json.loads(by_record[8]), by_record[9]) == (-1, [f"{CITY}#一（二）"], "应看市级意见")
    assert by_id[7] == 1


def test_export_lists_each_answer_with_its_sources(api: httpx.Client, pipeline: Pipeline) -> None:
    turns = [api.post("/api/ask", json={"question": q}).json() for q in (DEPARTMENT_QUESTION, UNANSWERABLE)]
    markdown = api.post("/api/export", json={"turns": turns})
    assert markdown.status_code == 200 and markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.headers["content-disposition"].startswith('attachment; filename="conversation-')
    cited = turns[0]["citations"][0]["id"]
    clause = next(c for c in pipeline.index.clauses_matching(SearchFilters()) if c.clause_id == cited)
    assert f"## 1. 问：{DEPARTMENT_QUESTION}" in markdown.text and f"- [1] {source_line(clause)}" in markdown.text
    assert f"## 2. 问：{UNANSWERABLE}" in markdown.text and "结果：未找到依据" in markdown.text
    table = api.post("/api/export", json={"turns": turns, "format": "csv"})
    assert table.headers["content-type"].startswith("text/csv") and table.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(table.text.lstrip("\ufeff"))))
    assert rows[0] == ["序号", "时间", "问题", "回答", "结果", "出处"] and len(rows) == 3
    assert rows[1][2] == DEPARTMENT_QUESTION and rows[1][4] == "已回答"
    assert rows[1][5].splitlines()[0] == f"[1] {source_line(clause)}"
    text_only = api.post("/api/export", json={"history": [[DEPARTMENT_QUESTION, "……"]]})
    assert f"## 1. 问：{DEPARTMENT_QUESTION}" in text_only.text and "出处" not in text_only.text


def test_declined_questions_and_ratings_survive_a_restart_and_export_as_an_eval_set(
        corpus_settings_fixture: Settings, default_embedder: Any, corpus_index_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    feedback_file = tmp_path / "feedback.sqlite"
    with serving(pipeline_with(corpus_settings_fixture, default_embedder, feedback_file=str(feedback_file))) as url:
        for _ in range(2):
            assert httpx.post(f"{url}/api/ask", json={"question": UNANSWERABLE}, timeout=60).json()["found"] is False
        answered = httpx.post(f"{url}/api/ask", json={"question": DEPARTMENT_QUESTION}, timeout=60).json()
        httpx.post(f"{url}/api/feedback", json={**answered, "rating": 1}, timeout=60).raise_for_status()
    with serving(pipeline_with(corpus_settings_fixture, default_embedder, feedback_file=str(feedback_file))) as url:
        fixed = httpx.post(f"{url}/api/ask", json={"question": "参与制定国家标准，市里奖励多少？"}, timeout=60).json()
        httpx.post(f"{url}/api/feedback", json={**fixed, "rating": -1, "correct_source": f"{CITY}#一（二）"},
                   timeout=60).raise_for_status()
        httpx.post(f"{url}/api/feedback", json={**fixed, "rating": -1, "question": "质量月是几月？"},
                   timeout=60).raise_for_status()  # no source named: left for a person

    out = tmp_path / "export"
    result = CliRunner().invoke(rag_cli, ["feedback", "export", "--out", str(out), "--feedback-file", str(feedback_file)])
    assert result.exit_code == 0, result.output
    assert "2 candidate questions" in result.output and "1 from corrected sources, 1 from 👍" in result.output
    assert (out / "declined.txt").read_text(encoding="utf-8") == f"2\t{UNANSWERABLE}\n"
    queries = [json.loads(line) for line in (out / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(q["text"], q["metadata"]["style"]) for q in queries] == [
        (DEPARTMENT_QUESTION, "department"), ("参与制定国家标准，市里奖励多少？", "numeric")]
    qrels = (out / "qrels.tsv").read_text(encoding="utf-8").splitlines()
    assert qrels[0] == "query-id\tcorpus-id\tscore" and f"fb0002\t{CITY}#一（二）\t2" in qrels
    assert f"fb0001\t{answered['citations'][0]['id']}\t2" in qrels
    assert "质量月是几月？" in (out / "unresolved.tsv").read_text(encoding="utf-8")

    evaluated = CliRunner().invoke(rag_cli, ["eval", "--set", str(out), "--index", str(corpus_index_dir), "--mode",
                                             "lexical", "--json", "--out", str(tmp_path / "run")])
    assert evaluated.exit_code == 0, evaluated.output
    run = json.loads(evaluated.stdout)
    assert (run["n_questions"], run["n_scored"], run["style_counts"]) == (2, 2, {"department": 1, "numeric": 1})
    assert run["metrics"]["lexical"]["recall@10"] > 0


def test_login_protects_the_api_with_a_token_or_the_chat_password(corpus_settings_fixture: Settings,
                                                                  default_embedder: Any, tmp_path: Path) -> None:
    protected = pipeline_with(corpus_settings_fixture, default_embedder, feedback_file=str(tmp_path / "f.sqlite"),
                              username="hotline", password="correct horse", api_token="token-123")
    with serving(protected) as url, httpx.Client(base_url=url, timeout=60) as client:
        refused = client.post("/api/search", json={"query": "质量月"})
        assert refused.status_code == 401 and "Bearer" in refused.headers["www-authenticate"]
        assert "需要登录" in refused.json()["error"]
        for header in ("Bearer wrong", "Basic " + base64.b64encode(b"hotline:wrong").decode(), "Basic !!!", "Token x"):
            assert client.post("/api/search", json={"query": "质量月"}, headers={"Authorization": header}
                               ).status_code == 401, header
        for header in ("Bearer token-123", "Basic " + base64.b64encode(b"hotline:correct horse").decode()):
            assert client.post("/api/search", json={"query": "质量月"}, headers={"Authorization": header}
                               ).status_code == 200, header
        assert client.get("/api/documents").status_code == 401
        assert client.get("/api/health").status_code == 200  # monitoring needs no login
        assert client.get("/api/nope", headers={"Authorization": "Bearer token-123"}).status_code == 404
        # The chat asks for the same login: its config is refused until one logs in.
        assert client.get("/config").status_code == 401
        login = client.post("/login", data={"username": "hotline", "password": "correct horse"})
        assert login.status_code == 200 and client.get("/config").status_code == 200
