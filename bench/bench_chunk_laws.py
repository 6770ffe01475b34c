"""Chunk the laws corpus and check every article against an independent count of the markdown.

The expectation is computed from the raw markdown, not by the chunker's regexes: every line after
`<!-- INFO END -->` whose first token is 第X条 (or 第X条之Y) is one article, and its chapter is the most
recent 第X章 heading line before it. A disagreement is listed with a short reason.

Usage:
    python bench/bench_chunk_laws.py                    # all files under ../shared/corpora/laws
    python bench/bench_chunk_laws.py --limit 200        # the first 200 files (sorted by path)
    python bench/bench_chunk_laws.py --root DIR --max-chars 800
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from rag.chunk import split_clauses  # noqa: E402
from rag.errors import CorpusError  # noqa: E402
from rag.ingest import load_document  # noqa: E402

DEFAULT_ROOT = REPO_ROOT.parent / "shared" / "corpora" / "laws"
INFO_END = "<!-- INFO END -->"
_NUMERAL = "零〇一二三四五六七八九十百千两"
# The reference reader's own patterns. Spaces inside the number are tolerated ("第七十五 条体育…"
# occurs in the corpus); the label is compared with whitespace removed.
_ARTICLE_LINE = re.compile(rf"^[ \t\u3000]*第[ \t\u3000]*([{_NUMERAL}]+)[ \t\u3000]*条(之[一二三四五六七八九十]+)?")
_CHAPTER_LINE = re.compile(rf"^(#*)[ \t\u3000]*第[ \t\u3000]*([{_NUMERAL}]+)[ \t\u3000]*(章|编|分编)(.*)$")
_CHAPTER_LABEL = re.compile(rf"第\s*([{_NUMERAL}]+)\s*章")
_SENTENCE_PUNCTUATION = "。，；：,;"
_BARE_HEADING_MAX_CHARS = 30


@dataclass(frozen=True)
class ExpectedArticle:
    label: str  # "第十条", "第一百二十条之一"
    chapter: str  # "第二章", or "" before the first chapter of the current 编


@dataclass(frozen=True)
class FileResult:
    path: Path
    expected: tuple[ExpectedArticle, ...]
    actual: tuple[ExpectedArticle, ...]
    chunks: int
    error: str = ""

    @property
    def agrees(self) -> bool:
        return not self.error and self.expected == self.actual

    @property
    def by_design(self) -> bool:
        """A case that quotes one article at line start is not a law: the chunker needs two."""
        return not self.error and len(self.expected) == 1 and not self.actual


def expected_articles(markdown: str) -> list[ExpectedArticle]:
    """Articles of a law file as a reader would count them from the markdown."""
    body = markdown.split(INFO_END, 1)[1] if INFO_END in markdown else markdown
    articles: list[ExpectedArticle] = []
    chapter = ""
    for line in body.splitlines():
        heading = _CHAPTER_LINE.match(line)
        if heading and _is_heading(line, has_marker=bool(heading.group(1))):
            chapter = f"第{heading.group(2)}章" if heading.group(3) == "章" else ""
            continue
        article = _ARTICLE_LINE.match(line)
        if article:
            articles.append(ExpectedArticle(f"第{article.group(1)}条{article.group(2) or ''}", chapter))
    return articles


def _is_heading(line: str, *, has_marker: bool) -> bool:
    # "## 第一章 总则" is a heading; so is a bare short "第五章法律责任" (one file lost its "##"),
    # but not a sentence that happens to start with 第X章.
    if has_marker:
        return True
    return len(line.strip()) <= _BARE_HEADING_MAX_CHARS and not any(p in line for p in _SENTENCE_PUNCTUATION)


def chapter_label(chapter: str) -> str:
    """The label 第二章 of a chunk's chapter heading 第二章 产品质量的监督; "" for 编 headings or none."""
    match = _CHAPTER_LABEL.match(chapter)
    return f"第{match.group(1)}章" if match else ""


def check_file(path: Path, *, max_chars: int = 800) -> FileResult:
    """Chunk one law file and pair the chunker's articles with the reference count."""
    expected = tuple(expected_articles(path.read_text(encoding="utf-8")))
    try:
        clauses = split_clauses(load_document(path), max_chars=max_chars)
    except CorpusError as error:
        return FileResult(path, expected, (), 0, error=str(error))
    actual = tuple(
        ExpectedArticle(re.sub(r"\s", "", clause.label), chapter_label(clause.chapter))
        for clause in clauses
        if clause.kind == "article" and clause.part == 1
    )
    return FileResult(path, expected, actual, len(clauses))


def disagreement_reason(result: FileResult) -> str:
    """One line saying how the chunker's articles differ from the reference."""
    if result.error:
        return f"load error: {result.error}"
    if result.by_design:
        return f"lone {result.expected[0].label} line (a quotation): a law needs two line-start articles"
    expected_labels = [a.label for a in result.expected]
    actual_labels = [a.label for a in result.actual]
    if expected_labels != actual_labels:
        missing = Counter(expected_labels) - Counter(actual_labels)
        extra = Counter(actual_labels) - Counter(expected_labels)
        parts = [f"expected {len(expected_labels)} articles, chunked {len(actual_labels)}"]
        if missing:
            parts.append("missing " + "、".join(list(missing.elements())[:5]))
        if extra:
            parts.append("extra " + "、".join(list(extra.elements())[:5]))
        if not missing and not extra:
            first = next(i for i, (a, b) in enumerate(zip(expected_labels, actual_labels, strict=True)) if a != b)
            parts.append(f"order differs at #{first + 1}: {expected_labels[first]} vs {actual_labels[first]}")
        return "; ".join(parts)
    first = next(i for i, (a, b) in enumerate(zip(result.expected, result.actual, strict=True)) if a != b)
    wrong = sum(a != b for a, b in zip(result.expected, result.actual, strict=True))
    expected, actual = result.expected[first], result.actual[first]
    return (
        f"chapter differs for {wrong} articles, first {expected.label}: "
        f"expected {expected.chapter or '(none)'}, chunked {actual.chapter or '(none)'}"
    )


def law_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.md"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="laws corpus folder")
    parser.add_argument("--limit", type=int, default=None, help="only the first N files (sorted by path)")
    parser.add_argument("--max-chars", type=int, default=800)
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"{args.root}: no such folder (the laws corpus lives in ../shared/corpora/laws)")
    paths = law_files(args.root)[: args.limit]

    started = time.perf_counter()
    results = [check_file(path, max_chars=args.max_chars) for path in paths]
    seconds = time.perf_counter() - started

    disagreeing = [result for result in results if not result.agrees]
    expected_total = sum(len(result.expected) for result in results)
    article_total = sum(len(result.actual) for result in results)
    print(f"files            {len(results)}")
    print(f"articles (ref)   {expected_total}")
    print(f"articles (chunk) {article_total}")
    print(f"chunks           {sum(result.chunks for result in results)}")
    print(f"seconds          {seconds:.1f}")
    print(f"files/s          {len(results) / seconds:.1f}")
    by_design = sum(result.by_design for result in disagreeing)
    print(f"disagreeing      {len(disagreeing)} ({by_design} by design)")
    for result in disagreeing:
        print(f"  {result.path.relative_to(args.root)}: {disagreement_reason(result)}")
    return 1 if any(not result.by_design for result in disagreeing) else 0


if __name__ == "__main__":
    sys.exit(main())
