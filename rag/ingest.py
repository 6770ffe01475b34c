"""Read source files into cleaned Documents with their metadata; bad files are reported, not fatal."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rag.clean import clean_text, is_traditional
from rag.doc_meta import infer_date, infer_issuer, infer_title
from rag.errors import CorpusError
from rag.loaders import iter_source_files, read_text
from rag.schema import Document

MANIFEST_NAME = "manifest.json"
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,8}〔\d{4}〕\d+号")


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class LoadedCorpus:
    documents: tuple[Document, ...]
    skipped: tuple[SkippedFile, ...]


def slugify(name: str) -> str:
    """Keep CJK, letters and digits; every other run becomes one '-': 产品质量法(2018-12-29) → 产品质量法-2018-12-29."""
    slug = re.sub(r"[^0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff]+", "-", name).strip("-")
    return slug or "document"


def load_corpus(paths: Sequence[str | Path]) -> LoadedCorpus:
    """Load every supported file under `paths`; unreadable files are skipped with their reason."""
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    used_ids: set[str] = set()
    manifests: dict[Path, dict[str, dict[str, str]]] = {}
    for path in iter_source_files([Path(p) for p in paths]):
        manifest = manifests.setdefault(path.parent, load_manifest(path.parent))
        try:
            document = load_document(path, metadata=manifest.get(path.name))
        except CorpusError as error:
            skipped.append(SkippedFile(str(path), error.reason))
            continue
        if document.doc_id in used_ids:  # same file name in two folders: qualify by the folder
            document = replace(document, doc_id=slugify(f"{path.parent.name}-{path.stem}"))
        used_ids.add(document.doc_id)
        documents.append(document)
    return LoadedCorpus(tuple(documents), tuple(skipped))


def load_manifest(directory: Path) -> dict[str, dict[str, str]]:
    """Per-file metadata from `manifest.json` beside the files, keyed by file name."""
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.is_file():
        return {}
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CorpusError("无法读取文件清单", manifest_path) from error
    except json.JSONDecodeError as error:
        raise CorpusError(f"文件清单不是有效的 JSON（第 {error.lineno} 行）", manifest_path) from error
    return {name: entry for name, entry in data.items() if isinstance(entry, dict)}


def load_document(path: Path, *, metadata: dict[str, str] | None = None) -> Document:
    """Read, clean and describe one file. Raises CorpusError for unreadable or empty files."""
    loaded = read_text(path)
    cleaned = clean_text(loaded.text)
    if not cleaned.strip():
        raise CorpusError("去掉网页框架、页码等内容后没有剩下正文", path)
    metadata = metadata or {}
    traditional = is_traditional(loaded.text)
    return Document(
        doc_id=metadata.get("doc_id") or slugify(path.stem),
        title=metadata.get("title") or infer_title(cleaned, path, original=loaded.text),
        text=cleaned,
        source=str(path),
        original=loaded.text,
        issuer=metadata.get("issuer") or infer_issuer(cleaned),
        date=metadata.get("date") or _stem_date(path.stem) or infer_date(cleaned, original=loaded.text),
        doc_number=metadata.get("doc_number") or _first(_DOC_NUMBER, cleaned),
        script=metadata.get("script") or ("traditional" if traditional else "simplified"),
        lead_first_listed="列第一位者为牵头部门" in cleaned,
    )


def _stem_date(stem: str) -> str:
    """Collections name files like 产品质量法(2018-12-29): that date is the version's, not the body's."""
    match = re.search(r"(\d{4}-\d{2}-\d{2})", stem)
    return match.group(1) if match else ""


def _first(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    return match.group(0) if match else ""
