"""Domain errors; only cli.py and app.py turn them into user-facing text."""


class RagError(Exception):
    """Base class for every error a user should see as a one-line message."""


class CorpusError(RagError):
    """A file could not be read or decoded as text."""


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


class SettingsError(RagError, ValueError):
    """A setting has a value no component accepts."""
