"""`rag feedback export`: the ratings as candidate eval questions in the eval/ format, for a person to review.

- queries.jsonl + qrels.tsv (load with `rag eval --set DIR`): a 👎 with a correct source gives its question
  with the named clauses as gold (grade 2); a 👍 gives its question with the clauses it cited (the first
  grade 2, the others 1). A later correction of the same question replaces what a 👍 said.
- declined.txt: the questions most often answered "partly" or "not found", with counts, for the corpus
  maintainer (what documents are missing).
- unresolved.tsv: 👎 without a correct source that names a clause, to be looked at by hand.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import QueryError
from rag.feedback import FeedbackStore, StoredFeedback
from rag.question import analyze_question

QRELS_HEADER = "query-id\tcorpus-id\tscore"


@dataclass
class _Candidate:
    question: str
    grades: dict[str, int]
    source: str  # "correction" | "rating"
    feedback_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ExportSummary:
    directory: Path
    questions: int
    from_corrections: int
    from_ratings: int
    declined: int
    unresolved: int


def export_feedback(store: FeedbackStore, directory: str | Path, *, declined_limit: int = 200) -> ExportSummary:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    candidates: dict[str, _Candidate] = {}
    unresolved: list[StoredFeedback] = []
    for stored in store.feedback():  # oldest first: later ratings win
        feedback, question = stored.feedback, stored.feedback.served.question.strip()
        key = re.sub(r"\s+", "", question)  # one question, however it was spaced
        if not key:
            continue
        if feedback.rating < 0:
            if not feedback.correct_ids:
                unresolved.append(stored)
                continue
            first_asked = candidates[key].question if key in candidates else question
            candidates[key] = _Candidate(first_asked, {_base_id(i): 2 for i in feedback.correct_ids}, "correction")
        else:
            if not feedback.served.citation_ids or candidates.get(key, _Candidate("", {}, "")).source == "correction":
                continue
            candidate = candidates.setdefault(key, _Candidate(question, {}, "rating"))
            for position, clause_id in enumerate(feedback.served.citation_ids):
                grade = 2 if position == 0 else 1
                candidate.grades[_base_id(clause_id)] = max(grade, candidate.grades.get(_base_id(clause_id), 0))
        candidates[key].feedback_ids.append(stored.id)

    kept = [c for c in candidates.values() if _style(c.question)]
    with (out / "queries.jsonl").open("w", encoding="utf-8") as queries, \
            (out / "qrels.tsv").open("w", encoding="utf-8") as qrels:
        qrels.write(QRELS_HEADER + "\n")
        for number, candidate in enumerate(kept, start=1):
            query_id = f"fb{number:04d}"
            metadata = {"style": _style(candidate.question), "split": "test", "set": "feedback",
                        "source": candidate.source, "feedback_ids": candidate.feedback_ids,
                        "note": "from user feedback: review before adding to an eval set"}
            queries.write(json.dumps({"_id": query_id, "text": candidate.question, "metadata": metadata},
                                     ensure_ascii=False) + "\n")
            qrels.writelines(f"{query_id}\t{clause_id}\t{grade}\n" for clause_id, grade in candidate.grades.items())

    declined = store.declined(limit=declined_limit)
    (out / "declined.txt").write_text("".join(f"{d.count}\t{d.question}\n" for d in declined), encoding="utf-8")
    (out / "unresolved.tsv").write_text("question\tcorrect_source\tcited\n" + "".join(
        f"{_cell(s.feedback.served.question)}\t{_cell(s.feedback.correct_source)}\t"
        f"{' '.join(s.feedback.served.citation_ids)}\n" for s in unresolved), encoding="utf-8")
    return ExportSummary(out, len(kept), sum(c.source == "correction" for c in kept),
                         sum(c.source == "rating" for c in kept), len(declined), len(unresolved))


def _base_id(clause_id: str) -> str:
    """"…#六（十六）-2" → "…#六（十六）": qrels grade the clause, and a hit on any part counts for it."""
    return re.sub(r"(#[^#]*)-\d+$", r"\1", clause_id)


def _style(question: str) -> str:
    """The eval style the question reads as (eval/README.md); "" for text that is no question at all."""
    try:
        query = analyze_question(question)
    except QueryError:
        return ""
    if query.traditional:
        return "traditional"
    return {"department": "department", "figure": "numeric"}.get(query.intent, "colloquial")


def _cell(text: str) -> str:
    return re.sub(r"[\t\r\n]+", " ", text)
