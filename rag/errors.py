"""Domain errors, and the one text a user of the chat or the API sees for each."""

from __future__ import annotations

import logging
import os

log = logging.getLogger("rag.app")

GENERIC_ERROR = "抱歉，处理这个请求时出了意外错误（已记录在服务器日志中）。请稍后重试，或换个问法。"


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


class FeedbackError(RagError):
    """The feedback file cannot be opened or written."""


class ModelError(RagError):
    """The embedding model could not be built or loaded."""


class SettingsError(RagError, ValueError):
    """A setting has a value no component accepts."""


def user_message(error: Exception) -> str:
    """Domain errors are shown as they are; anything else is logged with its traceback and hidden."""
    if isinstance(error, IndexDamaged):
        log.error("%s", error)
        return "索引文件已损坏，暂时无法检索。请维护人员运行 `rag ingest` 重建索引（重启本应用也会自动重建）。"
    if isinstance(error, RagError):
        return str(error)
    log.error("request failed", exc_info=error)
    return GENERIC_ERROR
