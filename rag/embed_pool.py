"""Document embedding spread over processes: one model copy per CPU core, for bulk ingest.

One process with one thread per core beats one process with several threads on this model (small
matrices, OpenMP overhead: README, Embedder). The parent embeds one share of each call itself while
`workers - 1` spawned processes embed the others, each with its own model loaded by `load_embedder`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import numpy as np

from rag.embed import Embedder, load_embedder
from rag.schema import Matrix

MIN_PARALLEL = 64  # texts; below this a call is not worth splitting

_worker_embedder: Embedder | None = None


class PooledEmbedder:
    """`local` for queries and small calls; large document calls split over `workers` processes."""

    def __init__(self, local: Embedder, *, workers: int, load_options: dict[str, Any]) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.local = local
        self.name, self.dimension, self.fingerprint = local.name, local.dimension, local.fingerprint
        self.backend, self.device, self.model_path = local.backend, local.device, local.model_path
        self.workers = workers
        self._load_options = load_options
        self._pool: ProcessPoolExecutor | None = None

    def embed_documents(self, texts: Sequence[str]) -> Matrix:
        items = list(texts)
        if self.workers == 1 or len(items) < MIN_PARALLEL:
            return self.local.embed_documents(items)
        pool = self._start()
        # Interleaved shares: a length-sorted call gives every process the same mix of lengths.
        futures: list[Future[Matrix]] = [pool.submit(_embed_in_worker, items[share :: self.workers])
                                         for share in range(1, self.workers)]
        vectors = np.zeros((len(items), self.dimension), dtype=np.float32)
        vectors[0 :: self.workers] = self.local.embed_documents(items[0 :: self.workers])
        for share, future in enumerate(futures, start=1):
            vectors[share :: self.workers] = future.result()
        return vectors

    def embed_queries(self, texts: Sequence[str]) -> Matrix:
        return self.local.embed_queries(texts)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or max(1, (os.cpu_count() or 1) // self.workers)
            self._pool = ProcessPoolExecutor(self.workers - 1, mp_context=get_context("spawn"),
                                             initializer=_start_worker,
                                             initargs=(self._load_options, threads, os.getpid()))
        return self._pool


def _start_worker(load_options: dict[str, Any], threads: int, parent: int) -> None:
    global _worker_embedder
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _worker_embedder = load_embedder(**load_options)


def _exit_with_parent(parent: int) -> None:
    """A parent killed with SIGKILL cannot stop its workers: they notice and stop themselves."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _embed_in_worker(texts: list[str]) -> Matrix:
    if _worker_embedder is None:
        raise RuntimeError("embedding worker was not initialised")
    return _worker_embedder.embed_documents(texts)
