"""Feedback on answers, kept in one local SQLite file: every answer served, and each 👍/👎 with its correction.

Two tables: `asked` logs every answer the chat or the API served (so the most frequent declined questions can
be listed), `feedback` holds ratings with an optional "正确的出处是…" and comment. WAL mode lets the server's
threads read while one writes; each call opens its own short-lived connection.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rag.clause_store import ClauseStore, SearchFilters
from rag.errors import FeedbackError
from rag.schema import Answer, Clause

DECLINED = ("partly", "not_found")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS asked (
  id INTEGER PRIMARY KEY, time TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
  citations TEXT NOT NULL, outcome TEXT NOT NULL, mode TEXT NOT NULL, index_version TEXT NOT NULL,
  channel TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
  id INTEGER PRIMARY KEY, time TEXT NOT NULL, asked_id INTEGER REFERENCES asked(id), question TEXT NOT NULL,
  answer TEXT NOT NULL, citations TEXT NOT NULL, outcome TEXT NOT NULL, mode TEXT NOT NULL,
  index_version TEXT NOT NULL, rating INTEGER NOT NULL CHECK (rating IN (1, -1)), correct_source TEXT NOT NULL,
  correct_ids TEXT NOT NULL, comment TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS asked_outcome ON asked (outcome);
"""


@dataclass(frozen=True)
class Served:
    """An answer as it was served: what the `asked` log and a rating refer to."""

    question: str
    answer: str
    outcome: str
    mode: str  # "extractive" | "llm"
    citation_ids: tuple[str, ...]
    index_version: str

    @classmethod
    def of(cls, answer: Answer, *, index_version: str) -> Served:
        return cls(answer.question, answer.text, answer.outcome, answer.mode,
                   tuple(c.clause.clause_id for c in answer.citations), index_version)


@dataclass(frozen=True)
class Feedback:
    served: Served
    rating: int  # +1 👍, -1 👎
    correct_source: str = ""  # "正确的出处是…" as written
    correct_ids: tuple[str, ...] = ()  # the clauses it names, resolved against the index
    comment: str = ""
    asked_id: int | None = None  # the `asked` row rated, when known


@dataclass(frozen=True)
class StoredFeedback:
    id: int
    time: str
    feedback: Feedback


@dataclass(frozen=True)
class DeclinedQuestion:
    question: str
    count: int
    last_time: str  # ISO UTC


class FeedbackStore:
    """The feedback file; created with its tables on first use."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._prepared = False
        self._preparing = threading.Lock()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self._prepare()
            with closing(sqlite3.connect(self.path, timeout=10)) as connection:
                with connection:  # one transaction: committed on success, rolled back on error
                    yield connection
        except sqlite3.Error as error:
            raise FeedbackError(f"反馈记录文件 {self.path} 无法读写：{error}") from error

    def _prepare(self) -> None:
        """WAL mode and the tables, once per store: switching the journal mode needs the file to itself, and
        six threads each doing it on their first write got “database is locked” (a record lost)."""
        with self._preparing:
            if self._prepared:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10)) as connection:
                connection.execute("PRAGMA journal_mode=WAL")  # kept in the file for every later connection
                connection.executescript(_SCHEMA)
            self._prepared = True

    def record_served(self, served: Served, *, channel: str) -> int:
        """Log an answer served by the chat or the API; returns its id for a later rating."""
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO asked (time, question, answer, citations, outcome, mode, index_version, channel) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (_now(), served.question, served.answer, json.dumps(served.citation_ids), served.outcome, served.mode,
                 served.index_version, channel))
            return int(cursor.lastrowid or 0)

    def add(self, feedback: Feedback) -> int:
        if feedback.rating not in (1, -1):
            raise ValueError("rating must be 1 (👍) or -1 (👎)")
        served = feedback.served
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO feedback (time, asked_id, question, answer, citations, outcome, mode, index_version, "
                "rating, correct_source, correct_ids, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_now(), feedback.asked_id, served.question, served.answer, json.dumps(served.citation_ids),
                 served.outcome, served.mode, served.index_version, feedback.rating, feedback.correct_source,
                 json.dumps(feedback.correct_ids), feedback.comment))
            return int(cursor.lastrowid or 0)

    def feedback(self) -> list[StoredFeedback]:
        """Every rating, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT id, time, asked_id, question, answer, citations, outcome, mode, index_version, "
                              "rating, correct_source, correct_ids, comment FROM feedback ORDER BY id").fetchall()
        return [StoredFeedback(row[0], row[1], Feedback(
            Served(row[3], row[4], row[6], row[7], tuple(json.loads(row[5])), row[8]), rating=row[9],
            correct_source=row[10], correct_ids=tuple(json.loads(row[11])), comment=row[12], asked_id=row[2]))
            for row in rows]

    def declined(self, limit: int = 20) -> list[DeclinedQuestion]:
        """The questions most often answered "partly" or "not found", most frequent first."""
        with self._connect() as db:
            rows = db.execute(
                f"SELECT question, COUNT(*), MAX(time) FROM asked WHERE outcome IN ({', '.join('?' * len(DECLINED))}) "
                "GROUP BY question ORDER BY COUNT(*) DESC, MAX(time) DESC LIMIT ?", (*DECLINED, limit)).fetchall()
        return [DeclinedQuestion(question, count, last) for question, count, last in rows]

    def served(self, asked_id: int) -> Served | None:
        with self._connect() as db:
            row = db.execute("SELECT question, answer, outcome, mode, citations, index_version FROM asked WHERE id = ?",
                             (asked_id,)).fetchone()
        return None if row is None else Served(row[0], row[1], row[2], row[3], tuple(json.loads(row[4])), row[5])


def resolve_sources(text: str, clauses: Iterable[Clause], *, cited_ids: Sequence[str] = ()) -> tuple[str, ...]:
    """The clause ids a "正确的出处是…" names: ids, citations (《title》六（十六）), or places (六（十六）, 第十条)
    within a document the text names, else within the documents the answer cited. Parts of a long clause
    count as the clause (qrels grade the base id)."""
    candidates = [c for c in clauses if c.kind != "heading"]  # bare headings are not indexed: never gold
    named_docs = {c.doc_id for c in candidates if f"《{c.doc_title}》" in text or c.doc_title in text}
    cited_docs = {cited.split("#", 1)[0] for cited in cited_ids}
    found: dict[str, None] = {}
    for clause in candidates:
        if _names(text, clause.base_id) or _names(text, clause.citation) or (
                clause.doc_id in (named_docs or cited_docs) and clause.place and _names(text, clause.place)):
            found[clause.base_id] = None
    return tuple(found)


def sources_in_store(text: str, store: ClauseStore, *, cited_ids: Sequence[str] = ()) -> tuple[str, ...]:
    """`resolve_sources` over the clauses of the documents that could be meant: those the text names (by id
    or title) and those the answer cited. Every clause id starts with its document's id, so nothing else
    can match, and a store need not hand over all its clauses."""
    documents = {d.doc_id for d in store.manifest.documents if d.doc_id in text or d.title in text}
    documents |= {cited.split("#", 1)[0] for cited in cited_ids}
    if not documents:
        return ()
    return resolve_sources(text, store.clauses_matching(SearchFilters(doc_ids=tuple(sorted(documents)))),
                           cited_ids=cited_ids)


def _names(text: str, needle: str) -> bool:
    """Whole mentions only: "六（十六）" is named in "是六（十六）那条", not in "十六（十六）"; "…#一" not in "…#一（一）"."""
    return re.search(rf"(?<![（一二三四五六七八九十百零〇]){re.escape(needle)}(?![（）一二三四五六七八九十百零〇之])",
                     text) is not None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
