"""Split a cleaned Document into clauses: 一、/（一） for policies, 编/章/节/第X条 for laws.

Invariant: chunks are in document order, never overlap, and together hold every non-whitespace
character of the document; `clause.text == document.text[clause.start:clause.end]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import cn2an

from rag.departments import parse_attribution
from rag.schema import Clause, Document

CN_DIGITS = "零〇一二三四五六七八九十百千两"  # the numerals of 第十二条, 十六部门, 二十几条
# A policy chapter "一、…" and clause "（一）…"; both may appear mid-line in one-line scrapes.
CHAPTER_MARK = re.compile(r"([一二三四五六七八九十]{1,3})、")
CLAUSE_MARK = re.compile(r"（([一二三四五六七八九十]{1,3})）")
# Law structure is always at line start; "依照本法第十条" mid-sentence is a cross-reference.
# Some sources misplace the space: "第七十五 条体育运动船艇…" is still article 75.
ARTICLE_MARK = re.compile(
    rf"^第([{CN_DIGITS}]+)(?P<gap>[^\S\n]+)?条(之[一二三四五六七八九十]+)?(?(gap)|(?=\s|$))", re.MULTILINE
)
# The title may follow without a space ("第五章法律责任"); _is_law_heading rejects sentences.
LAW_HEADING_MARK = re.compile(rf"^第([{CN_DIGITS}]+)(编|分编|章|节)([^\S\n]*)(.*)$", re.MULTILINE)
# Characters after which a mid-line marker starts a new unit rather than continuing a sentence.
_BOUNDARY_BEFORE = "。；：！？】）”\n"
_NOT_HEADING_BEFORE = "第款项条"
_HEADING_MAX_CHARS = 40
# Where a sentence ends. The one rule for long clauses split into parts, sentence vectors, the answer's
# quoted sentences and where a detail must be stated.
_SENTENCE_END = re.compile(r"(?<=[。；！？\n])")


def split_at_sentence_ends(text: str) -> list[str]:
    """`text` cut after each 。；！？ and line break, each piece keeping its ending; nothing dropped."""
    return [piece for piece in _SENTENCE_END.split(text) if piece]


_SHORT_LINE = 15  # characters


def split_sentences(text: str) -> list[str]:
    """The sentences a reader sees, the ones an answer quotes and the answer decision reads: ending at 。；！？ or a
    line break; fragments without three CJK characters are dropped.

    Short unpunctuated lines run together ("国务院办公厅" + "2014年4月21日"): a date alone says little.
    """
    sentences: list[str] = []
    for piece in split_at_sentence_ends(text):
        sentence = piece.strip()
        previous = sentences[-1] if sentences else ""
        if previous and len(previous) < _SHORT_LINE and len(sentence) < _SHORT_LINE and not previous.endswith(
                tuple("。；！？")):
            sentences[-1] = f"{previous} {sentence}"
        elif sentence:
            sentences.append(sentence)
    return [s for s in sentences if len(re.findall(r"[\u4e00-\u9fff]", s)) >= 3]


@dataclass(frozen=True)
class _Marker:
    start: int
    kind: str  # "chapter" | "clause" | "article" | "part" (编/章/节 heading)
    label: str  # as written: "六、" "（十六）" "第八条" "第一章"
    number: int
    level: str = ""  # for law headings: 编 | 分编 | 章 | 节


def split_clauses(document: Document, *, max_chars: int = 800) -> list[Clause]:
    """Split a document into clause chunks with stable ids and metadata."""
    if max_chars < 50:
        raise ValueError("max_chars must be at least 50")
    if document.kind == "passage":
        return [passage_clause(document)]
    text = document.text
    articles = list(ARTICLE_MARK.finditer(text))
    markers = _law_markers(text) if len(articles) >= 2 else _policy_markers(text)
    spans = _spans(text, markers)
    lead_first_listed = document.lead_first_listed or "列第一位者为牵头部门" in text
    clauses: list[Clause] = []
    used_ids: set[str] = set()
    for span in spans:
        for clause in _make_clauses(document, span, max_chars, lead_first_listed):
            clause_id = clause.clause_id
            suffix = 2
            while clause_id in used_ids:  # a repeated label (rare): keep ids unique and stable
                clause_id = f"{clause.clause_id}~{suffix}"
                suffix += 1
            used_ids.add(clause_id)
            clauses.append(clause if clause_id == clause.clause_id else replace(clause, clause_id=clause_id))
    return clauses


def passage_clause(document: Document) -> Clause:
    """A pre-chunked passage as one clause under its own id: no splitting; its title is its heading.

    The title goes in `chapter`, which the heading field indexes, not in the document title: a question
    containing a passage's title must not count as naming a document (that boosts it and drops the words).
    """
    return Clause(clause_id=document.doc_id, doc_id=document.doc_id, doc_title=document.title, kind="passage",
                  chapter=document.heading, label="", title="", text=document.text, start=0,
                  end=len(document.text), source=document.source)


def chinese_number(numeral: str) -> int:
    return int(cn2an.cn2an(numeral.replace("〇", "零").replace("两", "二"), "normal"))


# --- finding markers ---------------------------------------------------------------------------


def _at_line_start(text: str, index: int) -> bool:
    return index == 0 or text[index - 1] == "\n"


def _policy_markers(text: str) -> list[_Marker]:
    """Chapter and clause markers that continue the document's numbering.

    A line-start marker may skip numbers (an excerpt starts at 六、（十四）); a mid-line marker is
    accepted only when it is exactly the next number, so enumerations inside sentences don't split.
    Clause numbering may restart at （一） after a new chapter.
    """
    candidates = sorted(
        [(m.start(), "chapter", m.group(0), m.group(1)) for m in CHAPTER_MARK.finditer(text)]
        + [(m.start(), "clause", m.group(0), m.group(1)) for m in CLAUSE_MARK.finditer(text)]
    )
    accepted: list[_Marker] = []
    last = {"chapter": 0, "clause": 0}
    chapter_since_clause = False
    for start, kind, label, numeral in candidates:
        number = chinese_number(numeral)
        line_start = _at_line_start(text, start)
        before = text[start - 1] if start else "\n"
        if kind == "chapter" and not (line_start or before in _BOUNDARY_BEFORE):
            continue
        if before in _NOT_HEADING_BEFORE:
            continue
        restart = kind == "clause" and number == 1 and chapter_since_clause
        in_sequence = number == last[kind] + 1 or restart
        if not (in_sequence or (line_start and number > last[kind])):
            continue
        accepted.append(_Marker(start, kind, label, number))
        last[kind] = number
        if kind == "chapter":
            chapter_since_clause = True
        else:
            chapter_since_clause = False
    return accepted


def _law_markers(text: str) -> list[_Marker]:
    markers = [
        _Marker(m.start(), "part", f"第{m.group(1)}{m.group(2)}", chinese_number(m.group(1)), m.group(2))
        for m in LAW_HEADING_MARK.finditer(text)
        if _is_law_heading(separator=m.group(3), title=m.group(4))
    ]
    markers += [
        _Marker(m.start(), "article", f"第{m.group(1)}条{m.group(3) or ''}", chinese_number(m.group(1)))
        for m in ARTICLE_MARK.finditer(text)
    ]
    return sorted(markers, key=lambda marker: marker.start)


def _is_law_heading(*, separator: str, title: str) -> bool:
    """Both 第五章 法律责任 and 第五章法律责任 are headings; 第七节相应改为第八节，… is a sentence."""
    if separator or not title:
        return True
    return len(title) <= _HEADING_MAX_CHARS and not re.search("[。，；：]", title)


# --- spans -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    kind: str  # "preamble" | "chapter" | "clause" | "article" | "heading" | "closing" | "paragraph"
    start: int
    end: int
    label: str = ""
    path: str = ""  # structural path used in the clause id
    chapter: str = ""
    section: str = ""


def _spans(text: str, markers: list[_Marker]) -> list[_Span]:
    if not markers:
        return _paragraph_spans(text)
    spans: list[_Span] = []
    if text[: markers[0].start].strip():
        spans.append(_Span("preamble", 0, markers[0].start, path="序言"))
    chapter, chapter_number, section = "", "", ""
    bounds = [m.start for m in markers[1:]] + [len(text)]
    following = [m.kind for m in markers[1:]] + [""]
    for marker, end, next_kind in zip(markers, bounds, following, strict=True):
        heading = _heading_line(text, marker.start, end)
        if marker.kind == "chapter":
            chapter, chapter_number = heading, marker.label.rstrip("、")
            # A bare line heads the clauses under it; with none under it ("一、每年九月开展质量月活动。"
            # then "二、…") it is the content itself and must be searchable.
            bare = text[marker.start : end].strip() == heading and next_kind == "clause"
            kind = "heading" if bare else "chapter"
            spans.append(_Span(kind, marker.start, end, marker.label, chapter_number, chapter))
        elif marker.kind == "clause":
            spans.append(_Span("clause", marker.start, end, marker.label, chapter_number + marker.label, chapter))
        elif marker.kind == "part":
            if marker.level in ("编", "分编", "章"):
                chapter, chapter_number, section = heading, marker.label, ""
                path = marker.label
            else:
                section = heading
                path = chapter_number + marker.label  # "第二章第一节", whatever spacing the heading has
            kind = "heading" if text[marker.start : end].strip() == heading else "chapter"
            spans.append(_Span(kind, marker.start, end, marker.label, path, chapter, section))
        else:
            label = marker.label
            spans.append(_Span("article", marker.start, end, label, label, chapter, section))
    return _split_closing(text, spans)


def _heading_line(text: str, start: int, end: int) -> str:
    """The heading's own words: its line, cut at the first clause marker or sentence end if long."""
    line = text[start:end].split("\n", 1)[0]
    inner_clause = CLAUSE_MARK.search(line, 1)
    if inner_clause:
        line = line[: inner_clause.start()]
    if len(line) > _HEADING_MAX_CHARS:
        line = re.split("[。；]", line, maxsplit=1)[0][:_HEADING_MAX_CHARS]
    return line.strip()


def _split_closing(text: str, spans: list[_Span]) -> list[_Span]:
    """Move closing paragraphs and signatures out of the last policy clause into their own chunk."""
    last = spans[-1]
    if last.kind != "clause":
        return spans
    body = text[last.start : last.end].rstrip()
    first_break = body.find("\n")
    if first_break < 0:
        return spans
    first_paragraph, tail = body[:first_break], body[first_break + 1 :]
    tail_lines = tail.split("\n")
    ends_with_attribution = parse_attribution(first_paragraph) is not None
    looks_like_signature = all(len(line) <= 30 for line in tail_lines)
    if not (ends_with_attribution or looks_like_signature):
        return spans
    split_at = last.start + first_break + 1
    clause = _Span(last.kind, last.start, split_at, last.label, last.path, last.chapter, last.section)
    return [*spans[:-1], clause, _Span("closing", split_at, last.end, path="结尾")]


def _paragraph_spans(text: str) -> list[_Span]:
    """A document without structure becomes one chunk per paragraph (line)."""
    spans, offset = [], 0
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            spans.append(_Span("paragraph", offset, offset + len(line), path=f"段{number}"))
        offset += len(line) + 1
    return spans


# --- clauses -----------------------------------------------------------------------------------


def _make_clauses(document: Document, span: _Span, max_chars: int, lead_first_listed: bool) -> list[Clause]:
    start, end = _strip_span(document.text, span.start, span.end)
    if start >= end:
        return []
    text = document.text[start:end]
    attribution = parse_attribution(text, lead_first_listed=lead_first_listed) if span.kind == "clause" else None
    title = _clause_title(text, span)
    base = Clause(
        clause_id=f"{document.doc_id}#{span.path}",
        doc_id=document.doc_id,
        doc_title=document.title,
        kind=span.kind,
        chapter=span.chapter,
        section=span.section,
        label=span.label.rstrip("、") if span.kind in ("chapter", "heading") else span.label,
        title=title,
        text=text,
        start=start,
        end=end,
        source=document.source,
        departments=attribution.departments if attribution else (),
        lead_department=attribution.lead_department if attribution else "",
        issuer=document.issuer,
        date=document.date,
    )
    pieces = _split_long(text, max_chars)
    if len(pieces) == 1:
        return [base]
    parts, offset = [], start
    for number, piece in enumerate(pieces, start=1):
        piece_start = document.text.index(piece, offset)
        offset = piece_start + len(piece)
        clause_id = base.clause_id if number == 1 else f"{base.clause_id}-{number}"
        parts.append(replace(base, clause_id=clause_id, text=piece, start=piece_start, end=offset, part=number))
    return parts


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _clause_title(text: str, span: _Span) -> str:
    if span.kind in ("chapter", "heading"):
        return span.chapter.split("、", 1)[-1] if span.kind != "heading" or "、" in span.chapter else span.chapter
    if span.kind != "clause":
        return ""
    first_sentence = re.split("[。；\n]", text[len(span.label) :], maxsplit=1)[0]
    return first_sentence if len(first_sentence) <= _HEADING_MAX_CHARS else ""


def _split_long(text: str, max_chars: int) -> list[str]:
    """Greedy split at sentence ends into pieces of at most max_chars (hard cut for one huge sentence)."""
    if len(text) <= max_chars:
        return [text]
    sentences = split_at_sentence_ends(text)
    pieces: list[str] = []
    current = ""
    for sentence in sentences:
        while len(sentence) > max_chars:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:max_chars])
            sentence = sentence[max_chars:]
        if len(current) + len(sentence) > max_chars and current:
            pieces.append(current)
            current = ""
        current += sentence
    if current:
        pieces.append(current)
    return [piece.strip() for piece in pieces if piece.strip()]


