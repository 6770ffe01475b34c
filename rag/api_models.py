"""Request bodies of the HTTP API, and their validation errors in Chinese.

Responses are the records of rag/shapes.py, so `POST /api/ask` answers exactly what `rag ask --json` prints.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from rag.config import Settings
from rag.question import HAS_CONTENT
from rag.ui import history_pairs

Mode = Literal["hybrid", "dense", "lexical"]
HISTORY_SHAPE = ('history 应为 [["问题", "回答"], …] 或 [{"role": "user", "content": "…"}, '
                 '{"role": "assistant", "content": "…"}, …]')
# JSON's largest safe integer: above it, JavaScript clients (and schema validators comparing as floats) misread ids
MAX_ID = 2**53 - 1
MAX_TEXT_CHARS = 20_000  # an answer or a comment; questions have their own limit (max_query_chars)
# What the schema says of a question; the pipeline checks it with the configured limit.
QUESTION_SCHEMA = {"type": "string", "pattern": HAS_CONTENT.pattern, "maxLength": Settings.max_query_chars,
                   "description": "at least one letter, digit or CJK character"}
_PAIRS = {"type": "array", "items": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}],
                                     "minItems": 2, "maxItems": 2}}
_MESSAGES_SCHEMA = {"type": "array", "items": {"type": "object", "required": ["role", "content"], "properties": {
    "role": {"enum": ["user", "assistant"]}, "content": {"type": "string"}}}}


def _as_pairs(value: Any) -> list[tuple[str, str]]:
    """Earlier turns as (question, answer) pairs, from pairs or from chat messages (the Gradio format)."""
    if not isinstance(value, list):
        raise ValueError(HISTORY_SHAPE)
    if all(isinstance(turn, list | tuple) and len(turn) == 2 and all(isinstance(t, str) for t in turn)
           for turn in value):
        return [(question, answer) for question, answer in value]
    if all(isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
           for m in value):
        return history_pairs(value)
    raise ValueError(HISTORY_SHAPE)


def _json_integer(value: Any) -> Any:
    """A JSON number: pydantic alone would also read true as 1 and "5" as 5, which the schema does not allow."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "not a JSON integer")
    return value


History = Annotated[list[tuple[str, str]], BeforeValidator(_as_pairs),
                    WithJsonSchema({"anyOf": [_PAIRS, _MESSAGES_SCHEMA]}),
                    Field(description="earlier turns, oldest first: [[question, answer], …] or chat messages "
                                      '[{"role": "user"|"assistant", "content": "…"}, …]')]
Question = Annotated[str, WithJsonSchema(QUESTION_SCHEMA)]


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: Annotated[int, Field(ge=1, le=200), BeforeValidator(_json_integer)] | None = Field(
        None, description="clauses to retrieve (default 10)")
    mode: Mode | None = Field(None, description="search mode (default hybrid)")
    documents: list[str] = Field([], description="only these documents (doc ids, see GET /api/documents)")
    department: str = Field("", max_length=100, description="only clauses this department is responsible for")
    chapter: str = Field("", max_length=100, description="only clauses whose chapter heading contains this")


class AskRequest(Filters):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "哪些部门负责质量基础设施一站式服务？"},
        {"question": "那牵头的是哪个部门？", "history": [["质量共治由谁负责？", "……"]]}]})

    question: Question
    history: History = []


class SearchRequest(Filters):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"query": "计量服务 中小企业", "k": 5}]})

    query: Question


def _as_ids(value: Any) -> list[str]:
    """Clause ids, or the citation records of an `/api/ask` response (their "id")."""
    if isinstance(value, list) and all(isinstance(c, str) or (isinstance(c, dict) and isinstance(c.get("id"), str))
                                       for c in value):
        return [c if isinstance(c, str) else c["id"] for c in value]
    raise ValueError("citations 应为条款编号的列表，或 /api/ask 返回的 citations")


CitationIds = Annotated[list[str], BeforeValidator(_as_ids), WithJsonSchema({"type": "array", "items": {"anyOf": [
    {"type": "string"}, {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}]}}),
                        Field(description="clause ids, or the citations of the /api/ask response")]


class FeedbackRequest(BaseModel):
    """A rating of one answer. Send the `/api/ask` response back with `rating` added (other fields are ignored),
    or `answer_id` from its `X-Answer-Id` header."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"anyOf": [
        {"required": ["answer_id"], "properties": {"answer_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}},
        {"required": ["question"], "properties": {"question": QUESTION_SCHEMA}}],
        "examples": [
        {"question": "哪些部门负责质量基础设施一站式服务？", "answer": "……", "citations": [
            "2022-18-departments-quality-improvement#六（十六）"], "outcome": "answered", "rating": -1,
         "correct_source": "《关于全面提升产品质量的实施意见》一（二）"}]})

    rating: Annotated[Literal[1, -1], BeforeValidator(_json_integer)] = Field(description="1 = 👍, -1 = 👎")
    answer_id: Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_json_integer)] | None = Field(None, description="the X-Answer-Id header of the rated /api/ask response")
    question: str = Field("", max_length=MAX_TEXT_CHARS)
    answer: str = Field("", max_length=MAX_TEXT_CHARS)
    citations: CitationIds = []
    outcome: Literal["answered", "partly", "not_found", ""] = ""
    mode: Literal["extractive", "llm", ""] = ""
    correct_source: str = Field("", max_length=1_000, description="正确的出处是…: clause ids or citations")
    comment: str = Field("", max_length=2_000)



class ExportTurn(BaseModel):
    """One answered question: an `/api/ask` response (its citations are listed as sources)."""

    model_config = ConfigDict(extra="ignore")

    question: str = Field(max_length=MAX_TEXT_CHARS)
    answer: str = Field(max_length=MAX_TEXT_CHARS)
    outcome: Literal["answered", "partly", "not_found", ""] = ""
    citations: CitationIds = []


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": [
        {"required": ["turns"], "properties": {"turns": {"minItems": 1}}},
        {"required": ["history"], "properties": {"history": {"minItems": 1}}}]})

    format: Literal["md", "csv"] = "md"
    turns: list[ExportTurn] = Field([], description="the /api/ask responses of the conversation, in order")
    history: History = Field([], description="or the conversation as text only (no sources)")

    @model_validator(mode="before")
    @classmethod
    def _not_empty(cls, data: Any) -> Any:
        if isinstance(data, dict) and not any(isinstance(data.get(f), list) and data[f] for f in ("turns", "history")):
            raise ValueError("对话是空的：请给出 turns（/api/ask 的回答）或 history")
        return data


class HealthRecord(TypedDict):
    status: str
    index_version: str
    built_at: str
    documents: int
    clauses: int
    model: str
    answers: str  # "extractive" | "llm"


class DocumentRecord(TypedDict):
    doc_id: str
    title: str
    issuer: str
    date: str
    doc_number: str
    clauses: int
    source: str


class ErrorRecord(TypedDict):
    error: str


# Pydantic's error types, in the user's language. {field} is the field's path, e.g. "history.0".
_MESSAGES = {
    "missing": "缺少字段 {field}",
    "string_type": "{field} 应为文本",
    "int_type": "{field} 应为整数", "int_parsing": "{field} 应为整数", "int_from_float": "{field} 应为整数",
    "greater_than_equal": "{field} 不能小于 {ge}", "less_than_equal": "{field} 不能大于 {le}",
    "string_too_long": "{field} 太长（上限 {max_length} 字）",
    "literal_error": "{field} 只能是 {expected}",
    "list_type": "{field} 应为列表",
    "extra_forbidden": "不认识的字段 {field}",
    "model_attributes_type": "{field} 应为 JSON 对象", "dict_type": "{field} 应为 JSON 对象",
    "json_invalid": "请求体不是有效的 JSON",
}


def error_message(error: dict[str, Any]) -> str:
    """One pydantic error in Chinese; our own validators' messages as they are."""
    context = error.get("ctx") or {}
    if error.get("type") == "value_error":
        return str(context.get("error", error.get("msg", "")))
    field = ".".join(str(part) for part in error.get("loc", ())[1:]) or "请求体"
    template = _MESSAGES.get(str(error.get("type")), "{field} 的值无效")
    # "'hybrid', 'dense' or 'lexical'" → "hybrid、dense、lexical"
    values = {k: str(v).replace(" or ", ", ").replace("'", "").replace(", ", "、") for k, v in context.items()}
    try:
        message = template.format(field=field, **values)
    except (KeyError, IndexError):
        message = f"{field} 的值无效"
    return message.replace("请求体 ", "请求体")  # a space sets off a field name, not the Chinese word
