"""Compare embedder adapters on training questions none of them was trained on: thousands of questions, not 98.

    python bench/heldout_questions.py --questions train/local_questions rag/e5_adapter.safetensors /tmp/b.safetensors untuned

The dev splits hold 314 policy and 98 laws questions: two runs of one training recipe with different seeds
land three laws questions apart (train/README.md), so a recipe's gain of that size cannot be told from
chance there. A question folder an adapter was not trained on (the bundled adapter saw train/questions only)
is a larger yardstick: each question is ranked against every clause of the files its folder names, dense
only (the clause vector, `passage: ` + the clause text), and the table gives hit@1 / MRR@10 / hit@5 per
adapter, with how many questions each adapter wins and loses against the first one. Use it beside the dev
splits, never instead of them: these questions were written by the same hands as the training ones.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tune_embedder import LAWS, encoder_weights, load_encoder_weights, training_pairs  # noqa: E402

DEPTH = 10


def answer_ranks(adapter: str, pairs: list[tuple[str, int]], texts: list[str]) -> list[int]:
    """The rank of each question's clause (DEPTH + 1 when below DEPTH) under `adapter` ("untuned": none)."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from rag.e5_model import build_default_model
    from rag.e5_tuning import apply_adapter, load_adapter

    model = SentenceTransformer(str(build_default_model()), device="cpu")
    model.max_seq_length = 512
    if adapter != "untuned":
        load_encoder_weights(model, apply_adapter(encoder_weights(model), load_adapter(Path(adapter))))
    passages = model.encode(["passage: " + text for text in texts], batch_size=32, normalize_embeddings=True)
    queries = model.encode(["query: " + question for question, _ in pairs], batch_size=64, normalize_embeddings=True)
    ranks = []
    for (_, answer), row in zip(pairs, queries @ passages.T, strict=True):
        top = [texts[int(j)] for j in np.argsort(-row)[:DEPTH]]  # a clause repeated word for word counts as the answer
        ranks.append(top.index(texts[answer]) + 1 if texts[answer] in top else DEPTH + 1)
    return ranks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("adapters", nargs="+", help="adapter files, or 'untuned'; the first is the baseline")
    parser.add_argument("--questions", action="append", type=Path, required=True,
                        help="a question folder none of the adapters was trained on (repeatable)")
    args = parser.parse_args()

    pairs, texts = training_pairs(args.questions, LAWS)
    print(f"{len(pairs)} questions over {len(texts)} clauses", flush=True)
    print("| adapter | hit@1 | MRR@10 | hit@5 | hit@1 won / lost vs first | seconds |")
    print("|---|---|---|---|---|---|")
    baseline: list[int] | None = None
    for adapter in args.adapters:
        started = time.perf_counter()
        ranks = answer_ranks(adapter, pairs, texts)
        baseline = baseline or ranks
        won = sum(r == 1 and b != 1 for r, b in zip(ranks, baseline, strict=True))
        lost = sum(r != 1 and b == 1 for r, b in zip(ranks, baseline, strict=True))
        n = len(ranks)
        print(f"| {adapter} | {sum(r == 1 for r in ranks) / n:.3f} | {sum(1 / r for r in ranks if r <= DEPTH) / n:.3f} | "
              f"{sum(r <= 5 for r in ranks) / n:.3f} | {won} / {lost} | {time.perf_counter() - started:.0f} |", flush=True)


if __name__ == "__main__":
    main()
