"""What the web app shows: answers and clauses as HTML cards and as plain text, chat history, the corpus table.

Pure functions of the schema objects, so they are testable without a server; app.py wires them to Gradio.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Sequence
from html import escape
from typing import Any

from rag.clause_store import DocumentEntry
from rag.clean import to_script_of
from rag.question import Query, query_terms
from rag.schema import Answer, Clause, Hit
from rag.shapes import source_line

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
.departments { margin-top: 6px; display: flex; gap: 6px; flex-wrap: wrap; align-items: center; }
.department { padding: 1px 8px; border-radius: 999px; font-size: 0.9em;
  background: var(--color-accent-soft); border: 1px solid var(--border-color-accent); }
.department.lead { font-weight: 700; border-width: 2px; }
.lead-mark { margin-left: 4px; padding: 0 5px; border-radius: 4px; font-size: 0.8em;
  background: var(--color-accent); color: white; }
.clause-card details { margin-top: 6px; }
.clause-card summary { cursor: pointer; color: var(--color-accent); }
.clause-card .clause-text { white-space: pre-wrap; margin: 6px 0 0; }
.clause-card:target { box-shadow: 0 0 0 3px var(--color-accent); }
.clause-card .open-in-document { margin-left: auto; padding: 0 8px; border-radius: 6px; font-size: 0.85em;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary); cursor: pointer; }
.clause-card .snippet { margin-top: 6px; }
.clause-card .semantic { font-size: 0.8em; padding: 0 6px; border-radius: 4px; border: 1px dashed var(--border-color-primary); }
mark { background: #fde68a; color: inherit; padding: 0 1px; border-radius: 2px; }
.sources { scroll-margin-top: 8px; }
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
_MARKER = re.compile(r"\[(\d+)\]")
# Our own links, added after the text was neutralised: a document's "[1](…" arrives as "[1]\(…" and never matches.
_MARKER_LINK = re.compile(r"\[\[(\d+)\]\]\(#source-\d+-\d+\)")
SNIPPET_CHARS = 140


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


def answer_markdown(answer: Answer, *, turn: int) -> str:
    """The answer for the chat: shown as text, each [n] a link to source card n of this turn (`source_anchor`)."""
    cited = {citation.n for citation in answer.citations} if answer.found else set()
    return _MARKER.sub(lambda m: f"[[{m[1]}]](#{source_anchor(turn, int(m[1]))})" if int(m[1]) in cited else m[0],
                       markdown_text(answer.text))


def source_anchor(turn: int, n: int) -> str:
    """The id of card n under the turn-th answer of a conversation: unique on the page, so [n] finds its own."""
    return f"source-{turn}-{n}"


def _unneutralised(text: str) -> str:
    """Undoes answer_markdown, so follow-up questions see the answer as it was written."""
    text = _MARKER_LINK.sub(r"[\1]", text)
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


def clause_card(clause: Clause, *, marker: str = "", anchor: str = "", terms: Sequence[str] = (),
                tag: str = "") -> str:
    """One clause: document, chapter, label and title, responsible departments, the full text folded.

    `anchor` is the card's id (what [n] links to); with search `terms`, a snippet around the first of them
    shows above the folded text and both mark every term; `tag` is a short note in the head (意思相近).
    """
    heading = f'<span class="marker">{escape(marker)}</span>' if marker else ""
    chapter = " › ".join(escape(part) for part in (clause.chapter, clause.section) if part)
    where = f'<span class="chapter">{chapter}</span> › ' if chapter and clause.kind != "chapter" else ""
    meta = " · ".join(part for part in (clause.issuer, clause.date) if part)
    details = f'<span class="muted">{escape(meta)}</span>' if meta else ""
    card_id = f' id="{escape(anchor)}"' if anchor else ""
    tag = f'<span class="semantic">{escape(tag)}</span>' if tag else ""
    opener = f'<button class="open-in-document" data-open-clause="{escape(clause.base_id)}">在文件中查看</button>'
    excerpt = snippet_html(clause.text, terms) if terms else ""
    excerpt = f'<div class="snippet">{excerpt}</div>' if excerpt else ""
    return (
        f'<article class="clause-card"{card_id}>'
        f'<div class="card-head">{heading}<span class="doc">《{escape(clause.doc_title)}》</span>{details}{tag}'
        f"{opener}</div>"
        f'<div class="where">{where}<span class="label">{escape(clause_location(clause))}</span></div>'
        f"{departments_html(clause)}"
        f"{excerpt}"
        f'<details><summary>条款全文</summary><div class="clause-text">{highlighted(clause.text, terms)}</div>'
        "</details></article>"
    )


def highlighted(text: str, terms: Sequence[str]) -> str:
    """`text` as HTML with every occurrence of `terms` in <mark>; the longest term wins where they overlap."""
    pattern = _terms_pattern(terms)
    if pattern is None:
        return escape(text)
    parts = pattern.split(text)  # the capturing group keeps the matches at the odd positions
    return "".join(f"<mark>{escape(part)}</mark>" if i % 2 else escape(part) for i, part in enumerate(parts))


def snippet_html(text: str, terms: Sequence[str], *, width: int = SNIPPET_CHARS) -> str:
    """About `width` characters around the first term, marked; "" when no term occurs in `text`."""
    pattern = _terms_pattern(terms)
    found = pattern.search(text) if pattern else None
    if found is None:
        return ""
    start = max(0, min(found.start() - width // 4, len(text) - width))
    end = min(len(text), start + width)
    flat = " ".join(text[start:end].split())
    return f"{'…' if start else ''}{highlighted(flat, terms)}{'…' if end < len(text) else ''}"


def _terms_pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    words = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
    return re.compile(f"({'|'.join(map(re.escape, words))})") if words else None


def answer_cards(answer: Answer, *, turn: int = 1) -> str:
    """The sources under the turn-th answer of a conversation; when nothing was found, the "可能相关" clauses."""
    parts = [f'<div class="notice">{escape(warning)}</div>' for warning in answer.warnings]
    if answer.reasons:  # why the answer was declined or is partial, so the reader can judge it
        parts.append(f'<div class="muted reasons">原因：{escape("；".join(answer.reasons))}</div>')
    if answer.found and answer.citations:
        parts.append('<div class="section-title">出处</div>')
        parts.extend(clause_card(c.clause, marker=f"[{c.n}]", anchor=source_anchor(turn, c.n))
                     for c in answer.citations)
    elif answer.related:
        parts.append('<div class="section-title">可能相关</div>'
                     '<div class="muted">以下条款与问题有关联，但不足以直接回答，仅供参考。</div>')
        parts.extend(clause_card(hit.clause) for hit in answer.related)
    return f'<section class="sources">{"".join(parts)}</section>' if parts else ""


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
    return to_script_of(answer.question, "\n".join(lines))


def search_results(hits: Sequence[Hit], *, terms: Sequence[str] = (), matching: Collection[str] = ()) -> str:
    """Search hits as cards with their snippets; `matching` holds the base ids of every clause that has the
    search words (the keyword search's full list), so the count line says how many there really are."""
    if not hits:
        return f'<div class="notice">{_NO_RESULTS}</div>'
    semantic = [hit.clause.base_id not in matching for hit in hits]
    header = f'<div class="muted count">{count_line(len(hits), sum(semantic), len(matching))}</div>'
    return header + "".join(clause_card(hit.clause, marker=f"{hit.rank}.", terms=terms,
                                        tag="意思相近" if only_meaning else "")
                            for hit, only_meaning in zip(hits, semantic, strict=True))


def highlight_terms(query: Query) -> tuple[str, ...]:
    """The words to mark in results: the query's own words and the policy terms its colloquial words stand for."""
    return (*query_terms(query.text, query.words), *query.expansions)


def count_line(shown: int, semantic: int, matching: int) -> str:
    """"共 37 条条款含检索词，按相关度显示前 10 条。": the number shown is the k asked for, not the matches."""
    if matching == 0:
        return f"没有条款含检索词；以下 {shown} 条是意思最接近的条款。"
    also = f"（其中 {semantic} 条不含检索词，意思相近）" if semantic else ""
    if matching > shown - semantic:
        return f"共 {matching} 条条款含检索词，按相关度显示前 {shown} 条{also}。"
    return f"共找到 {shown} 条，按相关度排序{also}。"


def notice_html(message: str) -> str:
    return f'<div class="notice">{escape(message)}</div>' if message else ""


def document_rows(documents: Sequence[DocumentEntry]) -> list[list[Any]]:
    """The corpus table: 标题, 发布机关, 日期, 条款数, 来源文件."""
    return [[d.title, d.issuer, d.date, d.clauses, file_name(d.source)] for d in documents]


def file_name(source: str) -> str:
    """The file name of a document's source path, whichever system wrote the path."""
    return source.replace("\\", "/").rsplit("/", 1)[-1]


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
