"""Domain errors; only cli.py and app.py turn them into user-facing text."""

from __future__ import annotations

import os


class RagError(Exception):
    """Base class for every error a user should see as a one-line message."""


class CorpusError(RagError):
    """A file could not be read or used: `reason` says why, in Chinese; `path` names the file, when there is one.

    Kept apart so that the chat can say “未添加 a.txt：文件是空的” without naming the file twice, and the
    command line “a.txt：文件是空的”.
    """

    def __init__(self, reason: str, path: str | os.PathLike[str] | None = None) -> None:
        path = None if path is None else str(path)
        super().__init__(reason, path)  # both in args, so the error survives pickling out of a child process
        self.reason = reason
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}：{self.reason}" if self.path else self.reason


class IndexNotFound(RagError):
    """No index at the given directory."""


class IndexMismatch(RagError):
    """The index was built with a different embedder or an incompatible format."""


class IndexDamaged(RagError):
    """A file of the live index version is missing, truncated or corrupt; `rag ingest` rebuilds it."""


class IndexLocked(RagError):
    """Another process is writing the index."""


class QueryError(RagError, ValueError):
    """The query is empty, too long or otherwise unusable."""


class ModelError(RagError):
    """The embedding model could not be built or loaded."""
