"""One shape per output: a clause, hit and answer as JSON; a clause's citation line and departments line.

The CLI, the HTTP API, the chat, the conversation export and the LLM prompt all write clauses and answers
through these functions, so a citation reads the same wherever it is shown. Only `source` differs: the CLI
prints the path the index was built from (scripts on the same machine open it), the HTTP API the path under
the corpus folder that holds the file (`relative_sources`), since a server's absolute paths are its own
business.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from typing_extensions import TypedDict  # pydantic (the API's schema) needs this one before Python 3.12

from rag.schema import Answer, Clause, Hit

SourceName = Callable[[str], str]  # a clause's source path → the `source` a record shows


class ClauseMetadata(TypedDict):
    """A clause's public fields under the names of the JSON contract (also LangChain metadata)."""

    id: str
    doc_id: str
    doc_title: str
    source: str
    chapter: str
    clause: str  # the label as written: "（十六）", "第四十八条"
    clause_title: str
    departments: list[str]
    lead_department: str
    citation: str  # "《…》六（十六）"


class ClauseRecord(ClauseMetadata):
    text: str


class HitRecord(ClauseRecord):
    rank: int
    score: float
    similarity: float | None


class CitationRecord(ClauseRecord):
    n: int  # the marker [n] in the answer text


class AnswerRecord(TypedDict):
    """`rag ask --json` and `POST /api/ask`."""

    question: str
    answer: str
    found: bool
    outcome: str  # "answered" | "partly" | "not_found"
    reasons: list[str]
    citations: list[CitationRecord]
    mode: str  # "extractive" | "llm"
    related: list[HitRecord]
    warnings: list[str]


def as_built(source: str) -> str:
    """The source path as the index recorded it: the CLI's, for scripts on the machine that holds the files."""
    return source


def relative_sources(roots: Sequence[str | Path]) -> SourceName:
    """Sources as paths under the first of `roots` that holds them ("laws/民法典.txt"), "/" between folders;
    a file under none of them (or a root that is a file) shows as its file name. Never an absolute path."""
    # A root that is a file holds itself; one not there yet (the upload folder before any upload) is a folder.
    folders = [root.parent if root.is_file() else root for root in (Path(r).resolve() for r in roots)]

    def relative(source: str) -> str:
        path = Path(source.replace("\\", "/")).resolve()
        folder = next((f for f in folders if path.is_relative_to(f) and path != f), None)
        return path.relative_to(folder).as_posix() if folder else path.name

    return relative


def clause_metadata(clause: Clause, *, source: SourceName = as_built) -> ClauseMetadata:
    return {
        "id": clause.clause_id,
        "doc_id": clause.doc_id,
        "doc_title": clause.doc_title,
        "source": source(clause.source),
        "chapter": clause.chapter,
        "clause": clause.label,
        "clause_title": clause.title,
        "departments": list(clause.departments),
        "lead_department": clause.lead_department,
        "citation": clause.citation,
    }


def clause_record(clause: Clause, *, source: SourceName = as_built) -> ClauseRecord:
    return {**clause_metadata(clause, source=source), "text": clause.text}


def clause_fields(clause: Clause) -> dict[str, Any]:
    """Every field of a clause, under the dataclass's names (`rag chunk --json`), plus id and citation."""
    fields = dataclasses.asdict(clause)
    return {"id": fields.pop("clause_id"), **fields, "departments": list(clause.departments),
            "citation": clause.citation}


def hit_record(hit: Hit, *, source: SourceName = as_built) -> HitRecord:
    """`rag search --json` and `POST /api/search`: rank and scores, then the clause."""
    return {"rank": hit.rank, "score": round(hit.score, 6), "similarity": _rounded(hit.similarity),  # type: ignore[typeddict-item]
            **clause_record(hit.clause, source=source)}


def answer_record(answer: Answer, *, source: SourceName = as_built) -> AnswerRecord:
    return {
        "question": answer.question,
        "answer": answer.text,
        "found": answer.found,
        "outcome": answer.outcome,
        "reasons": list(answer.reasons),
        "citations": [{"n": c.n, **clause_record(c.clause, source=source)} for c in answer.citations],  # type: ignore[typeddict-item]
        "mode": answer.mode,
        "related": [hit_record(hit, source=source) for hit in answer.related],
        "warnings": list(answer.warnings),
    }


def place_line(clause: Clause) -> str:
    """Where in its document, with the clause's own title: 六（十六）「提升质量基础设施服务效能」."""
    title = clause.title.strip().rstrip("。")
    return f"{clause.place}「{title}」" if title and title not in clause.citation else clause.place


def citation_line(clause: Clause) -> str:
    """《…》六（十六）「提升质量基础设施服务效能」, 《…》第四十八条, 《…》序言."""
    return f"《{clause.doc_title}》{place_line(clause)}"


def departments_line(clause: Clause) -> str:
    """责任部门：市场监管总局（牵头）、科技部; "" when the clause names none."""
    if not clause.departments:
        return ""
    names = [f"{d}（牵头）" if d == clause.lead_department else d for d in clause.departments]
    return f"责任部门：{'、'.join(names)}"


def source_line(clause: Clause) -> str:
    """A source as listed under an answer: the citation line, then the departments in brackets."""
    departments = departments_line(clause)
    return f"{citation_line(clause)}（{departments}）" if departments else citation_line(clause)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
