"""Dense vector search with FAISS (exact or HNSW), over the rows of one index version."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

from rag.schema import Matrix

Rows = npt.NDArray[np.int64]


class FaissIndex:
    """Inner-product search over L2-normalised vectors (cosine). Rows are clause positions.

    `flat` is exact; `hnsw` is approximate and used above a size threshold (recall in bench/).
    """

    HNSW_NEIGHBOURS = 32
    HNSW_EF_CONSTRUCTION = 80
    HNSW_EF_SEARCH = 128

    def __init__(self, dimension: int, kind: str = "flat", index: faiss.Index | None = None) -> None:
        if kind not in ("flat", "hnsw"):
            raise ValueError(f"unknown FAISS index kind {kind!r}: use 'flat' or 'hnsw'")
        self.kind = kind
        self.dimension = dimension
        if index is None:
            if kind == "flat":
                index = faiss.IndexFlatIP(dimension)
            else:
                index = faiss.IndexHNSWFlat(dimension, self.HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efConstruction = self.HNSW_EF_CONSTRUCTION
        self._index = index

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: Matrix) -> None:
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"expected vectors of shape (n, {self.dimension}), got {vectors.shape}")
        self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, query: Matrix, k: int, allowed: Rows | None = None) -> tuple[Matrix, Rows]:
        """Top-k (scores, rows) per query row; `allowed` restricts results to those rows."""
        k = min(k, self.size)
        if k <= 0:
            empty = np.zeros((len(query), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            if self.kind == "hnsw":
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.HNSW_EF_SEARCH, k))
            else:
                params = faiss.SearchParameters(sel=selector)
        elif self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.HNSW_EF_SEARCH, k))
        scores, rows = self._index.search(np.ascontiguousarray(query, dtype=np.float32), k, params=params)
        return scores, rows

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str) -> FaissIndex:
        index = faiss.read_index(str(path))
        return cls(index.d, kind, index)


def build_vector_index(vectors: Matrix, *, kind: str) -> FaissIndex:
    index = FaissIndex(vectors.shape[1], kind)
    index.add(vectors)
    return index
