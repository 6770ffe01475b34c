"""The Milvus side of the Milvus store: the connection, three collections and their rows, filter expressions.

`<name>` holds one row per clause: its fields as scalars (filters run on them), the clause vector, and
the text and headings with Milvus's jieba analyzer and BM25 function (its own full-text search).
`<name>_sentences` holds one row per sentence vector (rag/sentences.py): its clause's id and the clause's
filter fields, so one filter expression serves both searches, and a document's sentences go with it.
`<name>_meta` holds one row per document (its entry, ordinal, title words, sentence count and the sum of
its clause vectors, in the vector field Milvus requires of every collection) and one `store` row: embedder, settings and the
generation that every ingest bumps, so replicas notice a change on their next query.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

# gRPC's C core logs connection chatter (keepalive GOAWAYs from Milvus Lite) to stderr; failures reach us as
# exceptions. Set before pymilvus loads grpc.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

from pymilvus import DataType, Function, FunctionType, MilvusClient, MilvusException
from pymilvus.exceptions import ConnectionConfigException

from rag.clause_store import DocumentEntry, SearchFilters
from rag.departments import department_aliases, known_department_names
from rag.errors import IndexNotFound, RagError
from rag.passages import EmbeddingUnit, heading_text, sentence_key
from rag.schema import Clause, Matrix
from rag.vocabulary import STOPWORDS

# pymilvus logs every failed call with its traceback, and warns about Milvus Lite's timestamps on each scan:
# errors reach the user through our own messages instead.
logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
# Milvus Lite's in-process server lacks AllocTimestamp, which every scan asks for first (and then does without).
logging.getLogger("grpc._server").setLevel(logging.CRITICAL)

STORE_ROW = "store"  # the meta row with the embedder, settings and generation
DOCUMENT_PREFIX = "doc:"
LONG_TEXT = 65_535  # Milvus's VARCHAR limit, in bytes
# Punctuation is no term: our own tokenizer drops it, Milvus's analyzer is told to.
PUNCTUATION = list("，。、；：？！“”‘’（）《》【】〔〕「」—…·,.;:?!\"'()[]<>-/%")
ANALYZER = {
    "tokenizer": {"type": "jieba", "dict": ["_default_", *known_department_names()], "mode": "search", "hmm": True},
    "filter": ["lowercase", {"type": "stop", "stop_words": sorted({*STOPWORDS, *PUNCTUATION})}],
}
# pymilvus pings every 10 s even when idle; Milvus Lite's server answers the third idle ping with GOAWAY
# ("too many pings") and the channel is gone. Ping only during calls, and rarely.
KEEPALIVE = {"grpc.keepalive_time_ms": 60_000, "grpc.keepalive_permit_without_calls": False}
HNSW = {"M": 32, "efConstruction": 80}  # as the FAISS store's HNSW
HNSW_EF = 128
CLAUSE_FIELDS = [f.name for f in fields(Clause)]
# What `filter_expression` reads (`filter_values`); sentence rows carry them too.
FILTER_FIELDS = ("doc_id", "chapter", "section", "departments", "department_text")
MAX_RESULTS = 16_384  # Milvus's largest limit for one search or query


def missing(collections: Collections) -> IndexNotFound:
    return IndexNotFound(f"Milvus 中没有集合 {collections.location}：请先运行 `rag ingest`（RAG_STORE=milvus）")


class MilvusUnavailable(RagError):
    """The Milvus server or the Milvus Lite file cannot be opened."""


@dataclass(frozen=True)
class Collections:
    """A connected client and the names of the store's three collections."""

    client: MilvusClient
    uri: str
    clauses: str

    @property
    def meta(self) -> str:
        return f"{self.clauses}_meta"

    @property
    def sentences(self) -> str:
        return f"{self.clauses}_sentences"

    @property
    def location(self) -> str:
        return f"{self.uri}#{self.clauses}"

    def exists(self) -> bool:
        return bool(self.client.has_collection(self.clauses) and self.client.has_collection(self.meta))

    def load(self) -> None:
        """Searches need the collections in memory (a restarted Milvus Lite or server holds them released).

        A store of an older format may lack a collection; opening it then says which format it has."""
        for name in (self.clauses, self.meta, self.sentences):
            if self.client.has_collection(name) and str(self.client.get_load_state(name).get("state")) != "Loaded":
                self.client.load_collection(name)


def connect(uri: str, collection: str, *, token: str = "", create: bool = False) -> Collections:
    """Connect to a Milvus server (http://…) or open Milvus Lite on a local `….db` path in this process.

    A Milvus Lite path that does not exist is created only for an ingest (`create`).
    """
    lite = not uri.startswith(("http://", "https://", "tcp://", "unix:"))
    if lite and not uri.endswith(".db"):
        raise MilvusUnavailable(f"RAG_MILVUS_URI={uri}：本地 Milvus Lite 的路径须以 .db 结尾，服务器地址须以 http:// 开头")
    if lite and not create and not Path(uri).exists():
        raise IndexNotFound(f"没有 Milvus Lite 数据 {uri}：请先运行 `rag ingest`（RAG_STORE=milvus）")
    if lite:
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        client = MilvusClient(uri=uri, token=token, grpc_options=KEEPALIVE)
    except (ConnectionConfigException, MilvusException) as error:
        hint = ("Milvus Lite 只允许一个进程打开同一个数据文件：它可能正被另一个进程（应用或 rag ingest）使用。"
                "多个进程共用一个库时，请运行 Milvus 服务（或 `python -m milvus_lite server --data-dir …`），"
                "并把 RAG_MILVUS_URI 设为 http://…" if lite else "请检查地址、端口和 RAG_MILVUS_TOKEN，以及服务是否已启动。")
        raise MilvusUnavailable(f"无法连接 Milvus（{uri}）：{hint}（{error}）") from error
    return Collections(client, uri, collection)


def create(collections: Collections, dimension: int) -> None:
    """Create the collections: scalar fields, the clause and sentence vectors (HNSW, inner product), BM25 fields."""
    client = collections.client
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("clause_id", DataType.VARCHAR, is_primary=True, max_length=4096)
    for name in CLAUSE_FIELDS:
        if name in ("clause_id", "departments"):
            continue
        if name in ("start", "end", "part"):
            schema.add_field(name, DataType.INT64)
        else:
            schema.add_field(name, DataType.VARCHAR, max_length=LONG_TEXT,
                             **({"enable_analyzer": True, "analyzer_params": ANALYZER} if name == "text" else {}))
    schema.add_field("departments", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=256, max_length=1024)
    schema.add_field("department_text", DataType.VARCHAR, max_length=LONG_TEXT)  # for substring matches
    schema.add_field("heading", DataType.VARCHAR, max_length=LONG_TEXT, enable_analyzer=True, analyzer_params=ANALYZER)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("sentences", DataType.INT64)  # its sentence vectors, keyed `clause id~0` … `~n−1`
    for source in ("text", "heading"):
        schema.add_field(f"{source}_sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(Function(name=f"{source}_bm25", function_type=FunctionType.BM25,
                                     input_field_names=[source], output_field_names=[f"{source}_sparse"]))
    index = client.prepare_index_params()
    index.add_index("vector", index_type="HNSW", metric_type="IP", params=HNSW)
    for source in ("text", "heading"):
        index.add_index(f"{source}_sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                        params={"bm25_k1": 1.5, "bm25_b": 0.75})  # bm25s's defaults, which the local BM25 uses
    # Strong consistency: a replica's next search sees what an ingest has just written.
    client.create_collection(collections.clauses, schema=schema, index_params=index, consistency_level="Strong")

    sentences = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    sentences.add_field("key", DataType.VARCHAR, is_primary=True, max_length=4096)  # EmbeddingUnit.key
    sentences.add_field("clause_id", DataType.VARCHAR, max_length=4096)
    for name in FILTER_FIELDS:
        if name == "departments":
            sentences.add_field(name, DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=256, max_length=1024)
        else:
            sentences.add_field(name, DataType.VARCHAR, max_length=LONG_TEXT)
    sentences.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    sentence_index = client.prepare_index_params()
    sentence_index.add_index("vector", index_type="HNSW", metric_type="IP", params=HNSW)
    client.create_collection(collections.sentences, schema=sentences, index_params=sentence_index,
                             consistency_level="Strong")

    meta = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    meta.add_field("key", DataType.VARCHAR, is_primary=True, max_length=4096)
    meta.add_field("value", DataType.VARCHAR, max_length=LONG_TEXT)  # JSON
    meta.add_field("vector_sum", DataType.FLOAT_VECTOR, dim=dimension)
    meta_index = client.prepare_index_params()
    meta_index.add_index("vector_sum", index_type="FLAT", metric_type="IP")
    client.create_collection(collections.meta, schema=meta, index_params=meta_index, consistency_level="Strong")


def upsert_rows(client: MilvusClient, collection: str, rows: Sequence[dict[str, Any]], batch: int = 256) -> None:
    """Upsert in batches that keep each gRPC message well under its size limit."""
    for start in range(0, len(rows), batch):
        client.upsert(collection, list(rows[start:start + batch]))


def clause_row(clause: Clause, vector: Matrix, sentences: int) -> dict[str, Any]:
    # `text` is the clause text, which is also what is embedded and BM25-indexed (`passage_text`).
    return {**asdict(clause), **filter_values(clause), "heading": heading_text(clause),
            "vector": np.asarray(vector, dtype=np.float32).tolist(), "sentences": sentences}


def sentence_row(unit: EmbeddingUnit, clause: Clause, vector: Matrix) -> dict[str, Any]:
    """A sentence vector with its clause's id and filter fields."""
    return {"key": unit.key, "clause_id": clause.clause_id, **filter_values(clause),
            "vector": np.asarray(vector, dtype=np.float32).tolist()}


def filter_values(clause: Clause) -> dict[str, Any]:
    """The fields `filter_expression` reads, as Milvus stores them (departments also as one text)."""
    return {"doc_id": clause.doc_id, "chapter": clause.chapter, "section": clause.section,
            "departments": list(clause.departments), "department_text": "\n".join(clause.departments)}


def clause_from_row(row: dict[str, Any]) -> Clause:
    values = {name: row[name] for name in CLAUSE_FIELDS}
    values["departments"] = tuple(values["departments"])
    return Clause(**values)


def quote(value: str) -> str:
    """A string literal for a filter expression: double quotes, backslash escapes."""
    return json.dumps(value, ensure_ascii=False)


def filter_expression(filters: SearchFilters) -> str:
    """The filters as a Milvus boolean expression over the scalar fields ("" when there are none).

    The department matches as `department_matches` does: any alias of the same department, or a listed
    name containing the words.
    """
    parts = []
    if filters.doc_ids:
        parts.append(f"doc_id in [{', '.join(quote(d) for d in filters.doc_ids)}]")
    if filters.department:
        names = ", ".join(quote(name) for name in sorted(department_aliases(filters.department)))
        department = f"array_contains_any(departments, [{names}])"
        if len(filters.department) >= 2:
            department += f" or department_text like {quote('%' + filters.department + '%')}"
        parts.append(f"({department})")
    if filters.chapter:
        pattern = quote("%" + filters.chapter + "%")
        parts.append(f"(chapter like {pattern} or section like {pattern})")
    return " and ".join(parts)


def sentence_keys(clause_id: str, count: int) -> list[str]:
    """The primary keys of a clause's sentence rows."""
    return [sentence_key(clause_id, number) for number in range(count)]


def ids_expression(clause_ids: Sequence[str]) -> str:
    return f"clause_id in [{', '.join(quote(i) for i in clause_ids)}]"


@dataclass(frozen=True)
class StoredDocument:
    """A document's meta row: its entry, its place in the corpus, its title words, the names it quotes, its
    sentence vectors, vector sum, and the digest of what it was chunked into."""

    entry: DocumentEntry
    ordinal: int
    words: tuple[str, ...]
    names: tuple[str, ...]  # quoted in its clauses (rag.passages.quoted_names)
    sentences: int
    vector_sum: Matrix
    digest: str


def read_meta(collections: Collections) -> tuple[dict[str, Any], dict[str, StoredDocument]]:
    """The store row (empty when nothing was ingested) and the documents by id."""
    if not collections.exists():
        raise missing(collections)
    store: dict[str, Any] = {}
    documents: dict[str, StoredDocument] = {}
    for row in scan(collections, collections.meta, 'key != ""', ["key", "value", "vector_sum"]):
        value = json.loads(row["value"])
        if row["key"] == STORE_ROW:
            store = value
        else:
            entry = DocumentEntry(**value["entry"])
            documents[entry.doc_id] = StoredDocument(entry, value["ordinal"], tuple(value["words"]),
                                                     tuple(value.get("names", ())),  # none stored before names
                                                     value["sentences"], np.asarray(row["vector_sum"], dtype=np.float32),
                                                     value["digest"])
    return store, documents


def scan(collections: Collections, collection: str, expression: str, output_fields: list[str],
         batch_size: int = 4_096) -> Iterator[dict[str, Any]]:
    """Every row matching `expression`, in batches (a plain query returns at most 16,384 rows)."""
    iterator = collections.client.query_iterator(collection, batch_size=batch_size, filter=expression,
                                                 output_fields=output_fields)
    try:
        while batch := iterator.next():
            yield from batch
    finally:
        iterator.close()


def generation(collections: Collections) -> str:
    """The store row's generation token: one primary-key read, cheap enough for every query."""
    rows = collections.client.get(collections.meta, ids=[STORE_ROW], output_fields=["value"])
    return str(json.loads(rows[0]["value"])["generation"]) if rows else ""


def document_row(document: StoredDocument) -> dict[str, Any]:
    value = {"entry": asdict(document.entry), "ordinal": document.ordinal, "words": list(document.words),
             "names": list(document.names),
             "sentences": document.sentences, "digest": document.digest}
    return {"key": DOCUMENT_PREFIX + document.entry.doc_id, "value": json.dumps(value, ensure_ascii=False),
            "vector_sum": np.asarray(document.vector_sum, dtype=np.float32).tolist()}


def store_row(store: dict[str, Any], dimension: int) -> dict[str, Any]:
    return {"key": STORE_ROW, "value": json.dumps(store, ensure_ascii=False), "vector_sum": [0.0] * dimension}
