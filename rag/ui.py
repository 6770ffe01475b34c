"""What the web app shows: answers and clauses as HTML cards and as plain text, chat history, the corpus table.

Pure functions of the schema objects, so they are testable without a server; app.py wires them to Gradio.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from rag.schema import Answer, Clause, Hit
from rag.shapes import source_line
from rag.store import DocumentEntry

# Scoped to each gr.HTML through `css_template`, so cards look the same however the app is launched.
CARD_CSS = """
.notice { padding: 8px 12px; border-radius: 8px; background: var(--color-accent-soft);
  border: 1px solid var(--border-color-primary); }
.section-title { font-weight: 600; margin: 12px 0 6px; }
.muted { color: var(--body-text-color-subdued); font-size: 0.9em; }
.clause-card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 14px;
  margin: 8px 0; background: var(--block-background-fill); line-height: 1.6; }
.clause-card .card-head { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.clause-card .marker { font-weight: 700; color: var(--color-accent); }
.clause-card .doc { font-weight: 600; }
.clause-card .where { margin-top: 2px; }
.clause-card .chapter { color: var(--body-text-color-subdued); }
.clause-card .label { font-weight: 600; }
.clause-card .departments { margin-top: 6px; display: flex; gap: 6px; flex-wrap: wrap; align-items: center; }
.clause-card .department { padding: 1px 8px; border-radius: 999px; font-size: 0.9em;
  background: var(--color-accent-soft); border: 1px solid var(--border-color-accent); }
.clause-card .department.lead { font-weight: 700; border-width: 2px; }
.clause-card .lead-mark { margin-left: 4px; padding: 0 5px; border-radius: 4px; font-size: 0.8em;
  background: var(--color-accent); color: white; }
.clause-card details { margin-top: 6px; }
.clause-card summary { cursor: pointer; color: var(--color-accent); }
.clause-card .clause-text { white-space: pre-wrap; margin: 6px 0 0; }
"""

STAGE_NAMES = {"chunk": "切分条款", "embed": "计算向量", "index": "写入索引"}
_NO_RESULTS = "没有匹配的条款。可以换个说法、改用“关键词”检索，或放宽文件和部门限定。"


# (as written, as sent): each pair breaks one way text could become markup in the chat's Markdown renderer:
# HTML tags, [links](url), ![images](url), [reference][links] and [their]: definitions, bare URLs, e-mail
# autolinks. The backslash escapes and the entity render as the characters themselves; ordinary answers,
# their [n] markers included, pass unchanged, so copying a message copies clean text.
_NEUTRALISED = (("<", "&lt;"), ("](", "]\\("), ("][", "]\\["), ("]:", "]\\:"), ("://", "\\://"), ("@", "\\@"))
_WWW = re.compile(r"(www)\.", re.IGNORECASE)  # autolinked in any case: WWW.example.org too
_WWW_SENT = re.compile(r"(www)\\\.", re.IGNORECASE)


def markdown_text(text: str) -> str:
    """Text for a Markdown component (chat bubbles, status lines) that shows as text, never as markup.

    Document text is untrusted: `<img src=…>`, `[x](url)` or a bare URL in a clause must not load or link
    anything in the browser.
    """
    for written, sent in _NEUTRALISED:
        text = text.replace(written, sent)
    return _WWW.sub(r"\1\\.", text)


def message_text(content: Any) -> str:
    """The text of a Chatbot message: a plain string or Gradio's list of {"type": "text", "text": …} parts."""
    if isinstance(content, str):
        return _unneutralised(content)
    if isinstance(content, dict):
        return _unneutralised(str(content.get("text", "")))
    if isinstance(content, Sequence):
        return "\n".join(message_text(part) for part in content if message_text(part))
    return ""


def _unneutralised(text: str) -> str:
    """Undoes markdown_text, so follow-up questions see the answer as it was written."""
    text = _WWW_SENT.sub(r"\1.", text)
    for written, sent in reversed(_NEUTRALISED):
        text = text.replace(sent, written)
    return text


def history_pairs(messages: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """Chatbot messages as (question, answer) pairs, the shape Pipeline.ask takes."""
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for message in messages:
        text = message_text(message.get("content"))
        if message.get("role") == "user":
            question = text
        elif message.get("role") == "assistant" and question is not None:
            pairs.append((question, text))
            question = None
    return pairs


def clause_location(clause: Clause) -> str:
    """Label and title as written, e.g. "（十六）提升质量基础设施服务效能", "第四十八条"."""
    # Other kinds are cited by article number, chapter or 序言/结尾: the citation after 《title》.
    where = f"{clause.label}{clause.title}" if clause.kind == "clause" else clause.place
    return f"{where}（第{clause.part}部分）" if clause.part > 1 else where


def departments_html(clause: Clause) -> str:
    if not clause.departments:
        return ""
    chips = []
    for department in clause.departments:
        if department == clause.lead_department:
            chips.append(f'<span class="department lead">{escape(department)}<span class="lead-mark">牵头</span></span>')
        else:
            chips.append(f'<span class="department">{escape(department)}</span>')
    return f'<div class="departments"><span class="muted">责任部门</span>{"".join(chips)}</div>'


def clause_card(clause: Clause, *, marker: str = "") -> str:
    """One clause: document, chapter, label and title, responsible departments, the full text folded."""
    heading = f'<span class="marker">{escape(marker)}</span>' if marker else ""
    chapter = " › ".join(escape(part) for part in (clause.chapter, clause.section) if part)
    where = f'<span class="chapter">{chapter}</span> › ' if chapter and clause.kind != "chapter" else ""
    meta = " · ".join(part for part in (clause.issuer, clause.date) if part)
    details = f'<span class="muted">{escape(meta)}</span>' if meta else ""
    return (
        '<article class="clause-card">'
        f'<div class="card-head">{heading}<span class="doc">《{escape(clause.doc_title)}》</span>{details}</div>'
        f'<div class="where">{where}<span class="label">{escape(clause_location(clause))}</span></div>'
        f"{departments_html(clause)}"
        f'<details><summary>条款全文</summary><div class="clause-text">{escape(clause.text)}</div></details>'
        "</article>"
    )


def answer_cards(answer: Answer) -> str:
    """The sources under an answer; when nothing was found, the "可能相关" clauses instead."""
    parts = [f'<div class="notice">{escape(warning)}</div>' for warning in answer.warnings]
    if answer.reasons:  # why the answer was declined or is partial, so the reader can judge it
        parts.append(f'<div class="muted reasons">原因：{escape("；".join(answer.reasons))}</div>')
    if answer.found and answer.citations:
        parts.append('<div class="section-title">出处</div>')
        parts.extend(clause_card(c.clause, marker=f"[{c.n}]") for c in answer.citations)
    elif answer.related:
        parts.append('<div class="section-title">可能相关</div>'
                     '<div class="muted">以下条款与问题有关联，但不足以直接回答，仅供参考。</div>')
        parts.extend(clause_card(hit.clause) for hit in answer.related)
    return "".join(parts)


def answer_plain_text(answer: Answer) -> str:
    """The answer with its sources, ready to paste into a hotline reply or a ticket."""
    lines = [f"问：{answer.question.strip()}", f"答：{answer.text.strip()}"]
    if answer.reasons:
        lines.append(f"（原因：{'；'.join(answer.reasons)}）")
    if answer.found and answer.citations:
        lines += ["", "出处："]
        lines += [f"[{c.n}] {source_line(c.clause)}" for c in answer.citations]
    elif answer.related:
        lines += ["", "可能相关（仅供参考）："]
        lines += [f"- {source_line(hit.clause)}" for hit in answer.related]
    return "\n".join(lines)


def search_results(hits: Sequence[Hit]) -> str:
    if not hits:
        return f'<div class="notice">{_NO_RESULTS}</div>'
    header = f'<div class="muted">找到 {len(hits)} 条，按相关度排序。</div>'
    return header + "".join(clause_card(hit.clause, marker=f"{hit.rank}.") for hit in hits)


def notice_html(message: str) -> str:
    return f'<div class="notice">{escape(message)}</div>' if message else ""


def document_rows(documents: Sequence[DocumentEntry]) -> list[list[Any]]:
    """The corpus table: 标题, 发布机关, 日期, 条款数, 来源文件."""
    return [[d.title, d.issuer, d.date, d.clauses, d.source.replace("\\", "/").rsplit("/", 1)[-1]]
            for d in documents]


def document_choices(documents: Sequence[DocumentEntry]) -> list[tuple[str, str]]:
    """(label, doc_id) pairs for the "限定文件" selector."""
    return [(d.title, d.doc_id) for d in documents]


def progress_label(stage: str, done: int, total: int) -> str:
    return f"{STAGE_NAMES.get(stage, stage)} {done}/{total}" if total > 1 else STAGE_NAMES.get(stage, stage)


class ProgressText:
    """Progress labels for one upload, with the embedding rate and time left: "计算向量 120/500 · 每秒 35.2 条 · 约剩 11 秒"."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started: dict[str, tuple[float, int]] = {}

    def __call__(self, stage: str, done: int, total: int) -> str:
        label = progress_label(stage, done, total)
        now = self.clock()
        started_at, started_done = self.started.setdefault(stage, (now, done))
        if stage != "embed" or done <= started_done or now <= started_at:
            return label
        rate = (done - started_done) / (now - started_at)
        left = round((total - done) / rate)
        return f"{label} · 每秒 {rate:.1f} 条 · 约剩 {left // 60} 分 {left % 60} 秒" if left >= 60 else \
            f"{label} · 每秒 {rate:.1f} 条 · 约剩 {left} 秒"
