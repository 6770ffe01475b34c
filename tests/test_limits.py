"""Small files that would exhaust memory or time (issue 11): limits checked before the work, uploads isolated."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import docx
import pytest

from rag.errors import CorpusError
from rag.ingest import load_corpus, load_document
from rag.isolate import run_isolated
from rag.loaders import MAX_DOCUMENT_CHARS, read_text


def zip_bomb_docx(path: Path, *, megabytes: int = 400) -> Path:
    """A real .docx whose word/document.xml inflates to `megabytes` MB (the issue's was 1.3 MB → 400 MB)."""
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    template = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in template.infolist():
            if member.filename != "word/document.xml":
                archive.writestr(member, template.read(member))
                continue
            with archive.open("word/document.xml", "w", force_zip64=True) as handle:
                handle.write(b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                             b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>')
                block = "质量".encode() * (1 << 19)  # 3 MB of text per write
                for _ in range(megabytes // 3):
                    handle.write(block)
                handle.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zip_bomb_docx(tmp_path_factory.mktemp("bomb") / "bomb.docx")


def test_zip_bomb_docx_is_refused_before_inflating(bomb: Path) -> None:
    assert bomb.stat().st_size < 2_000_000
    started = time.perf_counter()
    with pytest.raises(CorpusError, match=r"解压后 \d+ MB，超过上限 100 MB"):
        read_text(bomb)
    assert time.perf_counter() - started < 1.0  # was 117 s and a MemoryError


def test_over_long_one_line_text_is_refused_before_cleaning(tmp_path: Path) -> None:
    path = tmp_path / "one-line.txt"
    path.write_text("质量发展纲要要求加强质量监督，" * 1_400_000, encoding="utf-8")  # 21 million characters, 63 MB
    started = time.perf_counter()
    with pytest.raises(CorpusError, match="文件过长"):
        load_document(path)
    assert time.perf_counter() - started < 2.0  # was over 200 s
    short = tmp_path / "short.txt"
    short.write_text("质" * (MAX_DOCUMENT_CHARS + 1), encoding="utf-8")  # within the byte bound, over in characters
    with pytest.raises(CorpusError, match=f"{MAX_DOCUMENT_CHARS + 1:,} 字"):
        read_text(short)
    corpus = load_corpus([tmp_path])  # a folder with such files: listed as skipped, the rest goes on
    assert not corpus.documents and len(corpus.skipped) == 2


def test_isolated_reading_returns_the_document_and_relays_errors(tmp_path: Path, bomb: Path) -> None:
    good = tmp_path / "notice.txt"
    good.write_text("关于计量服务的通知\n一、加强计量服务。\n", encoding="utf-8")
    document = run_isolated(load_document, good, timeout_s=60, memory_mb=1024)
    assert document.title == "关于计量服务的通知"
    with pytest.raises(CorpusError, match="解压后"):
        run_isolated(load_document, bomb, timeout_s=60, memory_mb=1024)


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def test_isolated_work_is_stopped_at_its_memory_and_time_limits() -> None:
    with pytest.raises(CorpusError, match="内存超出 512 MB"):
        run_isolated(allocate, 2048, timeout_s=60, memory_mb=512)
    started = time.perf_counter()
    with pytest.raises(CorpusError, match="处理超时：2 秒内未完成"):
        run_isolated(time.sleep, 30, timeout_s=2)
    assert time.perf_counter() - started < 10
