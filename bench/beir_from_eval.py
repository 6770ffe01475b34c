"""Write one of our eval sets in BEIR form, to run the BEIR path on data whose own figures we know.

Passages are the clauses of an index (one per clause: the parts of a long clause joined), titled with
their document and chapter; queries are the set's answerable questions of one split, qrels their grades.
Then `rag eval --set OUT` scores it the BEIR way, to set beside `rag eval --set SET --index INDEX`:

    .venv/bin/python bench/beir_from_eval.py --set eval/laws --index index/laws --out /tmp/laws-beir
    .venv/bin/rag eval --set /tmp/laws-beir --split test
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.evaluate import QRELS_HEADER, load_eval_set  # noqa: E402
from rag.metrics import relevant_ids  # noqa: E402
from rag.store import open_index  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="set_dir", default="eval", help="eval set directory (queries.jsonl, qrels.tsv)")
    parser.add_argument("--index", default="index/default", help="index holding the set's clauses")
    parser.add_argument("--split", default="test", choices=["test", "dev"])
    parser.add_argument("--out", required=True, help="directory to write the BEIR dataset into")
    args = parser.parse_args()

    eval_set, index = load_eval_set(args.set_dir), open_index(args.index)
    out = Path(args.out)
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    passages: dict[str, dict[str, str]] = {}
    for clause in index.clauses:
        heading = " ".join(part for part in (f"《{clause.doc_title}》", clause.chapter, clause.section) if part)
        passage = passages.setdefault(clause.base_id, {"_id": clause.base_id, "title": heading, "text": ""})
        passage["text"] = "\n".join(part for part in (passage["text"], clause.text) if part)
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as corpus:
        corpus.writelines(json.dumps(p, ensure_ascii=False) + "\n" for p in passages.values())
    questions = [q for q in eval_set.select(args.split) if relevant_ids(eval_set.qrels.get(q.query_id, {}))]
    with (out / "queries.jsonl").open("w", encoding="utf-8") as queries:
        queries.writelines(json.dumps({"_id": q.query_id, "text": q.text}, ensure_ascii=False) + "\n"
                           for q in questions)
    with (out / "qrels" / f"{args.split}.tsv").open("w", encoding="utf-8") as qrels:
        qrels.write("\t".join(QRELS_HEADER) + "\n")
        for q in questions:
            qrels.writelines(f"{q.query_id}\t{passage_id}\t{grade}\n"
                             for passage_id, grade in eval_set.qrels[q.query_id].items())
    print(f"{out}: {len(passages)} passages, {len(questions)} {args.split} queries")


if __name__ == "__main__":
    main()
