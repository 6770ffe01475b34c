"""文件库's outline: a document's chapters and clauses, the way the index holds them, one clause opened in place."""

from __future__ import annotations

import re
from pathlib import Path

from rag.chunk import split_clauses
from rag.clause_store import DocumentEntry
from rag.ingest import load_document
from rag.outline import document_outline
from rag.passages import UNINDEXED_KINDS

DATA = Path(__file__).parent / "data"


def outline_of(name: str, *, opened: str = "") -> str:
    document = load_document(DATA / name)
    clauses = [c for c in split_clauses(document) if c.kind not in UNINDEXED_KINDS]  # as the index keeps them
    entry = DocumentEntry(doc_id=document.doc_id, title=document.title, source=document.source, content_hash="",
                          clauses=len(clauses), issuer=document.issuer, date=document.date)
    return document_outline(entry, list(reversed(clauses)), opened=opened)  # any order in, document order out


def test_policy_outline_is_chapters_then_clauses_with_departments_and_lead() -> None:
    html = outline_of("policy-short.txt")
    assert "《关于加快推进质量强县建设的实施意见》" in html
    labels = re.findall(r'<span class="label">([^<]*)</span>', html)
    assert labels == ["序言", "（一）", "（二）", "（三）", "（四）", "结尾"]
    assert html.index("一、总体要求") < html.index("（一）") < html.index("二、重点任务") < html.index("（三）")
    four = html[html.index('data-clause="policy-short#二（四）"'):]
    four = four[:four.index("</details>")]
    assert "推行“一站式”服务" in four and "县市场监管局<span class=\"lead-mark\">牵头</span>" in four
    assert "<details" in html and " open " not in html  # folded until opened


def test_an_opened_clause_is_unfolded_and_marked_among_its_neighbours() -> None:
    html = outline_of("policy-short.txt", opened="policy-short#二（三）")
    assert html.count("opened") == 1 and html.count(" open ") == 1
    opened = re.search(r'<details class="outline-clause opened" open data-clause="([^"]+)"', html)
    assert opened is not None and opened.group(1) == "policy-short#二（三）"


def test_law_articles_without_titles_show_the_start_of_their_text() -> None:
    html = outline_of("law-short.md")
    assert html.index("第一章 总则") < html.index("第一条") < html.index("第二章") < html.index("第三条之一")
    first = html[html.index('data-clause="law-short#第一条"'):]
    assert re.search(r'<span class="preview">[^<]{5,}…</span>', first[:first.index("</summary>")])
