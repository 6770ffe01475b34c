"""rag.ingest: the bundled corpus with and without its manifest, and bad files that must not stop a batch."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pypdf import PdfWriter

from rag.chunk import split_clauses
from rag.doc_meta import infer_date, infer_issuer, infer_title
from rag.errors import CorpusError
from rag.ingest import load_corpus, load_document, slugify
from rag.loaders import read_text
from rag.schema import Clause

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
DATA = Path(__file__).resolve().parent / "data"
# The five founding documents as users first sent them: hashed file names, no manifest.
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
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
    assert document.issuer == "某某县人民政府"  # the signature above it
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


# --- metadata from the text, without a manifest ------------------------------------------------

SEED_METADATA = {
    # seed file: (title, issuer, date) inferred from its text; the manifest's values wherever the text holds them
    "000_45b2a2e55522e087.txt": (
        "大动作！18部门联合推动质量提升",  # a news repost: the headline is the only title it has
        "",  # no signature; the manifest's "市场监管总局等18部门" is not in the text
        "2022-12-03",  # the page's 发布时间, the repost date the manifest records
    ),
    "001_e79713d7ae117acc.txt": (
        "关于进一步发挥质量基础设施支撑引领民营企业提质增效升级作用的意见",  # not the news headline above it
        "市场监管总局、全国工商联、国家发展改革委、科技部、工业和信息化部、商务部",  # six signature lines
        "2021-09-28",
    ),
    "002_39ede413c97485a6.txt": (
        "贯彻实施质量发展纲要2014年行动计划",  # the plan the 国务院办公厅关于印发…的通知 issues, and the body
        "国务院办公厅",
        "2014-04-21",
    ),
    "003_ef1cf041d010b2d1.txt": (
        "关于全面提升产品质量的实施意见",  # from "《….docx》由会员分享"; the body's first line reads "产品质"
        "",  # the city is anonymised as XX and nobody signs
        "",
    ),
    "004_b1fe23aa4b7401b8.txt": (
        "关于深入贯彻落实《广东省质量强省建设纲要》的实施意见（征求意见稿）",  # not the call for comments above
        "汕尾市市场监督管理局",  # the notice's signature, not the address line that ends with the same name
        "2023-09-26",  # the signature date, not the 2023年10月26日 deadline for comments
    ),
}


@pytest.mark.parametrize("name", sorted(SEED_METADATA))
def test_seed_without_manifest_is_described_from_its_text(tmp_path: Path, name: str) -> None:
    if not SEEDS.is_dir():
        pytest.skip(f"the seed documents are not beside the repository ({SEEDS})")
    path = tmp_path / name
    path.write_bytes((SEEDS / name).read_bytes())
    document = load_document(path)
    assert (document.title, document.issuer, document.date) == SEED_METADATA[name]


# The bundled corpus holds the same files under readable names; its manifest is the truth to match.
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
NOT_IN_TEXT = {"2022-18-departments-quality-improvement.txt": ("title", "issuer")}  # a news repost's excerpt


@pytest.mark.parametrize("name", sorted(name for name, entry in MANIFEST.items() if isinstance(entry, dict)))
def test_bundled_file_without_manifest_matches_the_manifest_where_its_text_can(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes((CORPUS / name).read_bytes())
    document = load_document(path)
    for field in ("title", "issuer", "date"):
        if field not in NOT_IN_TEXT.get(name, ()):
            assert getattr(document, field) == MANIFEST[name][field], field


def test_a_law_heading_is_its_title(tmp_path: Path) -> None:
    path = tmp_path / "law.md"
    path.write_text("# 产品质量法\n\n## 第一章 总则\n\n第一条 为了加强对产品质量的监督管理，制定本法。\n", encoding="utf-8")
    assert load_document(path).title == "产品质量法"


def test_text_without_a_title_line_is_named_by_its_file(tmp_path: Path) -> None:
    path = tmp_path / "座谈会记录.txt"
    path.write_text(
        "为贯彻落实《质量强国建设纲要》，会议听取了各部门的情况汇报。\n\n"  # a cited document is not this one's title
        "会议要求各部门进一步加强质量监管，确保各项任务落到实处。\n",
        encoding="utf-8",
    )
    document = load_document(path)
    assert (document.title, document.issuer) == ("座谈会记录", "")


def test_infer_title() -> None:
    assert infer_title("关于全面提升产品质量的实施意见\n正文。", Path("x.txt")) == "关于全面提升产品质量的实施意见"
    assert infer_title("为贯彻落实有关要求，现提出如下意见。\n", Path("x.txt")) == "x"  # a sentence, not a title
    draft = "关于加快质量强县建设的实施意见\n（征求意见稿）\n为加快质量强县建设，制定本意见。"
    assert infer_title(draft, Path("x.txt")) == "关于加快质量强县建设的实施意见（征求意见稿）"
    # A title quoted twice at the top of the page (the share line the cleaner drops) beats the file name.
    share = "《关于加快质量强县建设的实施意见.docx》由会员分享，更多相关《关于加快质量强县建设的实施意见.docx(8页)》"
    assert infer_title("为加快质量强县建设，制定本意见。", Path("x.txt"), original=share) == "关于加快质量强县建设的实施意见"


def test_infer_issuer_reads_only_the_signature() -> None:
    assert infer_issuer("正文。\n某某县人民政府\n2024年3月1日") == "某某县人民政府"
    assert infer_issuer("正文。\n市场监管总局\n全国工商联\n商务部\n2021年9月28日") == "市场监管总局、全国工商联、商务部"
    assert infer_issuer("正文。\n某某县人民政府") == "某某县人民政府"  # signed without a date
    # An organisation named elsewhere is not the issuer: an address, a duty note, "我局".
    assert infer_issuer("地址：某某市城区某某路某某市市场监督管理局\n2023年9月26日") == ""
    assert infer_issuer("我局牵头起草了本意见。\n（科技部、商务部等按职责分工负责）") == ""


def test_infer_date() -> None:
    assert infer_date("2020年1月2日起草。\n……\n某某县人民政府\n2024年3月1日") == "2024-03-01"
    # The signature line wins over a later deadline written in a sentence.
    assert infer_date("某某局\n2023年9月26日\n意见请于2023年10月26日前反馈。") == "2023-09-26"
    assert infer_date("没有日期", original="来源：某某 | 发布时间: 2022-12-03 | 分享到") == "2022-12-03"
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
    "a-empty.txt": (b"", "文件是空的"),
    "b-binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 20, "二进制文件"),
    "d-scanned.pdf": (None, "扫描版 PDF"),
    "f-broken.docx": (b"PK\x03\x04 this is not really a zip archive", "不是有效的 .docx 文件"),
    "g-blank.md": (b"  \n\n\t\n", "没有文字"),
    "h-chrome-only.html": ("<p>首页>>新闻详情</p><p>分享到：</p><p>浏览次数：12</p>".encode(), "没有剩下正文"),
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
        assert BAD_FILES[name][1] in skipped.reason
        assert name not in skipped.reason and not re.search("[A-Za-z]{3,}", re.sub(r"\.[a-z]+|Word|PDF|UTF", "", skipped.reason))
    assert all(split_clauses(document) for document in corpus.documents)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_load_document_raises_corpus_error_naming_the_file(mixed_folder: Path, name: str) -> None:
    with pytest.raises(CorpusError, match=BAD_FILES[name][1]) as error:
        load_document(mixed_folder / name)
    assert error.value.path == str(mixed_folder / name)
    assert str(error.value) == f"{mixed_folder / name}：{error.value.reason}"  # named once, then why


def test_a_missing_path_is_an_error_not_a_skip(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="文件或文件夹不存在"):
        load_corpus([tmp_path / "missing"])
