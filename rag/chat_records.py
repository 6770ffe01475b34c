"""What the chat keeps of the answers it served: the log, 👍/👎 with "正确的出处是…", and the conversation export.

Each session holds one entry per answer in a gr.State (plain dicts); the feedback file holds the rest.
A correction names its answer: the selector beside the correction box lists the conversation's answers by
number and question, starts on the latest one, and moves to an answer when it gets 👎.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import gradio as gr

from rag.conversation import Turn, to_csv, to_markdown
from rag.errors import RagError, user_message
from rag.feedback import Feedback, FeedbackStore, Served, sources_in_store
from rag.pipeline import Pipeline
from rag.schema import Answer

log = logging.getLogger("rag.app")

DECLINED_HEADERS = ["问题", "次数", "最近一次"]
_EXPORT_DIR = Path(tempfile.gettempdir()) / "rag-conversations"
_QUESTION_CHARS = 24  # of a question in the selector's labels: enough to tell the answers apart


class ChatRecords:
    """The handlers behind the chat's feedback and export controls, over one pipeline and feedback file."""

    def __init__(self, pipeline: Pipeline, store: FeedbackStore) -> None:
        self.pipeline = pipeline
        self.store = store

    def served(self, answer: Answer, *, message_index: int, number: int) -> dict[str, Any]:
        """Log a served answer and return the session's entry for it (what a rating or an export needs).

        `message_index` is its message in the Chatbot (what 👍/👎 report), `number` its place among the answers.
        """
        served = Served.of(answer, index_version=self.pipeline.index.manifest.version)
        try:
            asked_id: int | None = self.store.record_served(served, channel="chat")
        except RagError as error:  # the log is a by-product: the answer is still shown
            log.warning("%s", error)
            asked_id = None
        turn = Turn.of(answer, time=datetime.now().strftime("%Y-%m-%d %H:%M"))
        return {"message_index": message_index, "number": number, "asked_id": asked_id, "question": served.question,
                "answer": served.answer, "outcome": served.outcome, "mode": served.mode,
                "citations": list(served.citation_ids), "index_version": served.index_version,
                "sources": list(turn.sources), "time": turn.time}

    def rate(self, entries: list[dict[str, Any]] | None, data: gr.LikeData) -> tuple[str, Any]:
        """👍/👎 on an answer in the chat; 👎 also points the correction selector at that answer."""
        # An answer's bubble holds its text and its sources: Gradio may give [message, part] for either.
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        entry = next((e for e in entries or () if e["message_index"] == index), None)
        if entry is None or data.liked not in (True, False):
            return "", gr.skip()
        return self._save(entry, 1 if data.liked else -1), gr.skip() if data.liked else entry["number"]

    def correct(self, entries: list[dict[str, Any]] | None, number: int | None, text: str) -> tuple[str, str]:
        """"正确的出处是…" for the answer chosen in the selector (the latest when none is): a 👎 with the clauses it names."""
        if not entries:
            return "还没有回答可以更正：请先提问。", text
        if not (text or "").strip():
            return "请写下正确的出处，例如：《关于全面提升产品质量的实施意见》一（二），或条款编号。", text
        entry = next((e for e in entries if e["number"] == number), entries[-1])
        return self._save(entry, -1, correct_source=text.strip()), ""

    def _save(self, entry: dict[str, Any], rating: int, *, correct_source: str = "") -> str:
        served = Served(entry["question"], entry["answer"], entry["outcome"], entry["mode"],
                        tuple(entry["citations"]), entry["index_version"])
        try:
            correct_ids = sources_in_store(correct_source, self.pipeline.index,
                                           cited_ids=served.citation_ids) if correct_source else ()
            self.store.add(Feedback(served, rating, correct_source, correct_ids, asked_id=entry["asked_id"]))
        except Exception as error:
            return f"反馈未保存：{user_message(error)}"
        which = f"第 {entry['number']} 个回答"
        if correct_source:
            named = "、".join(correct_ids) if correct_ids else "（未能对应到具体条款，维护人员会人工核对）"
            return f"已记录对{which}的更正，谢谢！正确的出处：{named}"
        return f"已记录：{which}有帮助，谢谢！" if rating > 0 else f"已记录：{which}不对。可以在下方写下正确的出处。"

    def declined_rows(self) -> list[list[Any]]:
        """The 文件库 tab's table of the questions most often not answered."""
        try:
            return [[d.question, d.count, _local_time(d.last_time)] for d in self.store.declined(limit=20)]
        except RagError as error:
            log.warning("%s", error)
            return []


def correction_choices(entries: list[dict[str, Any]] | None = None) -> Any:
    """The selector's answers, "第 2 个回答：那牵头的是哪个部门？", on the latest; empty for a new conversation."""
    choices = [(f"第 {e['number']} 个回答：{_shortened(e['question'])}", e["number"]) for e in entries or ()]
    return gr.update(choices=choices, value=choices[-1][1] if choices else None)


def _shortened(question: str) -> str:
    question = " ".join(question.split())
    return question if len(question) <= _QUESTION_CHARS else question[:_QUESTION_CHARS - 1] + "…"


def conversation_files(entries: list[dict[str, Any]] | None, request: gr.Request) -> tuple[Any, Any]:
    """The conversation so far as Markdown and CSV downloads, one pair of files per browser session."""
    if not entries:
        return gr.update(visible=False, value=None), gr.update(visible=False, value=None)
    turns = [Turn(e["question"], e["answer"], e["outcome"], tuple(e["sources"]), e["time"]) for e in entries]
    folder = _EXPORT_DIR / (getattr(request, "session_hash", None) or "session")
    folder.mkdir(parents=True, exist_ok=True)
    for earlier in folder.glob("*"):  # only the latest export of a session is kept
        earlier.unlink(missing_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    markdown, table = folder / f"咨询记录-{stamp}.md", folder / f"咨询记录-{stamp}.csv"
    markdown.write_text(to_markdown(turns), encoding="utf-8")
    table.write_text(to_csv(turns), encoding="utf-8")
    return gr.update(visible=True, value=str(markdown)), gr.update(visible=True, value=str(table))


def _local_time(iso_utc: str) -> str:
    """"2026-11-26T02:40:01Z" as the server's local time, "2026-11-26 10:40"."""
    try:
        return datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso_utc
