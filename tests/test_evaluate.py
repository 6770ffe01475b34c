"""The eval harness end to end on a tiny hand-written set: loading, scoring, reports, `rag eval`.

Searches go through KeywordSearcher, a deterministic searcher over four clauses that follows
the rag.pipeline searcher protocol (`search(query, *, k, mode) -> list[Hit]`).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.cli_eval import eval_command, make_eval_command, search_function, settings_record
from rag.config import Settings
from rag.errors import RagError
from rag.eval_report import compare_runs, load_run, plot_styles, run_to_dict, write_run
from rag.evaluate import (
    EvalError,
    EvalResult,
    EvalSet,
    Miss,
    evaluate,
    load_eval_set,
    run_retrieval,
    score_retrieval,
)
from rag.schema import Clause, Hit

LOG2_3 = math.log2(3)

# clause id → keywords; a clause matches a question that contains its keywords.
KEYWORDS = {
    "doc#1": ("质量", "标准"),
    "doc#2": ("标准", "认证"),
    "doc#3": ("认证", "检测"),
    "doc#4": ("品牌",),
}

QUERIES: list[dict[str, Any]] = [
    {
        "_id": "q1",
        "text": "质量标准怎么定",
        "metadata": {"style": "keyword", "split": "test", "set": "policy"},
    },
    {
        "_id": "q2",
        "text": "认证检测机构",
        "metadata": {"style": "colloquial", "split": "test", "set": "policy"},
    },
    {
        "_id": "q3",
        "text": "品牌建设由谁负责",
        "metadata": {
            "style": "department",
            "split": "test",
            "set": "policy",
            "departments": ["市场监管总局"],
        },
    },
    {
        "_id": "q4",
        "text": "火星移民政策",
        "metadata": {"style": "unanswerable", "split": "test", "set": "policy"},
    },
    {"_id": "q5", "text": "标准", "metadata": {"style": "keyword", "split": "dev", "set": "policy"}},
]
QRELS = "query-id\tcorpus-id\tscore\nq1\tdoc#1\t2\nq1\tdoc#2\t1\nq2\tdoc#3\t2\nq3\tdoc#4\t1\nq5\tdoc#2\t1\n"


def _clause(clause_id: str) -> Clause:
    return Clause(
        clause_id=clause_id, doc_id=clause_id.split("#")[0], doc_title="测试", kind="clause", chapter="",
        label="", title="", text="、".join(KEYWORDS[clause_id]), start=0, end=5, source="test.txt",
    )  # fmt: skip


class KeywordSearcher:
    """Ranks clauses by how many of their keywords the question contains, ties by id.

    Modes in `reversed_modes` return that ranking reversed: a deliberately worse retriever
    whose scores are easy to compute by hand. Every call is recorded.
    """

    def __init__(self, reversed_modes: Collection[str] = ("dense",)) -> None:
        self.reversed_modes = set(reversed_modes)
        self.calls: list[tuple[str, int, str]] = []

    def ids(self, query: str, k: int, mode: str) -> list[str]:
        self.calls.append((query, k, mode))
        matches = {cid: sum(word in query for word in words) for cid, words in KEYWORDS.items()}
        ranked = sorted((cid for cid, n in matches.items() if n), key=lambda cid: (-matches[cid], cid))
        if mode in self.reversed_modes:
            ranked.reverse()
        return ranked[:k]

    def search(self, query: str, *, k: int, mode: str) -> list[Hit]:
        ranked = self.ids(query, k, mode)
        return [Hit(_clause(cid), 1.0 / rank, rank) for rank, cid in enumerate(ranked, start=1)]


def write_set(directory: Path, queries: str | bytes | None, qrels: str | None = QRELS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(queries, bytes):
        (directory / "queries.jsonl").write_bytes(queries)
    elif queries is not None:
        (directory / "queries.jsonl").write_text(queries, encoding="utf-8")
    if qrels is not None:
        (directory / "qrels.tsv").write_text(qrels, encoding="utf-8")
    return directory


def jsonl(records: Sequence[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


@pytest.fixture
def eval_dir(tmp_path: Path) -> Path:
    return write_set(tmp_path / "eval" / "policy", jsonl(QUERIES))


@pytest.fixture
def result(eval_dir: Path) -> EvalResult:
    return evaluate(
        load_eval_set(eval_dir), KeywordSearcher().ids, modes=["lexical", "dense"], ks=[1, 2], split="test"
    )


# --- loading ---------------------------------------------------------------------------------


def test_load_eval_set(eval_dir: Path) -> None:
    eval_set = load_eval_set(eval_dir)
    assert eval_set.name == "policy"
    assert [q.query_id for q in eval_set.queries] == ["q1", "q2", "q3", "q4", "q5"]
    assert eval_set.queries[2].departments == ("市场监管总局",)
    assert eval_set.qrels["q1"] == {"doc#1": 2, "doc#2": 1}
    assert "q4" not in eval_set.qrels
    assert eval_set.answerable_ids() == {"q1", "q2", "q3", "q5"}
    assert [q.query_id for q in eval_set.select("dev")] == ["q5"]
    assert len(eval_set.select("all")) == 5


BASE: list[dict[str, Any]] = [
    {"_id": "q1", "text": "质量", "metadata": {"style": "keyword", "split": "test"}},
    {"_id": "q2", "text": "火星", "metadata": {"style": "unanswerable", "split": "test"}},
]
BASE_QRELS = "query-id\tcorpus-id\tscore\nq1\tdoc#1\t1\n"


def _with(**metadata: object) -> str:
    return jsonl([{**BASE[0], "metadata": {**BASE[0]["metadata"], **metadata}}, BASE[1]])


BAD_SETS = {
    "missing-queries": (None, BASE_QRELS, "queries.jsonl not found"),
    "missing-qrels": (jsonl(BASE), None, "qrels.tsv not found"),
    "bad-json": (jsonl(BASE[:1]) + '{"_id": "q2",\n', BASE_QRELS, "queries.jsonl:2: not valid JSON"),
    "not-an-object": ('["q1"]\n', BASE_QRELS, "expected a JSON object"),
    "no-id": (
        jsonl([{"text": "质量", "metadata": BASE[0]["metadata"]}]),
        BASE_QRELS,
        'missing or empty "_id"',
    ),
    "no-text": (jsonl([{"_id": "q1", "metadata": BASE[0]["metadata"]}]), BASE_QRELS, 'has no "text"'),
    "bad-style": (_with(style="chatty"), BASE_QRELS, "metadata.style must be one of"),
    "bad-split": (_with(split="train"), BASE_QRELS, "metadata.split must be one of"),
    "bad-departments": (_with(departments="商务部"), BASE_QRELS, "departments must be a list"),
    "bad-answer-contains": (_with(answer_contains=["30万元", ""]), BASE_QRELS, "answer_contains must be a list"),
    "duplicate-id": (jsonl([BASE[0], BASE[0]]), BASE_QRELS, "queries.jsonl:2: duplicate _id 'q1'"),
    "no-questions": ("\n", BASE_QRELS, "holds no questions"),
    "no-header": (jsonl(BASE), "q1\tdoc#1\t1\n", "first line must be the header"),
    "short-row": (jsonl(BASE), BASE_QRELS + "q1\tdoc#2\n", "qrels.tsv:3: expected 3 tab-separated columns"),
    "score-not-int": (jsonl(BASE), BASE_QRELS + "q1\tdoc#2\thigh\n", "score must be an integer"),
    "duplicate-row": (jsonl(BASE), BASE_QRELS + "q1\tdoc#1\t2\n", "duplicate row for q1 / doc#1"),
    "unknown-query": (jsonl(BASE), BASE_QRELS + "q9\tdoc#1\t1\n", "1 query ids not in queries.jsonl"),
    "unanswerable-judged": (jsonl(BASE), BASE_QRELS + "q2\tdoc#1\t1\n", "at least one): ['q2']"),
    "answerable-unjudged": (jsonl(BASE), "query-id\tcorpus-id\tscore\n", "at least one): ['q1']"),
    "not-utf8": (jsonl(BASE).encode("gbk"), BASE_QRELS, "is not UTF-8"),
}


@pytest.mark.parametrize(("queries", "qrels", "message"), BAD_SETS.values(), ids=BAD_SETS.keys())
def test_load_eval_set_rejects_malformed_sets(
    tmp_path: Path, queries: str | bytes | None, qrels: str | None, message: str
) -> None:
    with pytest.raises(EvalError, match=re.escape(message)) as raised:
        load_eval_set(write_set(tmp_path / "bad", queries, qrels))
    assert isinstance(raised.value, RagError)


def test_load_eval_set_rejects_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match="is not a directory"):
        load_eval_set(tmp_path / "nowhere")


def test_grade_zero_rows_keep_a_question_unanswerable(tmp_path: Path) -> None:
    eval_set = load_eval_set(write_set(tmp_path / "set", jsonl(BASE), BASE_QRELS + "q2\tdoc#1\t0\n"))
    assert eval_set.answerable_ids() == {"q1"}


# --- harness ---------------------------------------------------------------------------------


def test_evaluate_scores_each_mode(result: EvalResult) -> None:
    # Rankings (test split; dense is the keyword ranking reversed):
    #   q1 "质量标准怎么定" gold {doc#1:2, doc#2:1}   lexical [doc#1, doc#2]   dense [doc#2, doc#1]
    #   q2 "认证检测机构"   gold {doc#3:2}            lexical [doc#3, doc#2]   dense [doc#2, doc#3]
    #   q3 "品牌建设由谁负责" gold {doc#4:1}          lexical [doc#4]          dense [doc#4]
    #   q4 unanswerable: searched, left out of the means (3 scored questions)
    assert (result.n_questions, result.n_scored, result.n_unanswerable) == (4, 3, 1)
    assert list(result.style_counts.items()) == [
        ("colloquial", 1), ("keyword", 1), ("department", 1), ("unanswerable", 1),
    ]  # fmt: skip
    lexical, dense = result.modes
    assert lexical.metrics == pytest.approx(
        {
            "recall@1": (1 / 2 + 1 + 1) / 3,  # q1 finds 1 of 2 at rank 1 → 0.8333
            "recall@2": 1.0,
            "hit@1": 1.0, "hit@2": 1.0, "mrr@1": 1.0, "mrr@2": 1.0,
            "ndcg@1": 1.0,  # q1: gain 2 / ideal 2
            "ndcg@2": 1.0,  # every ranking is in ideal order
        }
    )  # fmt: skip
    # dense:
    #   q1: recall@1 1/2, hit@1 1, mrr 1, ndcg@1 = 1/2 (gain 1, ideal 2),
    #       ndcg@2 = (1 + 2/log2 3) / (2 + 1/log2 3) = 2.26186 / 2.63093 = 0.85972
    #   q2: recall@1 0, hit@1 0, mrr@1 0, mrr@2 1/2, ndcg@1 0, ndcg@2 = (2/log2 3) / 2 = 0.63093
    #   q3: all 1
    q1_ndcg2, q2_ndcg2 = (1 + 2 / LOG2_3) / (2 + 1 / LOG2_3), (2 / LOG2_3) / 2
    assert dense.metrics == pytest.approx(
        {
            "recall@1": (1 / 2 + 0 + 1) / 3,  # 0.5
            "recall@2": 1.0,
            "hit@1": (1 + 0 + 1) / 3,  # 0.6667
            "hit@2": 1.0,
            "mrr@1": (1 + 0 + 1) / 3,
            "mrr@2": (1 + 1 / 2 + 1) / 3,  # 0.8333
            "ndcg@1": (1 / 2 + 0 + 1) / 3,  # 0.5
            "ndcg@2": (q1_ndcg2 + q2_ndcg2 + 1) / 3,  # (0.85972 + 0.63093 + 1) / 3 = 0.83022
        }
    )
    assert dense.metrics["ndcg@2"] == pytest.approx(0.83022, abs=1e-5)
    assert list(dense.by_style) == ["colloquial", "keyword", "department"]  # no unanswerable
    assert dense.by_style["colloquial"]["recall@1"] == 0.0  # q2
    assert dense.by_style["keyword"]["recall@1"] == 0.5  # q1
    assert lexical.misses == ()
    assert dense.misses == (Miss("q2", "认证检测机构", "colloquial", ("doc#3",), ("doc#2", "doc#3")),)
    assert set(dense.latency_ms) == {"mean", "p50", "p95"}
    assert result.retrieval.runs["dense"]["q4"] == ()


def test_every_test_question_is_searched_once_per_mode(eval_dir: Path) -> None:
    searcher = KeywordSearcher()
    retrieval = run_retrieval(
        load_eval_set(eval_dir), searcher.ids, modes=["lexical", "dense"], k_max=2, split="test"
    )
    texts = [q["text"] for q in QUERIES[:4]]
    assert searcher.calls == [(t, 2, "lexical") for t in texts] + [(t, 2, "dense") for t in texts]
    assert set(retrieval.latency_ms["dense"]) == {"q1", "q2", "q3", "q4"}


def test_misses_include_partial_recall_with_gold_best_first(eval_dir: Path) -> None:
    # k=1 only: lexical q1 retrieves [doc#1] of gold {doc#1:2, doc#2:1} → recall@1 = 1/2 < 1.
    result = evaluate(load_eval_set(eval_dir), KeywordSearcher().ids, modes=["lexical"], ks=[1], split="test")
    assert result.modes[0].misses == (
        Miss("q1", "质量标准怎么定", "keyword", ("doc#1", "doc#2"), ("doc#1",)),
    )


def test_split_all_includes_dev(eval_dir: Path) -> None:
    result = evaluate(load_eval_set(eval_dir), KeywordSearcher().ids, modes=["lexical"], ks=[2], split="all")
    assert (result.n_questions, result.n_scored) == (5, 4)


def test_evaluate_leaves_the_eval_set_untouched(eval_dir: Path) -> None:
    eval_set = load_eval_set(eval_dir)
    before = copy.deepcopy(eval_set)
    evaluate(eval_set, KeywordSearcher().ids, modes=["dense"], ks=[1, 2], split="test")
    assert eval_set == before


def test_long_result_lists_are_cut_at_k_max(eval_dir: Path) -> None:
    retrieval = run_retrieval(
        load_eval_set(eval_dir),
        lambda q, k, m: ["doc#1", "doc#2", "doc#3"],
        modes=["x"],
        k_max=2,
        split="test",
    )
    assert retrieval.runs["x"]["q1"] == ("doc#1", "doc#2")


def test_harness_input_validation(eval_dir: Path) -> None:
    eval_set = load_eval_set(eval_dir)
    with pytest.raises(ValueError, match="distinct names"):
        run_retrieval(eval_set, KeywordSearcher().ids, modes=[], k_max=2, split="test")
    with pytest.raises(ValueError, match="distinct names"):
        run_retrieval(eval_set, KeywordSearcher().ids, modes=["dense", "dense"], k_max=2, split="test")
    with pytest.raises(ValueError, match="split must be one of"):
        run_retrieval(eval_set, KeywordSearcher().ids, modes=["dense"], k_max=2, split="train")
    with pytest.raises(ValueError, match="clause-id strings"):
        run_retrieval(eval_set, lambda q, k, m: [1, 2], modes=["dense"], k_max=2, split="test")  # type: ignore[list-item]
    retrieval = run_retrieval(eval_set, KeywordSearcher().ids, modes=["dense"], k_max=2, split="test")
    with pytest.raises(ValueError, match="exceeds the k_max=2"):
        score_retrieval(eval_set, retrieval, ks=[1, 5])


def test_a_split_without_questions_is_an_eval_error(tmp_path: Path) -> None:
    eval_set = load_eval_set(write_set(tmp_path / "set", jsonl(BASE), BASE_QRELS))
    with pytest.raises(EvalError, match="has no dev questions"):
        run_retrieval(eval_set, KeywordSearcher().ids, modes=["dense"], k_max=1, split="dev")


# --- reports -------------------------------------------------------------------------------


def _write(result: EvalResult, directory: Path) -> dict[str, object]:
    run = run_to_dict(result, settings={"top_k": 10}, created_at="2025-01-01T00:00:00Z", git_commit="abc123")
    write_run(run, directory)
    return run


def test_write_run_writes_json_markdown_and_png(result: EvalResult, tmp_path: Path) -> None:
    run = _write(result, tmp_path / "run")
    stored = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert stored == run == load_run(tmp_path / "run")
    assert stored["metrics"]["lexical"]["recall@1"] == pytest.approx(0.8333, abs=1e-4)
    assert stored["runs"]["dense"]["q2"] == ["doc#2", "doc#3"]
    assert stored["misses"]["dense"][0]["query_id"] == "q2"
    assert (stored["n_scored"], stored["n_unanswerable"], stored["git_commit"]) == (3, 1, "abc123")

    report = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "| metric | lexical | dense |" in report
    assert "| recall@1 | 0.833 | 0.500 |" in report
    assert "| hit@1 | 1.000 | 0.667 |" in report
    assert "| style | n | lexical | dense |" in report
    assert "| colloquial | 1 | 1.000 | 0.500 |" in report  # mrr@2 of q2: 1 vs 1/2
    assert "| unanswerable | 1 | — | — |" in report
    assert "**q2** [colloquial] 认证检测机构" in report
    assert "![recall@k](recall.png)" in report

    assert "![recall@k](recall.png) ![by style](styles.png)" in report  # the two charts side by side
    for chart in ("recall.png", "styles.png"):
        assert (tmp_path / "run" / chart).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_style_chart_has_a_bar_per_mode_and_style(result: EvalResult, tmp_path: Path) -> None:
    run = _write(result, tmp_path / "run")
    figure = plot_styles(run, tmp_path / "styles.png")
    recall, mrr = figure.axes  # recall@2 and mrr@2, answerable styles only (not "unanswerable")
    styles = ["colloquial", "keyword", "department"]
    assert [label.get_text() for label in mrr.get_xticklabels()] == [f"{style}\n(n=1)" for style in styles]
    heights = {axes: [bar.get_height() for bar in axes.patches] for axes in (recall, mrr)}
    # bars run mode by mode (lexical, dense), each over the styles in order
    by_style = run["by_style"]
    assert heights[mrr] == pytest.approx([by_style[m][s]["mrr@2"] for m in ("lexical", "dense") for s in styles])
    assert heights[mrr][0] == 1.0 and heights[mrr][3] == 0.5  # q2 (colloquial): lexical first, dense second
    assert heights[recall] == pytest.approx([by_style[m][s]["recall@2"] for m in ("lexical", "dense") for s in styles])


def test_compare_runs_reports_deltas(eval_dir: Path, tmp_path: Path) -> None:
    eval_set = load_eval_set(eval_dir)
    modes, ks = ["lexical", "dense"], [1, 2]
    # B fixes dense: it ranks like lexical, so dense recall@1 goes 0.500 → 0.833.
    before = evaluate(
        eval_set, KeywordSearcher(reversed_modes={"dense"}).ids, modes=modes, ks=ks, split="test"
    )
    after = evaluate(eval_set, KeywordSearcher(reversed_modes=set()).ids, modes=modes, ks=ks, split="test")
    _write(before, tmp_path / "a")
    _write(after, tmp_path / "b")
    table = compare_runs(tmp_path / "a", tmp_path / "b")
    assert "| metric | lexical (A → B, Δ) | dense (A → B, Δ) |" in table
    assert "| recall@1 | 0.833 → 0.833 (+0.000) | 0.500 → 0.833 (+0.333) |" in table
    assert "| hit@1 | 1.000 → 1.000 (+0.000) | 0.667 → 1.000 (+0.333) |" in table
    assert "warning" not in table


def test_compare_runs_warns_when_runs_differ_and_rejects_missing_runs(eval_dir: Path, tmp_path: Path) -> None:
    eval_set = load_eval_set(eval_dir)
    _write(evaluate(eval_set, KeywordSearcher().ids, modes=["dense"], ks=[1], split="test"), tmp_path / "a")
    _write(evaluate(eval_set, KeywordSearcher().ids, modes=["dense"], ks=[1], split="all"), tmp_path / "b")
    assert "warning: split differs (test vs all)" in compare_runs(tmp_path / "a", tmp_path / "b")
    with pytest.raises(EvalError, match="missing: no run.json there"):
        compare_runs(tmp_path / "a", tmp_path / "missing")


# --- CLI -------------------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, list[Settings]]:
    monkeypatch.chdir(tmp_path)  # no stray rag.toml
    monkeypatch.delenv("RAG_CONFIG", raising=False)
    monkeypatch.delenv("RAG_INDEX_DIR", raising=False)
    return CliRunner(), []


def _command(opened: list[Settings]):  # type: ignore[no-untyped-def]
    def open_searcher(settings: Settings) -> KeywordSearcher:
        opened.append(settings)
        return KeywordSearcher()

    return make_eval_command(open_searcher=open_searcher)


def test_cli_json_output(cli: tuple[CliRunner, list[Settings]], eval_dir: Path, tmp_path: Path) -> None:
    runner, opened = cli
    out = tmp_path / "runs" / "one"
    args = [
        "--set",
        str(eval_dir),
        "--k",
        "2,1",
        "--out",
        str(out),
        "--index",
        str(tmp_path / "idx"),
        "--json",
    ]
    result = runner.invoke(_command(opened), args)
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert run["modes"] == ["hybrid", "dense", "lexical"] and run["ks"] == [1, 2] and run["split"] == "test"
    # hybrid ranks like lexical: recall@1 = (1/2 + 1 + 1) / 3, as in test_evaluate_scores_each_mode
    assert run["metrics"]["hybrid"]["recall@1"] == pytest.approx(0.8333, abs=1e-4)
    assert run["metrics"]["dense"]["recall@1"] == pytest.approx(0.5)
    assert run["settings"]["index_dir"] == str(tmp_path / "idx") == opened[0].index_dir
    assert sorted(p.name for p in out.iterdir()) == ["recall.png", "report.md", "run.json", "styles.png"]


def test_cli_prints_a_table(cli: tuple[CliRunner, list[Settings]], eval_dir: Path, tmp_path: Path) -> None:
    runner, opened = cli
    result = runner.invoke(
        _command(opened), ["--set", str(eval_dir), "--mode", "lexical", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 0, result.output
    assert "policy (test): 4 questions, 3 scored, 1 unanswerable" in result.stdout
    assert "| metric | lexical |" in result.stdout
    assert "| recall@1 | 0.833 |" in result.stdout
    assert f"report: {tmp_path / 'r' / 'report.md'}" in result.stdout


@pytest.mark.parametrize("make_set", ["missing", "malformed"])
def test_cli_bad_set_is_a_clean_error(
    cli: tuple[CliRunner, list[Settings]], tmp_path: Path, make_set: str
) -> None:
    runner, opened = cli
    directory = tmp_path / "nowhere"
    if make_set == "malformed":
        directory = write_set(tmp_path / "bad", jsonl(BASE) + "{oops\n", BASE_QRELS)
    result = runner.invoke(_command(opened), ["--set", str(directory)])
    assert result.exit_code == 1
    expected = "is not a directory" if make_set == "missing" else "queries.jsonl:3: not valid JSON"
    assert result.output.startswith("Error: ") and expected in result.output
    assert "Traceback" not in result.output
    assert opened == []  # the searcher (and its model) was never opened


def test_cli_compare(cli: tuple[CliRunner, list[Settings]], result: EvalResult, tmp_path: Path) -> None:
    runner, opened = cli
    _write(result, tmp_path / "a")
    _write(result, tmp_path / "b")
    compared = runner.invoke(_command(opened), ["--compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert compared.exit_code == 0, compared.output
    assert "| recall@1 | 0.833 → 0.833 (+0.000) | 0.500 → 0.500 (+0.000) |" in compared.stdout
    via_main = runner.invoke(main, ["eval", "--compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert via_main.exit_code == 0 and via_main.stdout == compared.stdout  # registered in rag.cli
    missing = runner.invoke(_command(opened), ["--compare", str(tmp_path / "a"), str(tmp_path / "zzz")])
    assert missing.exit_code == 1 and "zzz: no run.json there" in missing.output
    assert "Traceback" not in missing.output
    assert opened == []


def test_cli_rejects_bad_k(cli: tuple[CliRunner, list[Settings]]) -> None:
    runner, opened = cli
    result = runner.invoke(_command(opened), ["--k", "0,5"])
    assert result.exit_code == 2 and "Invalid value for '--k'" in result.output


def test_default_command_and_helpers() -> None:
    assert eval_command.name == "eval"
    masked = settings_record(dataclasses.replace(Settings(), llm_api_key="sk-secret", password="",
                                                 api_token="t", milvus_token="root:Milvus"))
    assert masked["llm_api_key"] == masked["api_token"] == masked["milvus_token"] == "***" and masked["password"] == ""
    assert search_function(KeywordSearcher())("品牌", 5, "hybrid") == ["doc#4"]


class PartSearcher:
    def search(self, query: str, *, k: int, mode: str) -> list[Hit]:
        part = dataclasses.replace(_clause("doc#1"), clause_id="doc#1-2", part=2)
        return [Hit(part, 1.0, 1), Hit(_clause("doc#2"), 0.5, 2)]


def test_hits_on_a_later_part_count_for_the_whole_clause() -> None:
    # qrels judge "doc#1"; a hit on its second part "doc#1-2" is a hit on doc#1.
    assert search_function(PartSearcher())("质量", 2, "hybrid") == ["doc#1", "doc#2"]


# --- through the real retriever --------------------------------------------------------------

POLICY = """关于推进质量提升的意见

一、总体要求
（一）加强计量能力建设。支持企业建设计量检测实验室，提高计量检测能力。（市场监管总局负责）
（二）推进品牌建设。培育一批知名品牌，开展品牌价值评价。（商务部、工业和信息化部负责）
二、保障措施
（三）加大财政支持。对首席质量官培训给予补贴。（财政部负责）
"""


def test_cli_through_the_real_retriever(
    cli: tuple[CliRunner, list[Settings]], tmp_path: Path, hashing_embedder: Any
) -> None:
    """Real chunking, index and BM25 (hashing embedder): qrels clause ids match the hits' ids."""
    from rag.pipeline import ingest, open_searcher

    runner, _ = cli
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "quality-opinion.txt").write_text(POLICY, encoding="utf-8")
    index_dir = tmp_path / "index"
    settings = dataclasses.replace(
        Settings(), index_dir=str(index_dir), corpus_paths=(str(tmp_path / "corpus"),)
    )
    ingest(settings, embedder=hashing_embedder)
    queries = [
        {"_id": "p1", "text": "品牌价值评价怎么开展", "metadata": {"style": "keyword", "split": "test"}},
        {"_id": "p2", "text": "首席质量官培训有补贴吗", "metadata": {"style": "colloquial", "split": "test"}},
        {"_id": "p3", "text": "火星移民", "metadata": {"style": "unanswerable", "split": "test"}},
    ]
    qrels = "query-id\tcorpus-id\tscore\np1\tquality-opinion#一（二）\t2\np2\tquality-opinion#二（三）\t2\n"
    eval_dir = write_set(tmp_path / "real", jsonl(queries), qrels)
    command = make_eval_command(open_searcher=lambda s: open_searcher(s, embedder=hashing_embedder))
    args = ["--set", str(eval_dir), "--index", str(index_dir), "--out", str(tmp_path / "run"), "--json"]
    result = runner.invoke(command, [*args, "--k", "1,3"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert run["n_scored"] == 2 and run["n_unanswerable"] == 1
    # Each question's distinctive words (品牌/价值/评价, 首席质量官/培训/补贴) occur only in its clause.
    assert run["metrics"]["lexical"]["hit@1"] == 1.0
    assert run["runs"]["lexical"]["p1"][0] == "quality-opinion#一（二）"


def test_answer_checks_on_the_real_answerer(corpus_pipeline) -> None:  # type: ignore[no-untyped-def]
    """Department questions of the real eval set, answered by the real pipeline, scored against gold names."""
    from rag.config import PROJECT_ROOT
    from rag.departments import canonical_department, known_department_names
    from rag.evaluate import evaluate_answers

    full = load_eval_set(PROJECT_ROOT / "eval")
    # 一站式 (18 departments + 汕尾 牵头); 质量共治 (质检总局 牵头); a target count the answer must quote (100项以上)
    chosen = {"a004", "a011", "e051"}
    subset = EvalSet(name=full.name, directory=full.directory,
                     queries=tuple(q for q in full.queries if q.query_id in chosen),
                     qrels={k: v for k, v in full.qrels.items() if k in chosen})
    checks = evaluate_answers(subset, corpus_pipeline.ask, split="all", known_departments=known_department_names(),
                              canonical=canonical_department)
    assert checks["questions"] == 3
    assert checks["metrics"]["citations_grounded"] == 1.0
    assert checks["metrics"]["department_recall"] == 1.0
    assert checks["metrics"]["states_expected"] == 1.0
    assert checks["metrics"]["answerable_declined"] == 0.0
    assert checks["failures"] == []


# --- two-turn conversations ----------------------------------------------------------------------


def test_conversations_are_scored_on_the_last_turns_own_ask(tmp_path: Path, corpus_pipeline) -> None:  # type: ignore[no-untyped-def]
    from rag.evaluate import EvalError, evaluate_conversations, load_conversations

    records = [
        {"_id": "t1", "turns": ["2014年的行动计划里，推进质量共治要做哪些事？", "这项工作谁牵头？"], "split": "test",
         "expect": {"clauses": ["2014-quality-outline-action-plan#四（十三）"], "kind": "department",
                    "lead_department": "质检总局"}},
        {"_id": "t2", "turns": ["汕尾市对质量奖有什么安排？", "奖金多少？"], "split": "test",
         "expect": {"clauses": ["2023-shanwei-quality-strong-city-opinion#九（二十五）",
                                "2023-shanwei-quality-strong-city-opinion#七（二十一）"], "kind": "detail-missing"}},
        {"_id": "t3", "turns": ["首席质量官", "由谁负责推动？"], "split": "dev",
         "expect": {"clauses": ["nowhere#一"], "kind": "department"}},
    ]
    path = tmp_path / "conversations.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    conversations = load_conversations(path)
    asked: list[tuple[str, int]] = []

    def ask(question: str, history):  # type: ignore[no-untyped-def]
        asked.append((question, len(history)))
        return corpus_pipeline.ask(question, history=history)

    result = evaluate_conversations(conversations, ask, split="test")
    assert asked == [(records[0]["turns"][0], 0), (records[0]["turns"][1], 1),
                     (records[1]["turns"][0], 0), (records[1]["turns"][1], 1)]
    assert result["conversations"] == 2 and result["failures"] == []
    assert result["metrics"] == {"answered_on_its_ask": 1.0, "first_citation_gold": 1.0}
    failing = evaluate_conversations(conversations, ask, split="dev")  # gold that no answer can cite
    assert failing["metrics"]["answered_on_its_ask"] == 0.0 and failing["failures"][0]["id"] == "t3"
    path.write_text('{"_id": "x", "turns": ["只有一轮"], "split": "dev", "expect": {"kind": "general"}}\n',
                    encoding="utf-8")
    with pytest.raises(EvalError, match="two turns"):
        load_conversations(path)
