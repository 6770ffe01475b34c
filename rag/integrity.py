"""Check an index version's files against the sizes and SHA-256 sums its manifest recorded."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from rag.checkpoints import PARTIAL
from rag.errors import IndexDamaged


def read_manifest(root: Path, version: Path) -> dict[str, Any]:
    """The manifest of a version, or IndexDamaged when it cannot be read."""
    try:
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise damaged(root, f"manifest.json: {error}") from error
    if not isinstance(manifest, dict):
        raise damaged(root, "manifest.json is not a JSON object")
    return manifest


def verify_files(root: Path, version: Path, manifest: dict[str, Any], *, checksums: bool) -> None:
    """Sizes are a stat per file, cheap on every open; checksums read every byte (~0.3 s per 300 MB)."""
    for name, expected in manifest.get("files", {}).items():
        path = version / name
        try:
            size = path.stat().st_size
        except OSError:
            raise damaged(root, f"{name} is missing") from None
        if size != expected["size"]:
            raise damaged(root, f"{name} has {size} bytes, {expected['size']} were written")
        if checksums and sha256(path) != expected["sha256"]:
            raise damaged(root, f"{name} does not match its checksum")


def file_records(version: Path) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of every file of a finished version, by path relative to it."""
    return {path.relative_to(version).as_posix(): {"size": path.stat().st_size, "sha256": sha256(path)}
            for path in sorted(version.rglob("*"))
            if path.is_file() and path.name != "manifest.json" and path.relative_to(version).parts[0] != PARTIAL}


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def damaged(root: Path, detail: str) -> IndexDamaged:
    """The one message for a damaged index, with the way to repair it."""
    return IndexDamaged(f"index at {root} is damaged ({detail}): run `rag ingest` to rebuild it from the source files")
