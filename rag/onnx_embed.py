"""The default model as an int8 ONNX graph on onnxruntime: a faster document embedder for bulk ingest.

Built once from the converted sentence-transformers directory (`rag/e5_model.py`), offline: torch exports
the transformer with mean pooling and normalisation to `onnx/`, then onnxruntime quantises the MatMul
weights to uint8, per output channel, with int8 activations computed at run time (dynamic quantisation).
Per-tensor scales, or quantising the embedding table too, cost cosine 0.976–0.98 to the float32 vectors;
this recipe keeps ≥ 0.994 on corpus samples (see README, Bulk ingest), which is close but not the same
space: its `fingerprint` is the default model's with `VARIANT` appended, so an index of its vectors is
never extended with float32 vectors or the reverse, while queries of the default model still match it
(`rag.embed.same_vector_space`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.e5_model import MAX_SEQ_LENGTH, MODEL_NAME, default_model_fingerprint
from rag.errors import ModelError
from rag.schema import Matrix

VARIANT = "onnx-int8"
ONNX_DIRECTORY = "onnx"
INT8_FILE = "model-int8.onnx"
QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "


def build_int8_model(model_directory: Path) -> Path:
    """`model_directory/onnx/model-int8.onnx`, exported and quantised on first use (~1 min, offline)."""
    target = model_directory / ONNX_DIRECTORY / INT8_FILE
    if target.is_file():
        return target
    try:
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.shape_inference import quant_pre_process
        from transformers import AutoModel
    except ImportError as exc:
        raise ImportError("the onnx-int8 backend needs torch, transformers, onnx and onnxruntime: "
                          "pip install onnx onnxruntime") from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        exported, prepared, quantised = (Path(scratch) / name for name in ("fp32.onnx", "pre.onnx", "int8.onnx"))
        model = _MeanPooled(AutoModel.from_pretrained(str(model_directory))).eval()
        example = torch.ones(2, 16, dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        with torch.no_grad():
            torch.onnx.export(model, (example, example), str(exported), input_names=["input_ids", "attention_mask"],
                              output_names=["embedding"], opset_version=17, dynamo=False,
                              dynamic_axes={"input_ids": axes, "attention_mask": axes, "embedding": {0: "batch"}})
        quant_pre_process(str(exported), str(prepared), skip_symbolic_shape=True)
        quantize_dynamic(str(prepared), str(quantised), weight_type=QuantType.QUInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
        os.replace(quantised, target)
    return target


class _MeanPooled:  # a torch.nn.Module, built lazily so that importing this module does not import torch
    def __new__(cls, transformer: Any) -> Any:
        import torch

        class MeanPooled(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.transformer = transformer

            def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, p=2, dim=1)

        return MeanPooled()


class OnnxInt8Embedder:
    """multilingual-e5-small, int8 weights, on onnxruntime's CPU provider; texts sorted by length per call."""

    backend = VARIANT
    device = "cpu"

    def __init__(self, model_directory: Path, *, batch_size: int = 32, num_threads: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        import onnxruntime
        from transformers import AutoTokenizer

        path = build_int8_model(model_directory)
        options = onnxruntime.SessionOptions()
        # onnxruntime ignores OMP_NUM_THREADS; honour it, so one worker per core does not oversubscribe.
        threads = num_threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
        options.intra_op_num_threads = max(0, threads)
        options.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph classes
            raise ModelError(f"{path} could not be loaded ({error}): delete it to rebuild it") from error
        self._tokenizer = AutoTokenizer.from_pretrained(str(model_directory))
        self.name = MODEL_NAME
        self.model_path = str(path)
        self.fingerprint = f"{default_model_fingerprint()}+{VARIANT}"
        self.dimension = 384
        self.batch_size = batch_size

    def embed_documents(self, texts: Sequence[str]) -> Matrix:
        return self._embed([PASSAGE_PREFIX + text for text in _strings(texts)])

    def embed_queries(self, texts: Sequence[str]) -> Matrix:
        return self._embed([QUERY_PREFIX + text for text in _strings(texts)])

    def _embed(self, texts: list[str]) -> Matrix:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths share a batch
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            encoded = self._tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                      max_length=MAX_SEQ_LENGTH, return_tensors="np")
            vectors[rows] = self._session.run(None, {
                "input_ids": encoded["input_ids"].astype(np.int64),
                "attention_mask": encoded["attention_mask"].astype(np.int64),
            })[0]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        result: Matrix = vectors / np.maximum(norms, 1e-12)
        return result


def _strings(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise ValueError("texts must be a sequence of strings, not a single string: wrap it in a list")
    items = list(texts)
    if any(not isinstance(text, str) for text in items):
        raise ValueError("texts must all be strings")
    return items

