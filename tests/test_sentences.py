"""Sentence vectors beside clause vectors (rag/sentences.py): splitting, best-sentence scores, candidates."""

from __future__ import annotations

import numpy as np

from rag.index import build_vector_index
from rag.sentences import SentenceVectors, clause_sentences


def test_clause_sentences_split_long_clauses_only() -> None:
    clause = "（三）提高检测能力。支持民营企业参与检测能力提升；鼓励共享仪器设备。\n开展计量比对项目。"
    assert clause_sentences(clause) == ["（三）提高检测能力。", "支持民营企业参与检测能力提升；", "鼓励共享仪器设备。",
                                        "开展计量比对项目。"]
    assert clause_sentences("第三十一条 个人独资企业财产不足以清偿债务的，投资人应当以其个人的其他财产予以清偿。") == []
    assert clause_sentences("第三条 略。短句。") == []  # pieces under 8 characters get no vector


def unit(values: list[float]) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def sentence_vectors(rng: np.random.Generator, owners: list[int]) -> SentenceVectors:
    vectors = rng.standard_normal((len(owners), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return SentenceVectors(vectors, np.asarray(owners, dtype=np.int64), build_vector_index(vectors, kind="flat"))


def test_best_similarities_match_a_brute_force_maximum() -> None:
    rng = np.random.default_rng(7)
    owners = [0, 0, 2, 2, 2, 5, 7, 7]  # clauses 1, 3, 4 and 6 have no sentence vectors
    sentences = sentence_vectors(rng, owners)
    query = unit(rng.standard_normal(8).tolist())
    rows = np.asarray([7, 1, 2, 0, 5, 3], dtype=np.int64)  # any order, with and without sentences
    fallback = np.asarray([0.11, 0.22, 0.33, 0.44, 0.55, 0.66], dtype=np.float32)
    best = sentences.best_similarities(rows, query, fallback)
    for position, row in enumerate(rows):
        own = [sentences.vectors[i] @ query for i, owner in enumerate(owners) if owner == row]
        expected = max(own) if own else fallback[position]
        assert abs(best[position] - expected) < 1e-6


def test_nearest_clauses_respect_the_allowed_rows() -> None:
    owners = [0, 0, 1, 1, 2, 2]
    vectors = np.eye(6, 8, dtype=np.float32)
    sentences = SentenceVectors(vectors, np.asarray(owners, dtype=np.int64), build_vector_index(vectors, kind="flat"))
    query = unit([0, 0, 0, 1, 0.9, 0, 0, 0])  # sentence 3 (clause 1), then sentence 4 (clause 2)
    assert sentences.nearest_clauses(query, 2, None).tolist() == [1, 2]
    assert sentences.nearest_clauses(query, 2, np.asarray([2, 0])).tolist() == [0, 2]
    assert sentences.nearest_clauses(query, 2, np.asarray([9])).tolist() == []
