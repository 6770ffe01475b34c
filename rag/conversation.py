"""A conversation as a hotline record: Markdown to read or paste into a ticket, CSV for a spreadsheet.

Each turn keeps its sources as the lines shown under the answer (rag/shapes.py), so the record says where
every answer came from.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from rag.schema import Answer
from rag.shapes import source_line

OUTCOME_NAMES = {"answered": "已回答", "partly": "部分回答（文件未写明所问细节）", "not_found": "未找到依据"}
CSV_HEADERS = ["序号", "时间", "问题", "回答", "结果", "出处"]


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str
    outcome: str = ""  # "answered" | "partly" | "not_found"; "" when not known
    sources: tuple[str, ...] = ()  # "[1] 《…》六（十六）「…」（责任部门：…）"
    time: str = ""  # as it should be shown, e.g. "2026-11-26 10:05"

    @classmethod
    def of(cls, answer: Answer, *, time: str = "") -> Turn:
        return cls(answer.question, answer.text, answer.outcome,
                   tuple(f"[{c.n}] {source_line(c.clause)}" for c in answer.citations), time)


def to_markdown(turns: Sequence[Turn], *, title: str = "咨询记录") -> str:
    lines = [f"# {title}", ""]
    for number, turn in enumerate(turns, start=1):
        when = f"（{turn.time}）" if turn.time else ""
        lines += [f"## {number}. 问：{turn.question.strip()}{when}", "", f"**答：**{_quoted(turn.answer.strip())}", ""]
        if turn.outcome in OUTCOME_NAMES and turn.outcome != "answered":
            lines += [f"结果：{OUTCOME_NAMES[turn.outcome]}", ""]
        if turn.sources:
            lines += ["出处：", "", *(f"- {source}" for source in turn.sources), ""]
    return "\n".join(lines)


def to_csv(turns: Sequence[Turn]) -> str:
    """CSV with a header row; starts with a byte-order mark so that Excel reads the Chinese as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for number, turn in enumerate(turns, start=1):
        writer.writerow([number, turn.time, turn.question.strip(), turn.answer.strip(),
                         OUTCOME_NAMES.get(turn.outcome, turn.outcome), "\n".join(turn.sources)])
    return "\ufeff" + buffer.getvalue()


FORMATS = {"md": (to_markdown, "text/markdown; charset=utf-8"), "csv": (to_csv, "text/csv; charset=utf-8")}


def _quoted(text: str) -> str:
    """A multi-line answer stays one Markdown paragraph per line: hard line breaks, not a run-on line."""
    return "  \n".join(text.splitlines())
