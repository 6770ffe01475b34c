"""rag.ingest: the bundled corpus with its manifest, and bad files that must not stop a batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pypdf import PdfWriter

from rag.chunk import split_clauses
from rag.errors import CorpusError
from rag.ingest import infer_date, infer_title, load_corpus, load_document, slugify
from rag.loaders import read_text
from rag.schema import Clause

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
DATA = Path(__file__).resolve().parent / "data"
POLICY = (DATA / "policy-short.txt").read_text(encoding="utf-8")


def write_blank_pdf(path: Path) -> Path:
    """What a scanner produces without OCR: a page with no text layer."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    with path.open("wb") as file:
        writer.write(file)
    return path


def comparable(clauses: list[Clause]) -> list[tuple[object, ...]]:
    """Everything about the chunks except the document id they hang off."""
    return [
        (c.clause_id.split("#", 1)[1], c.kind, c.chapter, c.label, c.title, c.text, c.departments, c.lead_department)
        for c in clauses
    ]


# --- the bundled corpus ------------------------------------------------------------------------


def test_bundled_corpus_loads_with_manifest_metadata() -> None:
    corpus = load_corpus([CORPUS])
    assert corpus.skipped == ()
    documents = {document.doc_id: document for document in corpus.documents}
    assert sorted(documents) == [
        "2014-quality-outline-action-plan",
        "2021-qi-private-enterprises-opinion",
        "2022-18-departments-quality-improvement",
        "2023-shanwei-quality-strong-city-opinion",
        "city-product-quality-implementation-opinion",
    ]
    plan_2014 = documents["2014-quality-outline-action-plan"]
    assert plan_2014.title == "贯彻实施质量发展纲要2014年行动计划"
    assert (plan_2014.date, plan_2014.doc_number, plan_2014.issuer) == ("2014-04-21", "国办发〔2014〕18号", "国务院办公厅")
    assert plan_2014.lead_first_listed  # "列第一位者为牵头部门，下同" in （一）
    assert plan_2014.script == "traditional"
    assert plan_2014.original.startswith("國務院辦公廳")  # the decoded file, kept for display
    assert plan_2014.text.startswith("国务院办公厅")
    assert documents["2021-qi-private-enterprises-opinion"].script == "traditional"
    assert documents["2022-18-departments-quality-improvement"].title.startswith("进一步提高产品、工程和服务质量行动方案")
    assert not any(documents[doc_id].lead_first_listed for doc_id in documents if doc_id != plan_2014.doc_id)
    for document in documents.values():
        assert document.source.endswith(".txt")
        assert "分享到" not in document.text and "(mào)" not in document.text


def test_file_without_manifest_entry_gets_title_date_and_id_from_its_text(tmp_path: Path) -> None:
    path = tmp_path / "县质量强县意见.txt"
    path.write_text(POLICY, encoding="utf-8")
    document = load_document(path)
    assert document.doc_id == "县质量强县意见"
    assert document.title == "关于加快推进质量强县建设的实施意见"
    assert document.date == "2024-03-01"  # the signature date at the end
    assert document.script == "simplified"


def test_metadata_overrides_what_is_inferred(tmp_path: Path) -> None:
    path = tmp_path / "policy.txt"
    path.write_text(POLICY, encoding="utf-8")
    metadata = {"doc_id": "county-2024", "title": "质量强县意见", "date": "2024-03-05", "issuer": "某某县人民政府"}
    document = load_document(path, metadata=metadata)
    assert (document.doc_id, document.title, document.date, document.issuer) == (
        "county-2024",
        "质量强县意见",
        "2024-03-05",
        "某某县人民政府",
    )


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("产品质量法(2018-12-29)", "产品质量法-2018-12-29"),
        ("2014-quality-outline-action-plan", "2014-quality-outline-action-plan"),
        ("关于《纲要》的 意见", "关于-纲要-的-意见"),
        ("（）", "document"),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_infer_title_and_date() -> None:
    assert infer_title("关于全面提升产品质量的实施意见\n正文。", Path("x.txt")) == "关于全面提升产品质量的实施意见"
    assert infer_title("为贯彻落实有关要求，现提出如下意见。\n", Path("x.txt")) == "x"  # a sentence, not a title
    assert infer_date("2020年1月2日起草。\n……\n某某县人民政府\n2024年3月1日") == "2024-03-01"
    assert infer_date("没有日期") == ""


def test_same_file_name_in_two_folders_gets_distinct_ids(tmp_path: Path) -> None:
    for folder in ("county", "city"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "policy.txt").write_text(POLICY, encoding="utf-8")
    corpus = load_corpus([tmp_path / "county", tmp_path / "city"])
    assert [document.doc_id for document in corpus.documents] == ["policy", "city-policy"]


def test_broken_manifest_is_reported_by_name(tmp_path: Path) -> None:
    (tmp_path / "policy.txt").write_text(POLICY, encoding="utf-8")
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CorpusError, match="manifest.json"):
        load_corpus([tmp_path])


def test_manifest_entries_are_matched_by_file_name(tmp_path: Path) -> None:
    (tmp_path / "policy.txt").write_text(POLICY, encoding="utf-8")
    manifest = {"policy.txt": {"doc_id": "county-2024", "title": "质量强县意见"}, "_comment": "ignored"}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    (document,) = load_corpus([tmp_path]).documents
    assert (document.doc_id, document.title) == ("county-2024", "质量强县意见")


# --- bad input ---------------------------------------------------------------------------------


def test_gbk_policy_loads_and_chunks_like_its_utf8_twin(tmp_path: Path) -> None:
    (tmp_path / "gbk").mkdir()
    (tmp_path / "utf8").mkdir()
    gbk = tmp_path / "gbk" / "policy-short.txt"
    gbk.write_bytes(POLICY.encode("gbk"))
    (tmp_path / "utf8" / "policy-short.txt").write_text(POLICY, encoding="utf-8")
    assert read_text(gbk).encoding == "gb18030"

    corpus = load_corpus([tmp_path / "gbk", tmp_path / "utf8"])
    assert corpus.skipped == ()
    from_gbk, from_utf8 = corpus.documents
    assert from_gbk.text == from_utf8.text
    assert from_gbk.title == from_utf8.title == "关于加快推进质量强县建设的实施意见"
    gbk_clauses, utf8_clauses = split_clauses(from_gbk), split_clauses(from_utf8)
    assert comparable(gbk_clauses) == comparable(utf8_clauses)
    assert [c.clause_id.split("#")[1] for c in gbk_clauses] == [
        "序言", "一", "一（一）", "一（二）", "二", "二（三）", "二（四）", "结尾",
    ]  # fmt: skip


def test_text_without_structure_becomes_paragraph_chunks(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("质量工作座谈会纪要\n会议听取了各部门的情况汇报。\n\n会议要求进一步加强质量监管。\n", encoding="utf-8")
    document = load_document(path)
    clauses = split_clauses(document)
    assert [(c.clause_id, c.kind, c.text) for c in clauses] == [
        ("notes#段1", "paragraph", "质量工作座谈会纪要"),
        ("notes#段2", "paragraph", "会议听取了各部门的情况汇报。"),
        ("notes#段3", "paragraph", "会议要求进一步加强质量监管。"),
    ]


BAD_FILES = {
    # name: (content, words the reason must contain)
    "a-empty.txt": (b"", "empty"),
    "b-binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 20, "binary"),
    "d-scanned.pdf": (None, "scanned PDF"),
    "f-broken.docx": (b"PK\x03\x04 this is not really a zip archive", ".docx"),
    "g-blank.md": (b"  \n\n\t\n", "blank"),
    "h-chrome-only.html": ("<p>首页>>新闻详情</p><p>分享到：</p><p>浏览次数：12</p>".encode(), "no text left"),
}


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    for name, (content, _) in BAD_FILES.items():
        if content is None:
            write_blank_pdf(tmp_path / name)
        else:
            (tmp_path / name).write_bytes(content)
    (tmp_path / "c-gbk-policy.txt").write_bytes(POLICY.encode("gbk"))
    (tmp_path / "e-notes.txt").write_text("会议听取了情况汇报。\n会议要求加强监管。", encoding="utf-8")
    (tmp_path / "i-photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # not a supported type: not part of the corpus
    return tmp_path


def test_bad_files_are_reported_and_the_batch_continues(mixed_folder: Path) -> None:
    corpus = load_corpus([mixed_folder])
    assert [document.doc_id for document in corpus.documents] == ["c-gbk-policy", "e-notes"]
    assert [Path(skipped.path).name for skipped in corpus.skipped] == sorted(BAD_FILES)
    for skipped in corpus.skipped:
        name = Path(skipped.path).name
        assert name in skipped.reason
        assert BAD_FILES[name][1] in skipped.reason
    assert all(split_clauses(document) for document in corpus.documents)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_load_document_raises_corpus_error_naming_the_file(mixed_folder: Path, name: str) -> None:
    with pytest.raises(CorpusError, match=BAD_FILES[name][1]) as error:
        load_document(mixed_folder / name)
    assert name in str(error.value)


def test_a_missing_path_is_an_error_not_a_skip(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no such file or directory"):
        load_corpus([tmp_path / "missing"])
