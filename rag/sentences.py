"""Sentence vectors beside each clause's vector: a question usually asks what one sentence of a clause says.

A clause's dense score is (1 − w) × its own cosine + w × its best sentence's cosine (`Ranking.sentence_weight`).
Measured on the dev splits, dense search alone (policy / laws): hit@1 0.671 → 0.810 / 0.520 → 0.592 with
w = 0.5; the whole-clause vector alone misses the one sentence that answers, the sentence alone the context.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.chunk import split_at_sentence_ends
from rag.index import FaissIndex, Rows
from rag.schema import Matrix

MIN_SENTENCE_CHARS = 8  # shorter pieces (（一）, 第三条) say nothing on their own


def clause_sentences(text: str) -> list[str]:
    """The sentences of a clause that get a vector of their own: none for a one-sentence clause."""
    sentences = [s.strip() for s in split_at_sentence_ends(text) if len(s.strip()) >= MIN_SENTENCE_CHARS]
    return sentences if len(sentences) >= 2 else []


@dataclass(frozen=True)
class SentenceVectors:
    """The sentence vectors of an index, grouped by clause: `owners[i]` is the clause row of sentence i."""

    vectors: Matrix
    owners: Rows  # non-decreasing
    dense: FaissIndex

    def best_similarities(self, rows: Rows, vector: Matrix, fallback: Matrix) -> Matrix:
        """Per clause row, the best cosine of its sentences to `vector`; `fallback` (the clause's own
        cosine) for a clause without sentence vectors."""
        starts = np.searchsorted(self.owners, rows, side="left")
        counts = np.searchsorted(self.owners, rows, side="right") - starts
        return best_of_groups(self.vectors, starts, counts, vector, fallback)

    def nearest_clauses(self, vector: Matrix, depth: int, allowed: Rows | None) -> Rows:
        """Clause rows owning the `depth` sentences nearest to `vector` (fewer when sentences share a clause)."""
        if len(self.owners) == 0:
            return np.zeros(0, dtype=np.int64)
        sentence_rows = None if allowed is None else np.flatnonzero(np.isin(self.owners, allowed))
        if sentence_rows is not None and len(sentence_rows) == 0:
            return np.zeros(0, dtype=np.int64)
        _, found = self.dense.search(vector[None, :], depth, sentence_rows)
        return np.unique(self.owners[found[0][found[0] >= 0]])


def best_of_groups(vectors: Matrix, starts: Rows, counts: Rows, vector: Matrix, fallback: Matrix) -> Matrix:
    """Per group i (the `counts[i]` sentence vectors from `starts[i]` on), the best cosine to `vector`;
    `fallback[i]` for an empty group. Both stores score sentences here, so they score them alike."""
    best = np.array(fallback, dtype=np.float32, copy=True)
    has = counts > 0
    if not has.any():
        return best
    starts, counts = starts[has], counts[has]
    offsets = np.cumsum(counts) - counts
    positions = np.repeat(starts - offsets, counts) + np.arange(int(counts.sum()))
    similarities = vectors[positions] @ vector
    best[has] = np.maximum.reduceat(similarities, offsets)
    return best
