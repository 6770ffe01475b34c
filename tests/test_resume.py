"""Resumable ingest: a writer killed with SIGKILL mid-embedding, then an ingest that embeds only the rest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from rag.clause_store import SearchFilters
from rag.ingest import load_corpus
from rag.store import build_index, checkpoint_blocks, open_index
from tests.conftest import PROJECT_ROOT, HashingEmbedder

NO_FILTERS = SearchFilters()
BLOCK = 8  # clauses per checkpoint, so the 99-clause corpus makes 13 blocks

# A real process, killed for real: a slow embedder (0.3 s per block) gives the test time to kill it.
WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from rag.ingest import load_corpus
    from rag.store import build_index
    from tests.conftest import HashingEmbedder

    class SlowEmbedder(HashingEmbedder):
        def embed_documents(self, texts):
            time.sleep(0.3)
            return super().embed_documents(texts)

    build_index(load_corpus([Path(sys.argv[1])]), sys.argv[2], embedder=SlowEmbedder(salt="new"),
                checkpoint_clauses=int(sys.argv[3]))
""")


def test_killed_ingest_resumes_with_the_remainder(corpus_copy: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "idx"
    build_index(load_corpus([corpus_copy]), index_dir, embedder=HashingEmbedder())
    before = open_index(index_dir)
    question = HashingEmbedder().embed_queries(["产品质量监督抽查"])[0]
    answer_before = before.dense_search(question, 5, NO_FILTERS, sentence_weight=0.7)

    # A new embedder: every clause must be embedded again, in a writer we kill after 3 checkpoints.
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(corpus_copy), str(index_dir), str(BLOCK)],
                              cwd=PROJECT_ROOT, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    deadline = time.monotonic() + 60
    checkpoints: list[Path] = []
    while len(checkpoints) < 3:
        assert writer.poll() is None, "the writer finished before it could be killed"
        assert time.monotonic() < deadline, "no checkpoints appeared"
        # Searches keep answering from the previous version while the new one is being embedded.
        assert open_index(index_dir).dense_search(question, 5, NO_FILTERS, sentence_weight=0.7) == answer_before
        checkpoints = sorted(index_dir.glob("v-*/partial/vectors-*.npy"))
        time.sleep(0.05)
    writer.send_signal(signal.SIGKILL)
    assert writer.wait(timeout=10) == -signal.SIGKILL

    # The killed writer left its lock file, its unfinished version and CURRENT as they were.
    assert (index_dir / ".lock").exists()
    assert open_index(index_dir).directory == before.directory
    assert open_index(index_dir).dense_search(question, 5, NO_FILTERS, sentence_weight=0.7) == answer_before
    saved = sorted(index_dir.glob("v-*/partial/vectors-*.npy"))
    saved_clauses = sum(len(np.load(path)) for path in saved)
    assert saved_clauses >= 3 * 3  # three blocks at least (the smallest block holds 99 % 8 = 3)

    # Run again: the lock is free (flock dies with its holder), and only the remainder is embedded.
    embedder = HashingEmbedder(salt="new")
    report = build_index(load_corpus([corpus_copy]), index_dir, embedder=embedder, checkpoint_clauses=BLOCK)
    assert report.resumed == saved_clauses
    assert report.embedded == report.texts - saved_clauses == len(embedder.embedded)
    after = open_index(index_dir)
    assert after.directory != before.directory
    assert [p.name for p in index_dir.glob("v-*")] == [after.directory.name]
    assert not (after.directory / "partial").exists()

    # The resumed vectors sit at the right rows: the same index as one uninterrupted build.
    fresh = tmp_path / "fresh"
    build_index(load_corpus([corpus_copy]), fresh, embedder=HashingEmbedder(salt="new"), checkpoint_clauses=BLOCK)
    assert [c.clause_id for c in after.clauses] == [c.clause_id for c in open_index(fresh).clauses]
    assert np.array_equal(after.vectors, open_index(fresh).vectors)
    assert np.array_equal(after.sentences.vectors, open_index(fresh).sentences.vectors)


def test_unfinished_build_with_other_inputs_is_discarded(corpus_copy: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "idx"
    stale = index_dir / "v-20000101T000000-1-1" / "partial"
    stale.mkdir(parents=True)
    (stale / "inputs.json").write_text('{"key": "other inputs"}', encoding="utf-8")
    np.save(stale / "vectors-000000.npy", np.ones((BLOCK, 64), dtype=np.float32))
    embedder = HashingEmbedder()
    report = build_index(load_corpus([corpus_copy]), index_dir, embedder=embedder, checkpoint_clauses=BLOCK)
    assert report.resumed == 0 and report.embedded == report.texts == len(embedder.embedded)
    assert not stale.parent.exists()


def test_checkpoint_blocks_group_similar_lengths() -> None:
    texts = ["x" * length for length in (5, 50, 1, 40, 3, 60, 2, 45)]
    blocks = checkpoint_blocks(texts, 4)
    assert sorted(map(sorted, blocks)) == [[0, 2, 4, 6], [1, 3, 5, 7]]  # the four short ones, the four long ones
    assert sorted(p for block in blocks for p in block) == list(range(len(texts)))
    assert checkpoint_blocks(texts, 4) == blocks  # the same plan on every run, so checkpoints line up
