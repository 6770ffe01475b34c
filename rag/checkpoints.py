"""Checkpoints of an ingest's embedding, so that a killed ingest resumes where it stopped.

A build embeds the clauses it needs in blocks (`checkpoint_blocks`) and saves each finished block as
`v-…/partial/vectors-NNNNNN.npy` in the version it is building; `partial/inputs.json` holds a key over
everything the vectors depend on (`inputs_key`). A later build with the same key finds that version
(`unfinished_version`) and embeds only the blocks it lacks (`embed_pending`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.embed import Embedder
from rag.schema import Matrix

# Clauses per checkpoint: ~30 s of embedding on one core, so a crash loses little; blocks are cut from
# the clauses sorted by length, so a block's batches need little padding.
CHECKPOINT_CLAUSES = 1024
PARTIAL = "partial"

Progress = Callable[[str, int, int], None]


def inputs_key(embedder: Embedder, settings: dict[str, Any], keys: Sequence[str], texts: Sequence[str],
               block_size: int) -> str:
    """What the checkpoints of a build depend on: the embedder, the settings and each text to embed (by its
    clause or sentence key)."""
    digest = hashlib.sha256(json.dumps([embedder.fingerprint, embedder.dimension, settings, block_size],
                                       sort_keys=True).encode())
    for key, text in zip(keys, texts, strict=True):
        digest.update(f"\n{key}\t{hashlib.sha256(text.encode()).hexdigest()}".encode())
    return digest.hexdigest()


def unfinished_version(root: Path, key: str, *, current: str | None) -> Path:
    """The interrupted build with these inputs, else a new version directory; other unfinished ones go.

    `current` is the live version's name, never touched. Call with the index's lock held.
    """
    found: Path | None = None
    for path in sorted(root.glob("v-*")):
        if not path.is_dir() or (path / "manifest.json").is_file() or path.name == current:
            continue
        try:
            same = json.loads((path / PARTIAL / "inputs.json").read_text(encoding="utf-8"))["key"] == key
        except (OSError, ValueError, KeyError, TypeError):
            same = False
        if same and found is None:
            found = path
        else:
            shutil.rmtree(path, ignore_errors=True)  # we hold the lock: nobody else is building it
    if found is not None:
        return found
    version = root / f"v-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.perf_counter_ns() % 10**6}"
    (version / PARTIAL).mkdir(parents=True)
    _write_atomically(version / PARTIAL / "inputs.json", json.dumps({"key": key}).encode())
    return version


def checkpoint_blocks(texts: Sequence[str], size: int) -> list[list[int]]:
    """Positions in `texts`, cut into blocks of similar length; the blocks in a fixed shuffled order.

    Sorting by length keeps padding (wasted work) low inside each batch; shuffling the blocks keeps the
    rate, hence the ETA, steady instead of slowing from the short clauses to the long ones.
    """
    if size < 1:
        raise ValueError(f"checkpoint block size must be at least 1, got {size}")
    order = sorted(range(len(texts)), key=lambda position: (len(texts[position]), position))
    blocks = [order[start : start + size] for start in range(0, len(order), size)]
    permutation = np.random.default_rng(0).permutation(len(blocks))
    return [blocks[index] for index in permutation]


def embed_pending(partial: Path, vectors: Matrix, pending: Sequence[int], texts: Sequence[str],
                   blocks: Sequence[list[int]], embedder: Embedder, progress: Progress) -> int:
    """Fill `vectors[pending]`, block by block, checkpointing each; returns how many came from checkpoints."""
    resumed = 0
    todo: list[tuple[int, list[int]]] = []
    for number, block in enumerate(blocks):
        saved = _load_checkpoint(partial / f"vectors-{number:06d}.npy", (len(block), embedder.dimension))
        if saved is None:
            todo.append((number, block))
        else:
            vectors[[pending[p] for p in block]] = saved
            resumed += len(block)
    total = len(pending) - resumed
    done = 0
    progress("embed", 0, total)
    for number, block in todo:
        block_vectors = embedder.embed_documents([texts[p] for p in block])
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(block_vectors, dtype=np.float32))
        _write_atomically(partial / f"vectors-{number:06d}.npy", buffer.getvalue())
        vectors[[pending[p] for p in block]] = block_vectors
        done += len(block)
        progress("embed", done, total)
    return resumed


def _load_checkpoint(path: Path, shape: tuple[int, int]) -> Matrix | None:
    try:
        saved = np.load(path)
    except (OSError, ValueError, EOFError):
        return None
    return saved if saved.shape == shape and saved.dtype == np.float32 else None


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
