"""`rag eval --beir`: a tiny hand-written BEIR dataset, indexed and searched for real, scored the BEIR way.

tests/data/beir_tiny: 20 Chinese passages (and one empty line of a passage), 10 judged test queries, one
query judged in dev only. The lexical ranking is known by construction (each query's words occur in the
passages named below and nowhere else that matters), so its scores are computed by hand.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rag.beir import load_beir
from rag.chunk import split_clauses
from rag.cli import main
from rag.evaluate import EvalError
from rag.store import open_index

TINY = Path(__file__).parent / "data" / "beir_tiny"
IDEAL_2_1 = 2 + 1 / math.log2(3)  # IDCG of a query with one passage graded 2 and one graded 1
# Lexical (BM25) rankings, as the words fall:
#   q1 维护保养多久做一次 → p08 (2) first, p07 (1) has none of the words: nDCG 2/IDEAL, recall 1/2, MRR 1
#   q4 超市食品抽检结果公布 → p01 (2) first, p02 (1: 食用农产品, not 食品) not found: 2/IDEAL, 1/2, 1
#   q9 蔬菜农药残留超标 → only p16 (1); p02 (2) has none of the words: 1/IDEAL, 1/2, 1
#   q8 judged but nothing relevant (p01 graded 0): 0, 0, 0 — and it counts, as in BEIR
#   "p13" is also a passage id: p13 ranks first and is dropped (BEIR's ignore_identical_ids), p12 is then 1st
#   q2, q3, q5, q6, q7: their one relevant passage first: 1, 1, 1
LEXICAL = {
    "ndcg@10": (6 + 2 * (2 / IDEAL_2_1) + 1 / IDEAL_2_1) / 10,  # = 0.79005
    "recall@100": (6 + 3 * 0.5) / 10,  # = 0.75
    "mrr@10": 9 / 10,
}


def run_cli(*args: str) -> Any:
    result = CliRunner().invoke(main, ["eval", *args], catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def beir_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, Path]:
    """One real run of `rag eval --beir` with the default embedder: (run.json, index dir, run dir)."""
    root = tmp_path_factory.mktemp("beir")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAG_EMBED_WORKERS", "1")
        result = run_cli("--beir", str(TINY), "--index", str(root / "index"), "--out", str(root / "run"), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), root / "index", root / "run"


def test_lexical_scores_match_the_hand_computed_ones(beir_run: tuple[dict[str, Any], Path, Path]) -> None:
    run, _, _ = beir_run
    assert run["metrics"]["lexical"] == pytest.approx(LEXICAL)
    assert run["runs"]["lexical"]["p13"][:2] == ["p13", "p12"]  # the query's own id, dropped when scoring


def test_every_mode_is_scored_on_the_judged_test_queries(beir_run: tuple[dict[str, Any], Path, Path]) -> None:
    run, _, run_dir = beir_run
    assert run["kind"] == "beir" and run["modes"] == ["hybrid", "dense", "lexical"]
    assert (run["n_questions"], run["n_unanswerable"], run["n_passages"], run["skipped_passages"]) == (10, 1, 20, 1)
    assert set(run["runs"]["dense"]) == {"q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9", "p13"}  # q10: dev only
    for mode in ("hybrid", "dense"):
        metrics = run["metrics"][mode]
        # The real model on plain questions: q8 (nothing relevant) caps every mean at 0.9.
        assert 0.8 <= metrics["ndcg@10"] <= 0.9 and metrics["mrr@10"] >= 0.8 and metrics["recall@100"] == 0.9
    assert run["embedder"]["name"] == "multilingual-e5-small-tuned"
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "ndcg@10" in report and "recall@100" in report and "mrr@10" in report
    assert json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["metrics"] == run["metrics"]


def test_passages_are_indexed_whole_under_their_ids(beir_run: tuple[dict[str, Any], Path, Path]) -> None:
    _, index_dir, _ = beir_run
    index = open_index(index_dir)
    assert sorted(c.clause_id for c in index.clauses) == [f"p{n:02d}" for n in range(1, 21)]
    works = next(c for c in index.clauses if c.clause_id == "p17")  # 第一条…第三条 would split a law
    assert works.kind == "passage" and works.text.startswith("第一条") and "第三条" in works.text
    assert works.chapter == "工程质量" and works.doc_title == ""  # the title is a heading, not a named document
    assert index.manifest.dense_kind == "flat"  # exact search, as BEIR's dense evaluation


def test_set_finds_a_beir_dataset_and_runs_compare(beir_run: tuple[dict[str, Any], Path, Path],
                                                   tmp_path: Path) -> None:
    run, index_dir, run_dir = beir_run
    result = run_cli("--set", str(TINY), "--mode", "lexical", "--index", str(index_dir), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "beir_tiny (test): 10 judged queries, 1 without a relevant passage" in result.stdout
    again = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert again["metrics"]["lexical"] == pytest.approx(LEXICAL)
    compared = run_cli("--compare", str(run_dir), str(tmp_path))
    assert "0.790 → 0.790 (+0.000)" in compared.stdout


def test_any_sentence_transformers_directory_can_be_the_embedder(tmp_path: Path) -> None:
    from rag.e5_model import build_default_model

    model = build_default_model(None)  # the default model's own directory, run through sentence-transformers
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAG_EMBED_WORKERS", "1")
        result = run_cli("--beir", str(TINY), "--model", str(model), "--mode", "dense", "--index",
                         str(tmp_path / "index"), "--out", str(tmp_path / "run"), "--json")
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert run["settings"]["embedder"] == str(model) and run["metrics"]["dense"]["recall@100"] == 0.9
    missing = run_cli("--beir", str(TINY), "--model", str(tmp_path / "no-model"), "--index", str(tmp_path / "i2"))
    assert missing.exit_code == 1 and "does not exist" in missing.output and "Traceback" not in missing.output


# --- reading datasets ------------------------------------------------------------------------------


def test_load_beir_reads_the_judged_queries_of_a_split() -> None:
    test = load_beir(TINY)
    assert len(test.passages) == 20 and test.skipped_passages == 1
    assert "q10" not in test.queries and test.qrels["q3"] == {"p05": 2, "p06": 0}
    dev = load_beir(TINY, split="dev")
    assert dict(dev.queries) == {"q10": "儿童玩具需要认证吗？"}
    passage = next(p for p in test.passages if p.doc_id == "p17")
    assert [c.clause_id for c in split_clauses(passage)] == ["p17"]  # never split


@pytest.mark.parametrize(("damage", "message"), [
    (lambda d: (d / "qrels" / "test.tsv").write_text("q1\tp01\t1\n", encoding="utf-8"), "表头"),
    (lambda d: (d / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tp01\n", encoding="utf-8"),
     "三列"),
    (lambda d: (d / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq404\tp01\t1\n",
                                                     encoding="utf-8"), "不在 queries.jsonl 中"),
    (lambda d: (d / "corpus.jsonl").write_text('{"_id": "p01", "text": "甲"}\n{"_id": "p01", "text": "乙"}\n',
                                              encoding="utf-8"), "重复"),
    (lambda d: (d / "queries.jsonl").write_text("{not json\n", encoding="utf-8"), "不是有效的 JSON"),
    (lambda d: (d / "qrels" / "test.tsv").unlink(), "缺少"),
])  # fmt: skip
def test_a_malformed_dataset_is_a_clear_error(tmp_path: Path, damage: Any, message: str) -> None:
    import shutil

    dataset = tmp_path / "set"
    shutil.copytree(TINY, dataset)
    damage(dataset)
    with pytest.raises(EvalError, match=message):
        load_beir(dataset)
    result = run_cli("--beir", str(dataset), "--index", str(tmp_path / "index"))
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
