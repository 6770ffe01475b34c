"""Check training-question files: python train/check_questions.py train/questions/h1.jsonl [...]

Each line: {"q": "...", "file": "<path under ../shared/corpora/laws>", "article": "第X条",
"style": "colloquial|plain|keyword|traditional"}. Prints each problem and a summary per file; exits 1 on any.
A question close to an eval question or conversation turn (bigram Jaccard >= 0.4) is a problem too: training
on it would tune the model to the questions it is scored on. `--drop-near-eval` rewrites the files without them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAWS = ROOT.parent / "shared" / "corpora" / "laws"
EVAL_QUESTIONS = ("eval/queries.jsonl", "eval/laws/queries.jsonl")
EVAL_CONVERSATIONS = "eval/conversations.jsonl"
NEAR_EVAL = 0.4
STYLES = ("colloquial", "plain", "keyword", "traditional")
_ARTICLE = re.compile(r"^(第[零一二三四五六七八九十百千]+条(?:之[一二三四五六七八九十]+)?)\s")


@cache
def articles(relative: str) -> frozenset[str] | None:
    path = LAWS / relative
    if not path.is_file():
        return None
    return frozenset(m.group(1) for line in path.read_text(encoding="utf-8").splitlines()
                     if (m := _ARTICLE.match(line)))


def han_bigrams(text: str) -> frozenset[str]:
    han = "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")
    return frozenset(han[i:i + 2] for i in range(len(han) - 1))


@cache
def eval_bigrams() -> tuple[frozenset[str], ...]:
    """The bigrams of every eval question and conversation turn."""
    texts = [json.loads(line)["text"] for name in EVAL_QUESTIONS
             for line in (ROOT / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    texts += [turn for line in (ROOT / EVAL_CONVERSATIONS).read_text(encoding="utf-8").splitlines()
              if line.strip() for turn in json.loads(line)["turns"]]
    return tuple(han_bigrams(text) for text in texts)


def near_eval(question: str) -> bool:
    """Whether `question` shares at least `NEAR_EVAL` of its bigrams (Jaccard) with an eval question or turn."""
    own = han_bigrams(question)
    return any(len(own & other) / len(own | other) >= NEAR_EVAL for other in eval_bigrams() if own | other)


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
        if question and near_eval(question):
            found.append(f"line {number}: close to an eval question: {question}")
        seen.add(question)
        styles[style] = styles.get(style, 0) + 1
    return found, styles


def drop_near_eval(path: Path) -> list[str]:
    """Rewrite `path` without its questions close to eval; returns the dropped ones."""
    kept: list[str] = []
    dropped: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            question = json.loads(line)["q"]
            if near_eval(question):
                dropped.append(question)
            else:
                kept.append(line)
    path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    return dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--drop-near-eval", action="store_true", help="rewrite the files without them first")
    args = parser.parse_args()
    if args.drop_near_eval:
        for path in args.files:
            for question in drop_near_eval(path):
                print(f"{path}: dropped, close to an eval question: {question}")
    failed = False
    for path in args.files:
        found, styles = problems(path)
        for problem in found:
            print(f"{path}: {problem}")
        print(f"{path}: {sum(styles.values())} questions, {len(found)} problems, styles {styles}")
        failed = failed or bool(found)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
