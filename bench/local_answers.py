"""How often the answer decision turns away a question its documents do answer, on questions none of it was tuned on.

    python bench/local_answers.py --half check            # ingests the 61 local regulations once (about 4 minutes)
    python bench/local_answers.py --half tune --show partly

`train/local_questions/` holds 2,903 questions written for 61 local regulations of `../shared/corpora/laws`
(营商环境, 科技创新, 信用, 乡村振兴 …), each tied to the article that answers it. Neither the eval set nor the
embedder's adapter has seen them, and the rules that read what a question asks were written from `eval/`
dev questions only. So every "partly" or "not found" here, on a question whose article is ranked first, is the
decision being wrong about a question its documents answer. Keyword-style questions are left out (they ask no
detail). The questions are shuffled once (seed 42): the first 800 are the `tune` half, to read for what the
rules get wrong; the other 1,668 the `check` half, to measure a change on.

`bench/local_unanswerable.jsonl` holds the other side: 120 questions these regulations do not answer, written apart
from the code the same way — a detail an article leaves out (its `topic`: the articles on the subject), a
near-domain or an off-domain matter — split into the same two halves. The bench prints how many of them each half
declines ("partly" or "not found"), by kind.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tune_embedder import LAWS  # noqa: E402

QUESTIONS = ROOT / "train" / "local_questions"
UNANSWERABLE = ROOT / "bench" / "local_unanswerable.jsonl"
TUNE_HALF = 800
SEED = 42


def questions(half: str) -> list[dict[str, str]]:
    rows = [json.loads(line) for path in sorted(QUESTIONS.glob("*.jsonl")) for line in path.open(encoding="utf-8")]
    rows = [row for row in rows if row["style"] != "keyword"]
    random.Random(SEED).shuffle(rows)
    return rows[:TUNE_HALF] if half == "tune" else rows[TUNE_HALF:]


def unanswerable(half: str) -> list[dict]:
    """The half's questions the regulations do not answer (`half` as written in the file)."""
    if not UNANSWERABLE.exists():
        return []
    rows = [json.loads(line) for line in UNANSWERABLE.open(encoding="utf-8") if line.strip()]
    return [row for row in rows if row["half"] == half]


def gold_id(row: dict[str, str]) -> str:
    """The clause id of the article a question was written for, as ingest names the file's document:
    广东省优化营商环境条例(2022-06-01).md, 第四条 → 广东省优化营商环境条例-2022-06-01#第四条."""
    from rag.ingest import slugify

    return f"{slugify(Path(row['file']).stem)}#{row['article']}"


def build_index(index: Path) -> None:
    from rag.config import load_settings
    from rag.pipeline import Pipeline

    files = sorted({str(LAWS / row["file"]) for half in ("tune", "check") for row in questions(half)})
    Pipeline(load_settings(index_dir=str(index))).ingest(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--half", choices=("tune", "check"), default="check")
    parser.add_argument("--index", type=Path, default=Path("/tmp/rag-local-regulations"))
    parser.add_argument("--limit", type=int, help="only the first N questions of the half")
    parser.add_argument("--show", choices=("partly", "not_found", "answered"),
                        help="print these questions with their reasons (answered: the unanswerable ones answered)")
    parser.add_argument("--out", type=Path, help="write every question's outcome as JSON")
    args = parser.parse_args()
    if not LAWS.is_dir():
        sys.exit(f"needs the laws corpus at {LAWS}")
    if not (args.index / "CURRENT").exists():
        print(f"building {args.index} …", flush=True)
        build_index(args.index)

    from rag.config import load_settings
    from rag.pipeline import Pipeline

    pipeline = Pipeline(load_settings(index_dir=str(args.index)))
    rows = questions(args.half)[: args.limit]
    started = time.perf_counter()
    results = []
    for row in rows:
        ranked = [hit.clause.base_id for hit in pipeline.search(row["q"], k=10)]
        answer = pipeline.ask(row["q"])
        cited = [c.clause.clause_id for c in answer.citations]
        gold = gold_id(row)
        results.append({"question": row["q"], "style": row["style"], "gold": gold, "outcome": answer.outcome,
                        "gold_first": cited[:1] == [gold], "reasons": list(answer.reasons),
                        "rank": ranked.index(gold) + 1 if gold in ranked else None})
    seconds = time.perf_counter() - started
    n = len(results)
    first = [r for r in results if r["gold_first"]]
    print(f"{n} questions ({args.half} half), {seconds / max(n, 1) * 1000:.0f} ms each (search and answer)")
    print(f"search: hit@1 {sum(r['rank'] == 1 for r in results) / max(n, 1):.3f}, "
          f"MRR@10 {sum(1 / r['rank'] for r in results if r['rank']) / max(n, 1):.3f}")
    print("| | questions | answered | partly | not found |")
    print("|---|---|---|---|---|")
    for name, group in (("all", results), ("answer cited first", first)):
        counts = collections.Counter(r["outcome"] for r in group)
        m = max(len(group), 1)
        print(f"| {name} | {len(group)} | {counts['answered'] / m:.3f} | {counts['partly'] / m:.3f} | "
              f"{counts['not_found'] / m:.3f} |")
    declines = []
    for row in unanswerable(args.half)[: args.limit]:
        answer = pipeline.ask(row["q"])
        cited = [c.clause.base_id for c in answer.citations]
        declines.append({"question": row["q"], "kind": row["kind"], "outcome": answer.outcome,
                         "topic_first": bool(cited) and cited[0] in row.get("topic", ()),
                         "reasons": list(answer.reasons)})
    if declines:
        print(f"\n{len(declines)} questions the regulations do not answer ({args.half} half):")
        print("| kind | questions | declined | partly | not found | partly, a topic article cited first |")
        print("|---|---|---|---|---|---|")
        for kind in ("all", "detail", "near-domain", "off-domain"):
            group = [r for r in declines if kind in ("all", r["kind"])]
            counts = collections.Counter(r["outcome"] for r in group)
            m = max(len(group), 1)
            partly = [r for r in group if r["outcome"] == "partly"]
            print(f"| {kind} | {len(group)} | {(counts['partly'] + counts['not_found']) / m:.3f} | "
                  f"{counts['partly'] / m:.3f} | {counts['not_found'] / m:.3f} | "
                  f"{sum(r['topic_first'] for r in partly) / max(len(partly), 1):.3f} |")
    if args.show:
        for r in results if args.show != "answered" else declines:
            if r["outcome"] == args.show:
                print(f"{'*' if r.get('gold_first') else ' '} {r['reasons'][:1]} {r['question']}")
    if args.out:
        args.out.write_text(json.dumps({"answerable": results, "unanswerable": declines}, ensure_ascii=False,
                                       indent=0), encoding="utf-8")


if __name__ == "__main__":
    main()
