"""Documents added through the chat: kept apart from the bundled corpus, under new names, marked as uploads.

An upload never replaces a file: it is stored under a unique name in the upload folder, and the folder's
own `manifest.json` (read by `rag.ingest.load_manifest` like any other) gives it an id and a title that
say who uploaded it and when. The bundled corpus and its manifest are never written.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from rag.clock import readable_time
from rag.errors import CorpusError
from rag.ingest import MANIFEST_NAME, slugify

UPLOAD_ISSUER = "用户上传"


@dataclass(frozen=True)
class Upload:
    file_name: str  # name in the upload folder, e.g. "20261126T024001-3fa2c1-计量通知.txt"
    doc_id: str  # "upload-" + the file's stem: never the id of a bundled document
    title: str  # the document's own title, then （用户上传：who，when）
    issuer: str
    uploaded_by: str
    uploaded_at: str
    original_name: str


def upload_title(title: str, uploaded_by: str, uploaded_at: str) -> str:
    """The title an upload is cited under: its own, marked as an upload by whom and when."""
    return f"{title}（{UPLOAD_ISSUER}：{uploaded_by}，{uploaded_at}）"


def add_upload(source: Path, directory: Path, *, title: str, uploaded_by: str, original_name: str = "") -> Upload:
    """Copy `source` into `directory` under a new unique name and record it; nothing existing is overwritten."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    original_name = original_name or source.name
    stem = f"{now.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}-{slugify(Path(original_name).stem)[:40]}"
    target = directory / f"{stem}{source.suffix.lower()}"
    uploaded_at = readable_time(now)  # Beijing time, as the chat shows times; the file name keeps UTC
    upload = Upload(target.name, f"upload-{stem}", upload_title(title, uploaded_by, uploaded_at), UPLOAD_ISSUER,
                    uploaded_by, uploaded_at, original_name)
    with target.open("xb") as handle:  # "x": fail rather than overwrite
        handle.write(source.read_bytes())
    uploads = list_uploads(directory)
    _write_manifest(directory, [*uploads, upload])
    return upload


def remove_upload(directory: Path, doc_id: str) -> Upload:
    """Delete an uploaded document and its manifest entry; bundled documents are not uploads and can't be removed."""
    uploads = list_uploads(directory)
    found = next((u for u in uploads if u.doc_id == doc_id), None)
    if found is None:
        raise CorpusError(f"没有编号为 {doc_id} 的上传文件（只能删除用户上传的文件）")
    _write_manifest(directory, [u for u in uploads if u.doc_id != doc_id])
    (directory / found.file_name).unlink(missing_ok=True)
    return found


def list_uploads(directory: Path) -> list[Upload]:
    """The uploads recorded in `directory`'s manifest, oldest first."""
    path = directory / MANIFEST_NAME
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        return [Upload(file_name=name, **{k: v for k, v in entry.items() if k != "file_name"})
                for name, entry in entries.items()]
    except (OSError, ValueError, TypeError) as error:
        raise CorpusError("上传文件清单已损坏", path) from error


def _write_manifest(directory: Path, uploads: list[Upload]) -> None:
    entries = {u.file_name: {k: v for k, v in asdict(u).items() if k != "file_name"} for u in uploads}
    temporary = directory / f".{MANIFEST_NAME}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(temporary, directory / MANIFEST_NAME)  # atomic: ingest never reads half a list
