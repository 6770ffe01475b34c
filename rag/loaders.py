"""Read a user's file (txt, md, docx, pdf, html) into text, detecting the encoding of plain text."""

from __future__ import annotations

import codecs
import errno
import io
import itertools
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer
import docx
import pypdf
from bs4 import BeautifulSoup
from bs4.dammit import EncodingDetector
from bs4.element import NavigableString, PreformattedString
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table

from rag.errors import CorpusError


@dataclass(frozen=True)
class LoadedText:
    """A file's text with newlines normalised to "\\n"."""

    path: Path
    text: str
    encoding: str  # codec used, e.g. "utf-8", "gb18030"; "n/a" where python-docx or pypdf decoded it
    file_format: str  # "text" | "markdown" | "docx" | "pdf" | "html"


# Limits checked before the expensive work (decompressing, cleaning, chunking, embedding). 500,000 characters
# is about five times 民法典; a 20 MB one-line file took over 200 s to clean and chunk and would take hours
# to embed. Word files are zip archives: their members' declared sizes are summed before anything is
# inflated (a 1.3 MB file inflating to 400 MB exhausted memory). zipfile never reads past a declared size.
MAX_DOCUMENT_CHARS = 500_000
MAX_UNPACKED_BYTES = 100_000_000
# UTF-8 and GB18030 use at most 4 bytes per character; web pages carry markup besides their text.
_MAX_BYTES_PER_CHAR = {"text": 4, "markdown": 4, "html": 20, "docx": 0, "pdf": 0}
# A PDF averaging fewer extracted characters per page than this is treated as scanned images.
MIN_PDF_CHARS_PER_PAGE = 20
# Above this share of control characters the "text" is really binary data.
MAX_CONTROL_CHAR_RATIO = 0.05
# Checked longest first: the UTF-32-LE BOM begins with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Pages labelled gb2312/gbk routinely use characters outside those sets; GB18030 is a strict superset.
_SUPERSET_CODECS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030"}
_DROPPED_HTML_TAGS = ["script", "style", "noscript", "template", "nav", "header", "footer"]
_BLOCK_HTML_TAGS = [
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "form", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "main", "ol", "p", "pre",
    "section", "table", "td", "th", "title", "tr", "ul",
]  # fmt: skip


def _strict_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _looks_like_cjk(text: str) -> bool:
    # Big5 and other byte soups often decode "strictly" as GB18030; tell-tales are private-use
    # characters and a low share of ideographs among the non-ASCII characters.
    if any("\ue000" <= char <= "\uf8ff" for char in text):
        return False
    ideographs = sum(1 for char in text if "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf")
    non_ascii = sum(1 for char in text if ord(char) > 127)
    return ideographs > 0 and ideographs >= 0.5 * non_ascii


def _detect(data: bytes, path: Path, declared: str | None) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if data.startswith(bom) and (text := _strict_decode(data, encoding)) is not None:
            return text, encoding
    if b"\x00" in data:
        raise CorpusError("这是二进制文件（含空字符），不是文本；请另存为 UTF-8 文本", path)
    # Valid UTF-8 beats a declared charset: pages saved as UTF-8 from a template that still says
    # gb2312 are common, and GBK would decode them "successfully" as mojibake.
    if (text := _strict_decode(data, "utf-8")) is not None:
        return text, "utf-8"
    if declared:
        encoding = _SUPERSET_CODECS.get(declared.lower(), declared)
        if (text := _strict_decode(data, encoding)) is not None:
            return text, codecs.lookup(encoding).name
    for encoding in ("gb18030", "big5"):
        text = _strict_decode(data, encoding)
        if text is not None and _looks_like_cjk(text):
            return text, encoding
    best = charset_normalizer.from_bytes(data).best()
    if best is None or best.encoding is None:
        raise CorpusError("无法识别文本编码；请另存为 UTF-8", path)
    return str(best), codecs.lookup(best.encoding).name


def _decode(data: bytes, path: Path, declared: str | None = None) -> tuple[str, str]:
    """Decode bytes as text: BOM, UTF-8, declared charset, GB18030, Big5, then charset-normalizer."""
    text, encoding = _detect(data, path, declared)
    controls = sum(1 for char in text if unicodedata.category(char) == "Cc" and not char.isspace())
    if controls > MAX_CONTROL_CHAR_RATIO * len(text):
        raise CorpusError("这是二进制文件（含大量控制字符），不是文本；请另存为 UTF-8 文本", path)
    return text, encoding


def _read_plain(data: bytes, path: Path) -> tuple[str, str]:
    return _decode(data, path)


def _read_docx(data: bytes, path: Path) -> tuple[str, str]:
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as error:
        raise CorpusError("不是有效的 .docx 文件；请用 Word 重新保存", path) from error
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            # A merged cell is repeated once per grid column it spans; keep it once.
            lines.extend(
                "\t".join(text for text, _ in itertools.groupby(cell.text for cell in row.cells))
                for row in block.rows
            )
        else:
            lines.append(block.text)
    return "\n".join(lines), "n/a"


def _read_pdf(data: bytes, path: Path) -> tuple[str, str]:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise CorpusError("PDF 设有密码；请另存一份不加密的副本", path)
        pages = [page.extract_text() for page in reader.pages]
    except (pypdf.errors.PyPdfError, ValueError, KeyError) as error:
        raise CorpusError("不是可读取的 PDF 文件；请重新导出", path) from error
    text = "\n".join(pages)
    if len("".join(text.split())) < MIN_PDF_CHARS_PER_PAGE * len(pages):
        raise CorpusError("扫描版 PDF，没有文字层；请先做文字识别", path)
    return text, "n/a"


def _read_html(data: bytes, path: Path) -> tuple[str, str]:
    declared = EncodingDetector.find_declared_encoding(data, is_html=True)
    markup, encoding = _decode(data, path, declared)
    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup.find_all(_DROPPED_HTML_TAGS):
        tag.decompose()
    # Source line breaks are layout, not text; block elements are what separate lines.
    for string in soup.find_all(string=True):
        if not isinstance(string, PreformattedString):  # comments, doctype: get_text skips them
            string.replace_with(re.sub(r"\s+", " ", str(string)))
    for tag in soup.find_all(_BLOCK_HTML_TAGS):
        tag.insert_before(NavigableString("\n"))
        tag.insert_after(NavigableString("\n"))
    lines = (line.strip() for line in soup.get_text().splitlines())
    return "\n".join(line for line in lines if line), encoding


# What a user calls each format, and why the system refused a file, for the messages above.
FORMAT_NAMES = {"text": "文本", "markdown": "Markdown", "docx": "Word（.docx）", "pdf": "PDF", "html": "网页（HTML）"}
_OS_REASONS = {errno.ELOOP: "符号链接形成了循环", errno.EACCES: "没有读取权限", errno.EPERM: "没有读取权限",
               errno.ENAMETOOLONG: "路径过长", errno.ENOTDIR: "路径中有一段不是文件夹"}

_Reader = Callable[[bytes, Path], tuple[str, str]]  # (data, path) -> (text, encoding)
READERS: dict[str, tuple[str, _Reader]] = {
    ".txt": ("text", _read_plain),
    ".md": ("markdown", _read_plain),
    ".markdown": ("markdown", _read_plain),
    ".docx": ("docx", _read_docx),
    ".pdf": ("pdf", _read_pdf),
    ".html": ("html", _read_html),
    ".htm": ("html", _read_html),
}
SUPPORTED_SUFFIXES = tuple(READERS)
# Documents people keep beside their policies that we cannot read: listed as skipped, not silently ignored
# (images, data and other files in a folder are simply not part of the corpus).
UNSUPPORTED_DOCUMENT_SUFFIXES = frozenset({
    ".doc", ".docm", ".dot", ".xls", ".xlsx", ".xlsm", ".et", ".ppt", ".pptx", ".dps", ".wps", ".rtf",
    ".odt", ".ods", ".odp", ".ofd", ".caj", ".epub", ".pages", ".numbers", ".key",
})  # fmt: skip


def read_text(path: Path, *, max_chars: int = MAX_DOCUMENT_CHARS,
              max_unpacked_bytes: int = MAX_UNPACKED_BYTES) -> LoadedText:
    """Read a supported file into text; raise CorpusError (the file and why) when that is impossible or too big."""
    suffix = path.suffix.lower()
    if suffix not in READERS:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        raise CorpusError(f"不支持的格式（{suffix or '无扩展名'}）；支持 {supported}", path)
    try:
        path.stat()  # a symlink loop or a dangling link fails here with its reason
    except FileNotFoundError:
        raise CorpusError("文件不存在", path) from None
    except OSError as error:
        raise CorpusError(f"无法读取：{_OS_REASONS.get(error.errno or 0, '系统拒绝访问')}", path) from None
    if not path.is_file():
        raise CorpusError("不是普通文件", path)
    data = path.read_bytes()
    if not data:
        raise CorpusError("文件是空的", path)
    file_format, reader = READERS[suffix]
    max_bytes = _MAX_BYTES_PER_CHAR[file_format] * max_chars
    if max_bytes and len(data) > max_bytes:
        raise CorpusError(f"文件过长：{len(data):,} 字节，超出 {max_chars:,} 字的上限；请拆分成较小的文件", path)
    if file_format == "docx":
        _check_unpacked_size(data, path, max_unpacked_bytes)
    try:
        text, encoding = reader(data, path)
    except CorpusError:
        raise
    except Exception as error:  # python-docx, pypdf and bs4 fail in many ways on damaged files (zlib.error, …)
        raise CorpusError(f"无法按 {FORMAT_NAMES[file_format]} 读取，文件可能已损坏；请重新保存或导出", path) from error
    if len(text) > max_chars:
        raise CorpusError(f"文件过长：{len(text):,} 字，上限 {max_chars:,} 字；请拆分成较小的文件", path)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise CorpusError("文件中没有文字（空白或只有空格）", path)
    return LoadedText(path=path, text=text, encoding=encoding, file_format=file_format)


def _check_unpacked_size(data: bytes, path: Path, limit: int) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        return  # not a zip at all: the reader says so in its own words
    if unpacked > limit:
        raise CorpusError(f"解压后 {unpacked / 1e6:,.0f} MB，超过上限 {limit / 1e6:,.0f} MB；未读取", path)


def _is_skipped(name: str) -> bool:
    # Hidden files, and Word's "~$name.docx" lock files that sit next to an open document.
    return name.startswith((".", "~$")) or name == "manifest.json"


def iter_source_files(paths: Sequence[Path]) -> list[Path]:
    """Supported files among `paths`, directories searched recursively, in a stable sorted order.

    Files keep the order of `paths`; each directory contributes its files sorted by path.
    Hidden names are skipped only below a given directory, so `~/.docs/` itself still works.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            below: list[Path] = []
            for root, dirnames, filenames in os.walk(path):
                dirnames[:] = [name for name in dirnames if not _is_skipped(name)]
                below.extend(Path(root) / name for name in filenames if not _is_skipped(name))
            found.extend(sorted(below))
        elif path.is_file():
            if not _is_skipped(path.name):
                found.append(path)
        else:
            raise CorpusError("文件或文件夹不存在", path)
    unique: dict[Path, Path] = {}  # resolved -> as given; drops a file named twice
    for path in found:
        if path.suffix.lower() in READERS or path.suffix.lower() in UNSUPPORTED_DOCUMENT_SUFFIXES:
            unique.setdefault(_resolved(path), path)
    return list(unique.values())


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: read_text reports it as a skipped file
        return path.absolute()
