"""A document as staff browse it in 文件库: chapter (and a law's 节) → clause, each with its label, title,
departments and lead, the text folded under it. A clause opened from a source card is unfolded and marked
in place, among its neighbours.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from html import escape

from rag.clause_store import DocumentEntry
from rag.schema import Clause
from rag.ui import clause_location, departments_html

OUTLINE_CSS = """
.outline { line-height: 1.6; }
.outline .outline-head { font-weight: 600; font-size: 1.1em; }
.outline .chapter-title { font-weight: 600; margin: 14px 0 4px; }
.outline .section-title { font-weight: 600; margin: 8px 0 4px 12px; color: var(--body-text-color-subdued); }
.outline details.outline-clause { margin: 2px 0 2px 12px; padding: 4px 8px; border-radius: 8px;
  border: 1px solid transparent; scroll-margin-top: 80px; }
.outline details.outline-clause[open] { border-color: var(--border-color-primary); background: var(--block-background-fill); }
.outline details.outline-clause.opened { border: 2px solid var(--color-accent); }
.outline summary { cursor: pointer; }
.outline summary .label { font-weight: 600; }
.outline summary .preview { color: var(--body-text-color-subdued); }
.outline .departments { display: inline-flex; margin: 0 0 0 8px; }
.outline .clause-text { white-space: pre-wrap; margin: 6px 0 0; }
"""
PREVIEW_CHARS = 36  # a law article has no title: the start of its text stands in for one


def document_outline(document: DocumentEntry, clauses: Sequence[Clause], *, opened: str = "") -> str:
    """The outline of `document` from its indexed clauses; `opened` (a clause's base id) is unfolded and marked."""
    meta = " · ".join(part for part in (document.issuer, document.date, f"{document.clauses} 条条款") if part)
    parts = ['<div class="outline">', f'<div class="outline-head">《{escape(document.title)}》</div>',
             f'<div class="muted">{escape(meta)}。点开一条查看全文。</div>']
    ordered = sorted(clauses, key=lambda clause: clause.start)
    for chapter, in_chapter in itertools.groupby(ordered, key=lambda clause: clause.chapter):
        if chapter:
            parts.append(f'<div class="chapter-title">{escape(chapter)}</div>')
        for section, in_section in itertools.groupby(in_chapter, key=lambda clause: clause.section):
            if section:
                parts.append(f'<div class="section-title">{escape(section)}</div>')
            parts.extend(_clause_item(whole, opened) for whole in _whole_clauses(list(in_section)))
    parts.append("</div>")
    return "".join(parts)


def _whole_clauses(clauses: list[Clause]) -> list[list[Clause]]:
    """Parts of an over-long clause together, in order: the outline shows each clause once."""
    return [list(group) for _, group in itertools.groupby(clauses, key=lambda clause: clause.base_id)]


def _clause_item(parts: list[Clause], opened: str) -> str:
    first = parts[0]
    label = {"chapter": "本章正文", "clause": first.label}.get(first.kind) or clause_location(first)
    title = first.title if first.kind == "clause" else ""
    preview = "" if title else " ".join("".join(p.text for p in parts).split())[:PREVIEW_CHARS] + "…"
    text = "\n".join(part.text for part in parts)
    is_opened = first.base_id == opened
    return (
        f'<details class="outline-clause{" opened" if is_opened else ""}"{" open" if is_opened else ""} '
        f'data-clause="{escape(first.base_id)}"><summary><span class="label">{escape(label)}</span> '
        f'{escape(title)}<span class="preview">{escape(preview)}</span>{departments_html(first)}</summary>'
        f'<div class="clause-text">{escape(text)}</div></details>'
    )
