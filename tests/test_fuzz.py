"""Property tests over hostile input: random bytes and random structured text through the loaders, the
cleaner and the chunker. Only RagError subclasses may escape, and the chunker loses nothing."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import docx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.chunk import split_clauses
from rag.clean import clean_text
from rag.errors import RagError
from rag.ingest import load_document
from rag.loaders import SUPPORTED_SUFFIXES, read_text
from rag.schema import Document
from tests.test_chunk import assert_invariants, generated_document

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _docx_bytes() -> bytes:
    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("第一条 为了加强产品质量监督管理，制定本法。")
    document.add_table(rows=2, cols=2).cell(0, 0).text = "市场监管总局"
    document.save(buffer)
    return buffer.getvalue()


DOCX = _docx_bytes()
PDF_HEAD = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"


def load(data: bytes, suffix: str) -> None:
    """Read and load `data` as a file with `suffix`; a RagError is an acceptable answer, nothing else is."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            read_text(path)
            load_document(path)
        except RagError:
            pass


@FUZZ
@given(data=st.binary(max_size=2048), suffix=st.sampled_from(SUPPORTED_SUFFIXES))
def test_random_bytes_raise_only_rag_errors(data: bytes, suffix: str) -> None:
    load(data, suffix)


@FUZZ
@given(position=st.integers(0, len(DOCX) - 1), junk=st.binary(min_size=1, max_size=64),
       cut=st.integers(0, len(DOCX)))
def test_damaged_word_files_raise_only_rag_errors(position: int, junk: bytes, cut: int) -> None:
    load((DOCX[:position] + junk + DOCX[position + len(junk):])[:max(cut, 1)], ".docx")


@FUZZ
@given(members=st.dictionaries(st.sampled_from(["[Content_Types].xml", "word/document.xml", "_rels/.rels",
                                                "word/_rels/document.xml.rels", "x"]),
                               st.binary(max_size=256) | st.text(max_size=256).map(str.encode), max_size=5))
def test_random_zip_archives_as_word_files_raise_only_rag_errors(members: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    load(buffer.getvalue(), ".docx")


@FUZZ
@given(body=st.binary(max_size=1024))
def test_random_pdf_bodies_raise_only_rag_errors(body: bytes) -> None:
    load(PDF_HEAD + body + b"\n%%EOF", ".pdf")


_tag = st.sampled_from(["p", "div", "script", "style", "br", "table", "td", "img", "a", "meta", "!--", "![CDATA["])
_html = st.lists(st.one_of(st.text(max_size=20), _tag.map(lambda t: f"<{t}>"), _tag.map(lambda t: f"</{t}>"),
                           st.just('<meta charset="gb2312">'), st.just("&#xD800;&nbsp;&")), max_size=30).map("".join)


@FUZZ
@given(markup=_html, encoding=st.sampled_from(["utf-8", "gb18030", "utf-16"]))
def test_random_web_pages_raise_only_rag_errors(markup: str, encoding: str) -> None:
    load(markup.encode(encoding, errors="replace"), ".html")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.one_of(generated_document, st.text(max_size=300)), max_chars=st.sampled_from([50, 120, 800]))
def test_cleaned_text_chunks_without_losing_anything(raw: str, max_chars: int) -> None:
    text = clean_text(raw)  # the cleaner itself must not raise on any text
    if not text.strip():
        return
    document = Document(doc_id="fuzz", title="随机文档", text=text, source="fuzz.txt")
    assert_invariants(document, split_clauses(document, max_chars=max_chars))
