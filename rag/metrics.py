"""Pure retrieval and answer metrics over clause-id rankings and BEIR-style qrels.

Conventions shared by every function here:

- `ranked` is the system's list of clause ids, best first; only its first k positions count.
  An id that repeats earns credit only at its first position: later copies are non-relevant
  slots, because the user saw them in place of another clause.
- A clause is relevant when its qrels grade is > 0 (BEIR treats a 0 row as judged non-relevant).
- nDCG uses the grade itself as the gain and 1/log2(rank + 1) as the discount, as trec_eval and
  pytrec_eval (which BEIR uses) do; the ideal ranking is the query's qrels sorted by grade.
- A query with no relevant clause (an unanswerable question) has no recall, MRR or nDCG: the
  per-query functions raise ValueError, and `score_run` leaves such queries out of its averages.
  Callers count them separately (`answerable_query_ids` tells which ones were scored) and judge
  them at the answer level instead (did the answer decline?).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from rag.clean import to_simplified
from rag.schema import Answer, Hit

METRIC_NAMES = ("recall", "hit", "mrr", "ndcg")


def check_k(k: int) -> int:
    """Return `k` if it is an integer ≥ 1, else raise ValueError."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    return k


def check_ks(ks: Iterable[int]) -> tuple[int, ...]:
    """Validated cut-offs, de-duplicated and sorted ascending."""
    values = tuple(ks)
    if not values:
        raise ValueError("give at least one cut-off k, e.g. (1, 3, 5, 10)")
    return tuple(sorted({check_k(k) for k in values}))


def _top_k(ranked: Sequence[str], k: int) -> list[str | None]:
    """The first k positions, with repeated ids blanked to None so that they earn nothing."""
    if isinstance(ranked, str):
        raise ValueError("ranked must be a sequence of clause ids, not a single string")
    check_k(k)
    seen: set[str] = set()
    top: list[str | None] = []
    for clause_id in ranked[:k]:
        top.append(None if clause_id in seen else clause_id)
        seen.add(clause_id)
    return top


def _relevant_ids(relevant: Collection[str]) -> frozenset[str]:
    if isinstance(relevant, str):
        raise ValueError("relevant must be a collection of clause ids, not a single string")
    ids = frozenset(relevant)
    if not ids:
        raise ValueError(
            "no relevant clauses: retrieval metrics are undefined for an unanswerable query "
            "(score_run leaves such queries out)"
        )
    return ids


def relevant_ids(qrels_for_query: Mapping[str, int]) -> frozenset[str]:
    """Clause ids with a grade > 0."""
    return frozenset(clause_id for clause_id, grade in qrels_for_query.items() if grade > 0)


def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Fraction of the relevant clauses found in the first k positions."""
    top, gold = _top_k(ranked, k), _relevant_ids(relevant)
    found = {clause_id for clause_id in top if clause_id in gold}
    return len(found) / len(gold)


def hit_rate_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1.0 if any relevant clause is in the first k positions, else 0.0."""
    top, gold = _top_k(ranked, k), _relevant_ids(relevant)
    return 1.0 if any(clause_id in gold for clause_id in top) else 0.0


def mrr_at_k(ranked: Sequence[str], relevant: Collection[str], k: int = 10) -> float:
    """1/rank of the first relevant clause within the first k positions, else 0.0."""
    top, gold = _top_k(ranked, k), _relevant_ids(relevant)
    for rank, clause_id in enumerate(top, start=1):
        if clause_id in gold:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], qrels_for_query: Mapping[str, int], k: int) -> float:
    """Normalised DCG with graded gains (gain = grade) and a log2(rank + 1) discount."""
    top = _top_k(ranked, k)
    gains = {clause_id: grade for clause_id, grade in qrels_for_query.items() if grade > 0}
    _relevant_ids(gains.keys())
    dcg = sum(
        gains.get(clause_id, 0) / math.log2(rank + 1) if clause_id is not None else 0.0
        for rank, clause_id in enumerate(top, start=1)
    )
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(grade / math.log2(rank + 1) for rank, grade in enumerate(ideal, start=1))
    return dcg / idcg


def answerable_query_ids(qrels: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Query ids with at least one relevant clause, sorted; the others are unanswerable."""
    return sorted(query_id for query_id, judged in qrels.items() if relevant_ids(judged))


def score_run(
    run: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Mapping[str, int]],
    ks: Iterable[int],
) -> dict[str, float]:
    """Mean recall@k, hit@k, mrr@k and ndcg@k over the answerable queries of `qrels`.

    Queries with no relevant clause are left out of every average (see the module docstring);
    queries in `run` that are absent from `qrels` are ignored the same way. A query that is
    answerable but missing from `run` is a caller bug and raises ValueError.
    Keys are ordered metric-major: "recall@1", "recall@5", …, "ndcg@10".
    """
    cutoffs = check_ks(ks)
    scored = answerable_query_ids(qrels)
    if not scored:
        raise ValueError("no answerable queries to score: every query has empty qrels")
    missing = [query_id for query_id in scored if query_id not in run]
    if missing:
        raise ValueError(f"run has no ranking for {len(missing)} judged queries, e.g. {missing[:5]}")
    totals = {f"{name}@{k}": 0.0 for name in METRIC_NAMES for k in cutoffs}
    for query_id in scored:
        ranked, judged = run[query_id], qrels[query_id]
        gold = relevant_ids(judged)
        for k in cutoffs:
            totals[f"recall@{k}"] += recall_at_k(ranked, gold, k)
            totals[f"hit@{k}"] += hit_rate_at_k(ranked, gold, k)
            totals[f"mrr@{k}"] += mrr_at_k(ranked, gold, k)
            totals[f"ndcg@{k}"] += ndcg_at_k(ranked, judged, k)
    return {key: total / len(scored) for key, total in totals.items()}


# --- external benchmarks ---------------------------------------------------------------------

BEIR_METRICS = ("ndcg@10", "recall@100", "mrr@10")  # the figures BEIR and C-MTEB publish for retrieval
BEIR_DEPTH = 100  # recall@100 needs the top 100


def score_beir(run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
    """nDCG@10, recall@100 and MRR@10 averaged the way BEIR reports them, so they compare with published figures.

    As BEIR's EvaluateRetrieval (pytrec_eval for nDCG and recall, its own MRR): every query of `qrels` counts,
    and one without any passage graded > 0 scores 0 (score_run leaves such queries out instead); a passage
    whose id is the query's own id is not a result (BEIR's ignore_identical_ids, for sets whose queries are
    passages); a query absent from `run` retrieved nothing. Gains are the grades, as in trec_eval.
    """
    if not qrels:
        raise ValueError("no judged queries: the qrels are empty")
    totals = dict.fromkeys(BEIR_METRICS, 0.0)
    for query_id, judged in qrels.items():
        gold = relevant_ids(judged)
        ranked = [passage_id for passage_id in run.get(query_id, ()) if passage_id != query_id]
        if not gold or not ranked:
            continue  # 0 on every metric
        totals["ndcg@10"] += ndcg_at_k(ranked, judged, 10)
        totals["recall@100"] += recall_at_k(ranked, gold, BEIR_DEPTH)
        totals["mrr@10"] += mrr_at_k(ranked, gold, 10)
    return {key: total / len(qrels) for key, total in totals.items()}


# --- answer level -------------------------------------------------------------------------


def find_departments(text: str, known: Collection[str]) -> tuple[str, ...]:
    """Known department names mentioned in `text`, in order of first mention.

    Longer names claim their characters first, so "国家发展改革委" is not also counted
    as "发展改革委".
    """
    claimed = [False] * len(text)
    first_seen: dict[str, int] = {}
    for name in sorted({n.strip() for n in known if n.strip()}, key=lambda n: (-len(n), n)):
        start = text.find(name)
        while start != -1:
            end = start + len(name)
            if not any(claimed[start:end]):
                claimed[start:end] = [True] * len(name)
                first_seen.setdefault(name, start)
            start = text.find(name, start + 1)
    return tuple(sorted(first_seen, key=first_seen.__getitem__))


def _same_name(name: str) -> str:
    return name


def department_precision_recall(
    answer_text: str,
    gold: Collection[str],
    known: Collection[str],
    *,
    canonical: Callable[[str], str] = _same_name,
) -> tuple[float, float]:
    """(precision, recall) of the department names an answer mentions against the gold names.

    Names are looked for among `known` ∪ `gold`, then compared after `canonical`
    (e.g. rag.departments.canonical_department, so that 工信部 counts as 工业和信息化部).
    An answer that names no department scores precision 0.0: it did not say who is responsible.
    """
    gold_names = {canonical(name.strip()) for name in gold if name.strip()}
    if not gold_names:
        raise ValueError("no gold departments: department scores need a department question")
    names = set(known) | {name.strip() for name in gold}
    found = {canonical(name) for name in find_departments(answer_text, names)}
    correct = len(found & gold_names)
    precision = correct / len(found) if found else 0.0
    return precision, correct / len(gold_names)


def citations_grounded(citation_ids: Iterable[str], retrieved_ids: Iterable[str]) -> bool:
    """True when every cited clause is among the retrieved ones (vacuously True with no citations)."""
    return set(citation_ids) <= set(retrieved_ids)


@dataclass(frozen=True)
class AnswerRecord:
    """What answer-level scoring needs from one `rag ask` answer, as plain data."""

    found: bool
    text: str
    citation_ids: tuple[str, ...] = ()
    retrieved_ids: tuple[str, ...] = ()
    outcome: str = ""  # "answered" | "partly" | "not_found"; "" → from `found`

    @property
    def effective_outcome(self) -> str:
        """The outcome, read from `found` when none was recorded."""
        return self.outcome or ("answered" if self.found else "not_found")

    @property
    def declined(self) -> bool:
        """Did not answer outright: said nothing relevant was found, or that the asked detail is not stated."""
        return self.effective_outcome != "answered"

    @property
    def not_found(self) -> bool:
        return self.effective_outcome == "not_found"

    @property
    def partly(self) -> bool:
        return self.effective_outcome == "partly"


def answer_record(answer: Answer, hits: Sequence[Hit]) -> AnswerRecord:
    """Flatten an Answer and the hits it was generated from."""
    return AnswerRecord(
        found=answer.found,
        text=answer.text,
        citation_ids=tuple(citation.clause.clause_id for citation in answer.citations),
        retrieved_ids=tuple(hit.clause.clause_id for hit in hits),
        outcome=answer.outcome,
    )


def states_expected(answer: AnswerRecord, phrases: Collection[str]) -> bool:
    """Whether `answer` quotes one of `phrases` (in simplified script, as the gold clauses are written); a "not
    found" answer, which repeats the question, quotes none."""
    if answer.not_found:
        return False
    text = to_simplified(answer.text)
    return any(phrase in text for phrase in phrases)


def _first_cited_in(answer: AnswerRecord, clause_ids: Collection[str]) -> bool:
    """Whether the answer's first citation is one of `clause_ids` (a part of a long clause: its clause)."""
    if not answer.citation_ids:
        return False
    first = answer.citation_ids[0]
    return first in clause_ids or first.rsplit("-", 1)[0] in clause_ids


def score_answers(
    answers: Mapping[str, AnswerRecord],
    *,
    answerable_ids: Collection[str],
    gold_departments: Mapping[str, Collection[str]],
    known_departments: Collection[str] = (),
    canonical: Callable[[str], str] = _same_name,
    qrels: Mapping[str, Mapping[str, int]] | None = None,
    kinds: Mapping[str, str] | None = None,
    expected_phrases: Mapping[str, Collection[str]] | None = None,
    topics: Mapping[str, Collection[str]] | None = None,
) -> dict[str, float]:
    """Answer-level rates over the questions in `answers`; a key is absent when no question fits it.

    - "unanswerable_declined": share of unanswerable questions not answered outright ("partly" counts:
      it says the asked detail is not stated); "declined:<kind>" per kind of unanswerable question
    - "answerable_declined": share of answerable questions wrongly answered "not found"
    - "answerable_partly": share of answerable questions answered "partly" (cited, but saying that the
      asked detail is not stated: wrong when the documents do state it)
    - "first_citation_gold": share of answerable questions whose first citation is a gold clause (`qrels`)
    - "states_expected": share of the questions with `expected_phrases` (a fact: an amount, a deadline, a
      count) whose answer quotes one of them; a "not found" answer quotes none. The clause cited can be
      right while the sentence quoted is not (a signature's date for a deadline)
    - "partly_cites_topic": share of the unanswerable questions with `topics` (the clauses on a topic whose
      detail they leave unstated) answered "partly" whose first citation is one of those clauses
    - "citations_grounded": share of answers whose every citation is a retrieved clause
    - "department_precision" / "department_recall": macro means over the questions with gold
      departments; names are looked for among `known_departments` and every gold name, and
      compared after `canonical` (see `department_precision_recall`)
    EvalSet.answerable_ids() and EvalSet.gold_departments() give the two keyword arguments.
    """
    vocabulary = set(known_departments) | {name for names in gold_departments.values() for name in names}
    samples: dict[str, list[float]] = {}
    for query_id, answer in answers.items():
        if query_id in answerable_ids:
            samples.setdefault("answerable_declined", []).append(1.0 if answer.not_found else 0.0)
            samples.setdefault("answerable_partly", []).append(1.0 if answer.partly else 0.0)
            if qrels is not None:
                samples.setdefault("first_citation_gold", []).append(
                    1.0 if _first_cited_in(answer, relevant_ids(qrels.get(query_id, {}))) else 0.0)
        else:
            samples.setdefault("unanswerable_declined", []).append(1.0 if answer.declined else 0.0)
            if kinds and kinds.get(query_id):
                samples.setdefault(f"declined:{kinds[query_id]}", []).append(1.0 if answer.declined else 0.0)
            if topics and topics.get(query_id) and answer.partly:
                samples.setdefault("partly_cites_topic", []).append(
                    1.0 if _first_cited_in(answer, topics[query_id]) else 0.0)
        if expected_phrases and expected_phrases.get(query_id):
            samples.setdefault("states_expected", []).append(
                1.0 if states_expected(answer, expected_phrases[query_id]) else 0.0)
        grounded = citations_grounded(answer.citation_ids, answer.retrieved_ids)
        samples.setdefault("citations_grounded", []).append(1.0 if grounded else 0.0)
        if gold_departments.get(query_id):
            precision, recall = department_precision_recall(
                answer.text, gold_departments[query_id], vocabulary, canonical=canonical
            )
            samples.setdefault("department_precision", []).append(precision)
            samples.setdefault("department_recall", []).append(recall)
    return {key: sum(values) / len(values) for key, values in sorted(samples.items())}
