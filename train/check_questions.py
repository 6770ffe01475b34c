"""Check training-question files: python train/check_questions.py train/questions/h1.jsonl [...]

Each line: {"q": "...", "file": "<path under ../shared/corpora/laws>", "article": "第X条",
"style": "colloquial|plain|keyword|traditional"}. Prints each problem and a summary per file; exits 1 on any.
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache
from pathlib import Path

LAWS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "laws"
STYLES = ("colloquial", "plain", "keyword", "traditional")
_ARTICLE = re.compile(r"^(第[零一二三四五六七八九十百千]+条(?:之[一二三四五六七八九十]+)?)\s")


@cache
def articles(relative: str) -> frozenset[str] | None:
    path = LAWS / relative
    if not path.is_file():
        return None
    return frozenset(m.group(1) for line in path.read_text(encoding="utf-8").splitlines()
                     if (m := _ARTICLE.match(line)))


def problems(path: Path) -> tuple[list[str], dict[str, int]]:
    found: list[str] = []
    styles: dict[str, int] = {}
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            found.append(f"line {number}: not JSON: {exc}")
            continue
        question, file, article, style = (record.get(k) for k in ("q", "file", "article", "style"))
        known = articles(file) if file else None
        if not question or len(question) < 4:
            found.append(f"line {number}: empty or short question")
        if known is None:
            found.append(f"line {number}: no such file {file!r}")
        elif article not in known:
            found.append(f"line {number}: {article!r} is not an article of {file}")
        if style not in STYLES:
            found.append(f"line {number}: style {style!r}")
        if question in seen:
            found.append(f"line {number}: duplicate question")
        seen.add(question)
        styles[style] = styles.get(style, 0) + 1
    return found, styles


def main() -> None:
    failed = False
    for name in sys.argv[1:]:
        found, styles = problems(Path(name))
        for problem in found:
            print(f"{name}: {problem}")
        print(f"{name}: {sum(styles.values())} questions, {len(found)} problems, styles {styles}")
        failed = failed or bool(found)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
