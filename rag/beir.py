"""External benchmarks in the BEIR format: read a dataset, search its queries, score them as BEIR does.

A dataset directory holds `corpus.jsonl` ({"_id", "title", "text"} a line), `queries.jsonl` ({"_id",
"text"}) and `qrels/<split>.tsv` (query-id, corpus-id, score, with a header line), as published for
BEIR (https://github.com/beir-cellar/beir) and C-MTEB. Passages are indexed whole under their own ids
(`Document.kind == "passage"`: no clause splitting, the title as the heading field, the text as given),
so the figures are those of our retrieval modes on the benchmark's own units (`metrics.score_beir`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import QueryError
from rag.eval_report import REPORT_FILE, RUN_FILE, render_metrics_table
from rag.evaluate import QRELS_HEADER, EvalError, SearchFunction, summarise_latency
from rag.metrics import BEIR_DEPTH, BEIR_METRICS, score_beir
from rag.schema import Document

CORPUS_FILE, QUERIES_FILE, QRELS_DIR = "corpus.jsonl", "queries.jsonl", "qrels"


@dataclass(frozen=True)
class BeirDataset:
    name: str
    directory: str
    split: str
    passages: tuple[Document, ...]  # kind "passage": each indexed whole under its _id
    queries: Mapping[str, str]  # the split's judged queries: id → text
    qrels: Mapping[str, Mapping[str, int]]  # query id → passage id → grade (relevant when > 0)
    skipped_passages: int = 0  # neither title nor text: nothing to index


def is_beir_dataset(directory: str | Path) -> bool:
    """A folder laid out as BEIR publishes datasets (an eval set of ours has qrels.tsv, not qrels/)."""
    path = Path(directory)
    return (path / CORPUS_FILE).is_file() and (path / QRELS_DIR).is_dir()


def load_beir(directory: str | Path, *, split: str = "test") -> BeirDataset:
    """Read a BEIR dataset: every passage, and the queries judged in `qrels/<split>.tsv` (as BEIR's loader)."""
    path = Path(directory)
    if not is_beir_dataset(path):
        raise EvalError(f"{path} 不是 BEIR 格式的数据集：需要 {CORPUS_FILE}、{QUERIES_FILE} 和 {QRELS_DIR}/{split}.tsv")
    qrels = _read_qrels(path / QRELS_DIR / f"{split}.tsv")
    passages, skipped = _read_passages(path / CORPUS_FILE)
    all_queries = dict(_read_records(path / QUERIES_FILE, ("_id", "text")))
    missing = sorted(set(qrels) - set(all_queries))
    if missing:
        raise EvalError(f"{path / QRELS_DIR / f'{split}.tsv'}：{len(missing)} 个查询不在 {QUERIES_FILE} 中，例如 {missing[:5]}")
    queries = {query_id: str(all_queries[query_id]["text"]) for query_id in qrels}
    return BeirDataset(path.resolve().name, str(path), split, passages, queries, qrels, skipped)


def _read_records(file: Path, required: Sequence[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, record) for each JSON line of `file`, checked for the `required` string fields."""
    if not file.is_file():
        raise EvalError(f"缺少 {file}")
    with file.open(encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise EvalError(f"{file}:{number}：不是有效的 JSON（{error.msg}）") from error
            if not isinstance(record, dict) or not all(isinstance(record.get(key), str) for key in required):
                raise EvalError(f"{file}:{number}：需要字符串字段 {'、'.join(required)}")
            if not record["_id"].strip():
                raise EvalError(f"{file}:{number}：_id 是空的")
            yield record["_id"], record


def _read_passages(file: Path) -> tuple[tuple[Document, ...], int]:
    passages: dict[str, Document] = {}
    skipped = 0
    for passage_id, record in _read_records(file, ("_id",)):
        if passage_id in passages:
            raise EvalError(f"{file}：段落 _id {passage_id!r} 重复")
        title, text = str(record.get("title") or ""), str(record.get("text") or "")
        if not (text.strip() or title.strip()):
            skipped += 1
            continue
        # A passage with a title but no text is searched by its title, as BEIR's encoders see title + text.
        passages[passage_id] = Document(doc_id=passage_id, title="", heading=title, text=text or title,
                                        source=str(file), kind="passage")
    if not passages:
        raise EvalError(f"{file} 中没有段落")
    return tuple(passages.values()), skipped


def _read_qrels(file: Path) -> dict[str, dict[str, int]]:
    if not file.is_file():
        raise EvalError(f"缺少 {file}：BEIR 数据集的相关性判断放在 {QRELS_DIR}/<split>.tsv")
    lines = [line for line in file.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    if not lines or tuple(cell.strip() for cell in lines[0].split("\t")) != QRELS_HEADER:
        raise EvalError(f"{file}：第一行须是表头 {chr(9).join(QRELS_HEADER)!r}（以制表符分隔）")
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(lines[1:], start=2):
        cells = [cell.strip() for cell in line.split("\t")]
        try:
            query_id, passage_id, grade = cells[0], cells[1], int(cells[2])
        except (IndexError, ValueError):
            raise EvalError(f"{file}:{number}：须是三列 query-id、corpus-id、整数 score") from None
        qrels.setdefault(query_id, {})[passage_id] = grade
    if not qrels:
        raise EvalError(f"{file} 中没有相关性判断")
    return qrels


def run_beir(dataset: BeirDataset, search: SearchFunction, *, modes: Sequence[str]) -> dict[str, Any]:
    """Search every judged query once per mode down to 100 and score; the run.json content, less settings."""
    runs: dict[str, dict[str, list[str]]] = {}
    latency: dict[str, dict[str, float]] = {}
    unsearchable: set[str] = set()
    for mode in modes:  # one untimed search first, so that loading the model is not counted as latency
        search(next(iter(dataset.queries.values())), 1, mode)
    for mode in modes:
        runs[mode], times = {}, []
        for query_id, text in dataset.queries.items():
            started = time.perf_counter()
            try:  # one more than needed: BEIR drops a query's own id from its results
                ranked = list(search(text, BEIR_DEPTH + 1, mode))
            except QueryError:  # no letter, digit or CJK character: nothing to search for
                ranked = []
                unsearchable.add(query_id)
            times.append((time.perf_counter() - started) * 1000)
            runs[mode][query_id] = ranked
        latency[mode] = summarise_latency(times)
    without_relevant = sum(not any(grade > 0 for grade in judged.values()) for judged in dataset.qrels.values())
    return {
        "kind": "beir",
        "eval_set": {"name": dataset.name, "directory": dataset.directory},
        "split": dataset.split,
        "modes": list(modes),
        "ks": [10, BEIR_DEPTH],
        "n_questions": len(dataset.queries),
        "n_scored": len(dataset.queries) - without_relevant,
        "n_unanswerable": without_relevant,  # no passage graded > 0: scores 0, counted as BEIR counts it
        "n_passages": len(dataset.passages),
        "skipped_passages": dataset.skipped_passages,
        "unsearchable_queries": sorted(unsearchable),
        "metrics": {mode: score_beir(runs[mode], dataset.qrels) for mode in modes},
        "latency_ms": latency,
        "runs": runs,
    }


def write_beir_run(run: Mapping[str, Any], out_dir: str | Path) -> Path:
    """run.json and report.md in `out_dir`; `rag eval --compare` reads the run like any other."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / RUN_FILE).write_text(json.dumps(run, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (directory / REPORT_FILE).write_text(render_beir_report(run), encoding="utf-8")
    return directory


def beir_summary(run: Mapping[str, Any]) -> str:
    """One line: the judged queries, and those without a relevant passage (they score 0, as in BEIR)."""
    return (f"{run['eval_set']['name']} ({run['split']}): {run['n_questions']} judged queries, "
            f"{run['n_unanswerable']} without a relevant passage (scored 0, as BEIR counts them)")


def render_beir_report(run: Mapping[str, Any]) -> str:
    embedder = run.get("embedder", {})
    lines = [
        f"# BEIR evaluation: {run['eval_set']['name']}, {run['split']} split", "",
        f"- created: {run.get('created_at', '')}",
        f"- commit: {run.get('git_commit') or 'unknown'}{' (uncommitted changes)' if run.get('git_dirty') else ''}",
        f"- questions: {beir_summary(run)}",
        f"- passages: {run['n_passages']} indexed whole under their ids"
        + (f", {run['skipped_passages']} empty ones skipped" if run.get("skipped_passages") else ""),
        f"- embedder: {embedder.get('name', '?')} ({embedder.get('fingerprint', '')[:12]})", "",
        "## Metrics", "",
        f"{', '.join(BEIR_METRICS)} averaged over every judged query as BEIR does (pytrec_eval; MRR as BEIR's own).",
        "", render_metrics_table(run),
    ]
    if run.get("unsearchable_queries"):
        lines += ["", f"Queries with nothing to search for (scored 0): {', '.join(run['unsearchable_queries'])}"]
    return "\n".join(lines) + "\n"
