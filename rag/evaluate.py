"""Load a BEIR-style eval set, run its questions through a search function and score them.

An eval set is a directory holding `queries.jsonl` and `qrels.tsv` (see `load_eval_set`).
Unanswerable questions (style "unanswerable", no qrels rows) are searched like the others,
so they count in latency, but they are left out of the retrieval averages and reported as
their own count; `rag.metrics.score_answers` judges them at the answer level (did it decline?).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.metrics import check_k, check_ks, hit_rate_at_k, recall_at_k, relevant_ids, score_run

STYLES = ("colloquial", "keyword", "traditional", "department", "numeric", "multi", "unanswerable")
UNANSWERABLE = "unanswerable"
SPLITS = ("dev", "test")
QRELS_HEADER = ("query-id", "corpus-id", "score")

# (query text, k, mode) → clause ids, best first.
SearchFunction = Callable[[str, int, str], Sequence[str]]


class EvalError(RagError, ValueError):
    """An eval set or a run directory is missing or malformed."""


@dataclass(frozen=True)
class EvalQuery:
    query_id: str
    text: str
    style: str  # one of STYLES
    split: str  # "dev" | "test"
    set_name: str  # metadata "set", e.g. "policy" | "laws"; defaults to the directory name
    departments: tuple[str, ...] = ()  # gold department names for a department question
    kind: str = ""  # for unanswerable questions: "off-domain" | "near-domain" | "detail"
    # For a question asking a fact: phrases of its gold clauses, one of which a correct answer quotes
    answer_contains: tuple[str, ...] = ()
    # For a "detail" question: the clauses on its topic, which do not state the detail; not gold, but what an
    # honest "partly" answer cites
    topic: tuple[str, ...] = ()


@dataclass(frozen=True)
class EvalSet:
    name: str
    directory: str
    queries: tuple[EvalQuery, ...]
    qrels: Mapping[str, Mapping[str, int]]  # query id → clause id → grade; no rows if unanswerable

    def select(self, split: str) -> tuple[EvalQuery, ...]:
        """The questions of one split, or every question for "all"."""
        if split not in (*SPLITS, "all"):
            raise ValueError(f"split must be one of dev, test, all; got {split!r}")
        return tuple(q for q in self.queries if split == "all" or q.split == split)

    def answerable_ids(self) -> frozenset[str]:
        """Query ids with at least one relevant clause."""
        return frozenset(query_id for query_id, judged in self.qrels.items() if relevant_ids(judged))

    def gold_departments(self) -> dict[str, tuple[str, ...]]:
        """Query id → gold department names, for questions that list them."""
        return {q.query_id: q.departments for q in self.queries if q.departments}

    def expected_phrases(self) -> dict[str, tuple[str, ...]]:
        """Query id → the phrases one of which its answer must quote, for questions that list them."""
        return {q.query_id: q.answer_contains for q in self.queries if q.answer_contains}

    def topics(self) -> dict[str, tuple[str, ...]]:
        """Query id → the clauses on the topic of a detail question the documents leave unstated."""
        return {q.query_id: q.topic for q in self.queries if q.topic}


@dataclass(frozen=True)
class RetrievalRun:
    split: str
    k_max: int
    runs: Mapping[str, Mapping[str, tuple[str, ...]]]  # mode → query id → ranked clause ids
    latency_ms: Mapping[str, Mapping[str, float]]  # mode → query id → milliseconds


@dataclass(frozen=True)
class Miss:
    """An answerable question with recall@k_max < 1 or nothing relevant at rank 1."""

    query_id: str
    text: str
    style: str
    gold_ids: tuple[str, ...]  # best grade first
    retrieved_ids: tuple[str, ...]  # top k_max


@dataclass(frozen=True)
class ModeResult:
    mode: str
    metrics: Mapping[str, float]  # empty when the split has no answerable question
    by_style: Mapping[str, Mapping[str, float]]  # styles with at least one answerable question
    latency_ms: Mapping[str, float]  # "mean", "p50", "p95" (nearest rank) over every question
    misses: tuple[Miss, ...]


@dataclass(frozen=True)
class EvalResult:
    set_name: str
    set_directory: str
    split: str
    ks: tuple[int, ...]
    n_questions: int
    n_scored: int  # answerable: in the retrieval averages
    n_unanswerable: int  # left out of the retrieval averages
    style_counts: Mapping[str, int]  # every question, by style
    modes: tuple[ModeResult, ...]
    retrieval: RetrievalRun


def load_eval_set(directory: str | Path) -> EvalSet:
    """Read `queries.jsonl` and `qrels.tsv` from `directory`, checking that they agree."""
    path = Path(directory)
    if not path.is_dir():
        raise EvalError(f"eval set {path} is not a directory (it should hold queries.jsonl and qrels.tsv)")
    queries = _read_queries(path / "queries.jsonl", default_set=path.resolve().name)
    qrels = _read_qrels(path / "qrels.tsv")
    eval_set = EvalSet(name=path.resolve().name, directory=str(path), queries=queries, qrels=qrels)
    unknown = sorted(set(qrels) - {q.query_id for q in queries})
    if unknown:
        raise EvalError(
            f"{path / 'qrels.tsv'}: {len(unknown)} query ids not in queries.jsonl, e.g. {unknown[:5]}"
        )
    answerable = eval_set.answerable_ids()
    disagree = [q.query_id for q in queries if (q.style == UNANSWERABLE) == (q.query_id in answerable)]
    if disagree:
        raise EvalError(
            f"{path}: {len(disagree)} question(s) disagree with qrels.tsv (an unanswerable question needs "
            f"no relevant rows, any other question at least one): {disagree[:5]}"
        )
    return eval_set


def _read_lines(file: Path) -> list[str]:
    if not file.is_file():
        raise EvalError(f"{file} not found: an eval set needs queries.jsonl and qrels.tsv")
    try:
        return file.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise EvalError(f"{file} is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc


def _read_queries(file: Path, *, default_set: str) -> tuple[EvalQuery, ...]:
    queries: dict[str, EvalQuery] = {}
    for number, line in enumerate(_read_lines(file), start=1):
        if not line.strip():
            continue
        where = f"{file}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalError(f"{where}: not valid JSON ({exc.msg})") from exc
        query = _parse_query(record, where=where, default_set=default_set)
        if query.query_id in queries:
            raise EvalError(f"{where}: duplicate _id {query.query_id!r}")
        queries[query.query_id] = query
    if not queries:
        raise EvalError(f"{file} holds no questions")
    return tuple(queries.values())


def _parse_query(record: Any, *, where: str, default_set: str) -> EvalQuery:
    if not isinstance(record, dict):
        raise EvalError(f"{where}: expected a JSON object")
    query_id, text, metadata = record.get("_id"), record.get("text"), record.get("metadata", {})
    if not isinstance(query_id, str) or not query_id.strip():
        raise EvalError(f'{where}: missing or empty "_id"')
    if not isinstance(text, str) or not text.strip():
        raise EvalError(f'{where}: question {query_id!r} has no "text"')
    if not isinstance(metadata, dict):
        raise EvalError(f'{where}: "metadata" must be an object')
    style, split = metadata.get("style"), metadata.get("split")
    if style not in STYLES:
        raise EvalError(f"{where}: metadata.style must be one of {', '.join(STYLES)}; got {style!r}")
    if split not in SPLITS:
        raise EvalError(f"{where}: metadata.split must be one of {', '.join(SPLITS)}; got {split!r}")
    set_name, departments = metadata.get("set", default_set), metadata.get("departments", [])
    if not isinstance(set_name, str):
        raise EvalError(f"{where}: metadata.set must be a string")
    if not isinstance(departments, list) or not all(isinstance(d, str) for d in departments):
        raise EvalError(f"{where}: metadata.departments must be a list of strings")
    phrases = _filled_strings(metadata, "answer_contains", "non-empty strings", where=where)
    topic = _filled_strings(metadata, "topic", "clause ids", where=where)
    return EvalQuery(query_id, text, style, split, set_name, tuple(departments), str(metadata.get("kind", "")),
                     phrases, topic)


def _filled_strings(metadata: dict[str, Any], key: str, what: str, *, where: str) -> tuple[str, ...]:
    """metadata[key], a list of non-blank strings (none when absent)."""
    values = metadata.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise EvalError(f"{where}: metadata.{key} must be a list of {what}")
    return tuple(values)


def _read_qrels(file: Path) -> dict[str, dict[str, int]]:
    rows = [(number, line) for number, line in enumerate(_read_lines(file), start=1) if line.strip()]
    if not rows or tuple(cell.strip() for cell in rows[0][1].split("\t")) != QRELS_HEADER:
        raise EvalError(
            f"{file}: the first line must be the header {chr(9).join(QRELS_HEADER)!r} (tab-separated)"
        )
    qrels: dict[str, dict[str, int]] = {}
    for number, line in rows[1:]:
        cells = [cell.strip() for cell in line.split("\t")]
        if len(cells) != 3 or not cells[0] or not cells[1]:
            raise EvalError(f"{file}:{number}: expected 3 tab-separated columns: query-id, corpus-id, score")
        query_id, clause_id, score = cells
        try:
            grade = int(score)
        except ValueError:
            raise EvalError(f"{file}:{number}: score must be an integer, got {score!r}") from None
        judged = qrels.setdefault(query_id, {})
        if clause_id in judged:
            raise EvalError(f"{file}:{number}: duplicate row for {query_id} / {clause_id}")
        judged[clause_id] = grade
    return qrels


def run_retrieval(
    eval_set: EvalSet, search: SearchFunction, *, modes: Sequence[str], k_max: int, split: str
) -> RetrievalRun:
    """Search every question of `split` once per mode, timing each call."""
    check_k(k_max)
    if isinstance(modes, str) or not modes or len(set(modes)) != len(modes):
        raise ValueError(f"modes must be a non-empty sequence of distinct names, got {modes!r}")
    queries = eval_set.select(split)
    if not queries:
        raise EvalError(f"eval set {eval_set.name} has no {split} questions")
    runs: dict[str, dict[str, tuple[str, ...]]] = {}
    latency: dict[str, dict[str, float]] = {}
    for mode in modes:
        runs[mode], latency[mode] = {}, {}
        for query in queries:
            started = time.perf_counter()
            ranked = tuple(search(query.text, k_max, mode))
            latency[mode][query.query_id] = (time.perf_counter() - started) * 1000
            if not all(isinstance(clause_id, str) for clause_id in ranked):
                raise ValueError(f"search must return clause-id strings; got {ranked[:3]!r}")
            runs[mode][query.query_id] = ranked[:k_max]
    return RetrievalRun(split=split, k_max=k_max, runs=runs, latency_ms=latency)


def score_retrieval(eval_set: EvalSet, retrieval: RetrievalRun, *, ks: Iterable[int]) -> EvalResult:
    """Overall and per-style metrics, latency and misses for every mode of `retrieval`."""
    cutoffs = check_ks(ks)
    if cutoffs[-1] > retrieval.k_max:
        raise ValueError(f"k={cutoffs[-1]} exceeds the k_max={retrieval.k_max} the run was searched with")
    queries = eval_set.select(retrieval.split)
    answerable = [q for q in queries if relevant_ids(eval_set.qrels.get(q.query_id, {}))]
    style_counts = {style: n for style in STYLES if (n := sum(q.style == style for q in queries))}
    modes = tuple(_score_mode(mode, eval_set, answerable, retrieval, cutoffs) for mode in retrieval.runs)
    return EvalResult(
        set_name=eval_set.name,
        set_directory=eval_set.directory,
        split=retrieval.split,
        ks=cutoffs,
        n_questions=len(queries),
        n_scored=len(answerable),
        n_unanswerable=len(queries) - len(answerable),
        style_counts=style_counts,
        modes=modes,
        retrieval=retrieval,
    )


def _score_mode(
    mode: str,
    eval_set: EvalSet,
    answerable: Sequence[EvalQuery],
    retrieval: RetrievalRun,
    ks: tuple[int, ...],
) -> ModeResult:
    run = retrieval.runs[mode]

    def scores(group: Sequence[EvalQuery]) -> dict[str, float]:
        qrels = {q.query_id: dict(eval_set.qrels[q.query_id]) for q in group}
        return score_run(run, qrels, ks) if group else {}

    by_style = {
        style: scores(group) for style in STYLES if (group := [q for q in answerable if q.style == style])
    }
    k_max, misses = ks[-1], []
    for query in answerable:
        judged = eval_set.qrels[query.query_id]
        gold = relevant_ids(judged)
        ranked = run[query.query_id]
        if recall_at_k(ranked, gold, k_max) < 1.0 or hit_rate_at_k(ranked, gold, 1) == 0.0:
            gold_ids = tuple(sorted(gold, key=lambda clause_id: (-judged[clause_id], clause_id)))
            misses.append(Miss(query.query_id, query.text, query.style, gold_ids, tuple(ranked[:k_max])))
    return ModeResult(
        mode, scores(answerable), by_style, summarise_latency(retrieval.latency_ms[mode].values()), tuple(misses)
    )


def summarise_latency(latencies: Iterable[float]) -> dict[str, float]:
    """Mean, p50 and p95 (nearest rank) of query latencies in milliseconds."""
    values = sorted(latencies)
    if not values:
        return {}

    def nearest_rank(fraction: float) -> float:
        return values[max(math.ceil(fraction * len(values)), 1) - 1]

    return {"mean": sum(values) / len(values), "p50": nearest_rank(0.50), "p95": nearest_rank(0.95)}


def evaluate(
    eval_set: EvalSet, search: SearchFunction, *, modes: Sequence[str], ks: Iterable[int], split: str
) -> EvalResult:
    """Search with every mode down to max(ks), then score: `run_retrieval` + `score_retrieval`."""
    cutoffs = check_ks(ks)
    retrieval = run_retrieval(eval_set, search, modes=modes, k_max=cutoffs[-1], split=split)
    return score_retrieval(eval_set, retrieval, ks=cutoffs)


def evaluate_answers(eval_set: EvalSet, ask: Callable[[str], Any], *, split: str,
                     known_departments: Sequence[str] = (),
                     canonical: Callable[[str], str] = lambda name: name) -> dict[str, Any]:
    """Answer-level checks: ask every question of `split` and score the answers (see metrics.score_answers).

    `ask(question)` returns an Answer; its `retrieved_ids` are the clauses it was composed from.
    """
    from rag.metrics import AnswerRecord, score_answers, states_expected

    records: dict[str, AnswerRecord] = {}
    failures: list[dict[str, Any]] = []
    answerable = eval_set.answerable_ids()
    for query in eval_set.select(split):
        answer = ask(query.text)
        record = AnswerRecord(
            found=answer.found,
            text=answer.text,
            citation_ids=tuple(citation.clause.clause_id for citation in answer.citations),
            retrieved_ids=tuple(answer.retrieved_ids),
            outcome=answer.outcome,
        )
        records[query.query_id] = record
        wrong_decision = record.not_found if query.query_id in answerable else not record.declined
        ungrounded = not set(record.citation_ids) <= set(record.retrieved_ids)
        unstated = bool(query.answer_contains) and not states_expected(record, query.answer_contains)
        if wrong_decision or ungrounded or unstated:
            failures.append({"id": query.query_id, "question": query.text, "style": query.style,
                             "kind": query.kind, "outcome": answer.outcome,
                             "found": answer.found, "expected_found": query.query_id in answerable,
                             "ungrounded_citations": ungrounded, "missing_expected": unstated,
                             "answer": answer.text})
    metrics = score_answers(records, answerable_ids=answerable, gold_departments=eval_set.gold_departments(),
                            known_departments=known_departments, canonical=canonical, qrels=eval_set.qrels,
                            kinds={q.query_id: q.kind for q in eval_set.queries if q.kind},
                            expected_phrases=eval_set.expected_phrases(), topics=eval_set.topics())
    return {"questions": len(records), "metrics": metrics, "failures": failures}


# --- two-turn conversations ----------------------------------------------------------------------

CONVERSATIONS_FILE = "conversations.jsonl"
# (question, earlier turns as (question, answer) pairs) → Answer
AskWithHistory = Callable[[str, Sequence[tuple[str, str]]], Any]


@dataclass(frozen=True)
class Conversation:
    """Turns of which the last is elliptical, and what its answer must do (see eval/README.md)."""

    conversation_id: str
    turns: tuple[str, ...]
    split: str
    kind: str  # "department" | "figure" | "general" | "detail-missing"
    clauses: tuple[str, ...]  # clauses that answer the last turn
    lead_department: str | None = None  # "" when the clauses name no lead; None when not asked
    departments: tuple[str, ...] = ()


def load_conversations(path: str | Path) -> tuple[Conversation, ...]:
    """Read conversations.jsonl: {"_id", "turns": [...], "split", "expect": {"clauses", "kind", …}}."""
    conversations = []
    for number, line in enumerate(_read_lines(Path(path)), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
            expect = record["expect"]
            turns = tuple(str(t) for t in record["turns"])
            conversation = Conversation(
                conversation_id=str(record["_id"]), turns=turns, split=str(record["split"]),
                kind=str(expect["kind"]), clauses=tuple(expect.get("clauses", ())),
                lead_department=expect.get("lead_department"), departments=tuple(expect.get("departments", ())))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise EvalError(f"{where}: not a conversation record ({exc})") from exc
        if len(turns) < 2 or conversation.split not in SPLITS:
            raise EvalError(f"{where}: a conversation needs at least two turns and a split of dev or test")
        conversations.append(conversation)
    return tuple(conversations)


def evaluate_conversations(conversations: Sequence[Conversation], ask: AskWithHistory, *, split: str
                           ) -> dict[str, Any]:
    """Ask each conversation turn by turn; score whether the last answer answers its own ask.

    - answered on its ask: a detail-missing ask is not answered outright; otherwise the first citation
      answers the last turn, a lead question names the lead (or says none is named), and a
      department question names the gold departments' lead or first department.
    """
    from rag.question import LEAD_QUESTION

    failures = []
    passed = first_gold = 0
    selected = [c for c in conversations if split == "all" or c.split == split]
    for conversation in selected:
        history: list[tuple[str, str]] = []
        for turn in conversation.turns[:-1]:
            history.append((turn, ask(turn, tuple(history)).text))
        answer = ask(conversation.turns[-1], tuple(history))
        cited = [c.clause.base_id for c in answer.citations]
        cites_gold = bool(cited) and cited[0] in conversation.clauses
        first_gold += cites_gold
        if conversation.kind == "detail-missing":
            ok = answer.outcome != "answered"
        else:
            ok = cites_gold and answer.outcome != "not_found"
            if conversation.lead_department is not None and LEAD_QUESTION.search(conversation.turns[-1]):
                expected = conversation.lead_department or "未明确牵头部门"
                ok = ok and expected in answer.text
        passed += ok
        if not ok:
            failures.append({"id": conversation.conversation_id, "turns": list(conversation.turns),
                             "kind": conversation.kind, "outcome": answer.outcome, "cited": cited[:3],
                             "answer": answer.text})
    total = len(selected) or 1
    return {"conversations": len(selected), "metrics": {"answered_on_its_ask": passed / total,
                                                        "first_citation_gold": first_gold / total},
            "failures": failures}
