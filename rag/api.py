"""The HTTP API beside the chat: ask, search, documents, health, feedback and conversation export.

Answers and hits are the records of rag/shapes.py (what `rag ask --json` and `rag search --json` print), with
each `source` as the file's path under its corpus folder rather than the server's absolute path.
Every error is JSON `{"error": "<中文说明>"}` with a 4xx status for bad input, never a traceback.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException

from rag.answer import make_generator
from rag.api_models import (
    AskRequest,
    DocumentRecord,
    ErrorRecord,
    ExportRequest,
    FeedbackRequest,
    HealthRecord,
    SearchRequest,
    error_message,
)
from rag.conversation import FORMATS, Turn
from rag.errors import (
    FeedbackError,
    IndexDamaged,
    IndexMismatch,
    IndexNotFound,
    QueryError,
    RagError,
    user_message,
)
from rag.feedback import Feedback, FeedbackStore, Served, sources_in_store
from rag.login import LoginGuard
from rag.pipeline import Pipeline
from rag.question import check_question
from rag.retrieve import SearchFilters
from rag.schema import Clause
from rag.shapes import AnswerRecord, answer_record, hit_record, relative_sources, source_line

log = logging.getLogger("rag.api")

MAX_BODY_BYTES = 1_000_000
NEEDS_LOGIN = ("需要登录：请在请求头加上 Authorization: Bearer <RAG_API_TOKEN>，"
               "或用聊天页面的用户名和密码（HTTP Basic）")
STATUS_MESSAGES = {400: "请求体无法解析：请发送 UTF-8 编码的 JSON", 404: "没有这个接口", 405: "这个接口不接受 {method} 请求（可用：{allowed}）",
                   413: f"请求体太大（上限 {MAX_BODY_BYTES // 1000} KB）"}
# Declares the scheme for /docs (its "Authorize" button); `authorized` reads the header itself, Basic included.
BEARER = HTTPBearer(auto_error=False, description="RAG_API_TOKEN; or HTTP Basic with the chat's login")
_ERRORS: dict[int | str, Any] = {status: {"model": ErrorRecord} for status in (400, 401, 413, 422, 503)}


def build_api(pipeline: Pipeline, *, feedback: FeedbackStore, token: str = "",
              login: LoginGuard | None = None) -> FastAPI:
    """The API app; app.py mounts the chat on it at "/", so both share one process and one port."""
    server = FastAPI(title="政策文件问答 API", version="1.0",
                     description="Answers with clause citations from the indexed policy documents and laws.")
    _add_error_handlers(server)
    settings = pipeline.settings
    source = relative_sources((*settings.corpus_paths, settings.upload_path))

    async def authorized(request: Request, _: Annotated[Any, Depends(BEARER)]) -> None:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token and hmac.compare_digest(credentials.strip().encode(), token.encode()):
            return
        if scheme.lower() == "basic" and login is not None:
            username, password = _basic_credentials(credentials)
            if await login.check(username, password):
                return
        raise HTTPException(401, NEEDS_LOGIN, headers={"WWW-Authenticate": 'Bearer, Basic realm="rag"'})

    # Without a login or a token the API is open, and its schema declares no security scheme.
    guarded = {"dependencies": [Depends(authorized)] if token or login else [], "responses": _ERRORS}

    @server.post("/api/ask", response_model=AnswerRecord, summary="回答问题并给出处", **guarded)
    def ask(body: AskRequest) -> Response:
        """The answer with numbered citations (same JSON as `rag ask --json`); `history` makes follow-ups work."""
        answer = pipeline.ask(body.question, history=body.history, k=body.k, mode=body.mode, filters=_filters(body))
        headers = {}
        try:
            served = Served.of(answer, index_version=_version(pipeline))
            headers["X-Answer-Id"] = str(feedback.record_served(served, channel="api"))
        except FeedbackError as error:  # the log is a by-product: the answer is still served
            log.warning("%s", error)
        return JSONResponse(answer_record(answer, source=source), headers=headers)

    @server.post("/api/search", summary="检索条款", **guarded)
    def search(body: SearchRequest) -> Response:
        """Matching clauses, best first (same JSON as `rag search --json`)."""
        hits = pipeline.search(body.query, k=body.k, mode=body.mode, filters=_filters(body))
        return JSONResponse({"query": body.query, "hits": [hit_record(hit, source=source) for hit in hits]})

    @server.get("/api/documents", response_model=dict[str, list[DocumentRecord]], summary="已收录的文件", **guarded)
    def documents() -> Response:
        return JSONResponse({"documents": [
            {"doc_id": d.doc_id, "title": d.title, "issuer": d.issuer, "date": d.date, "doc_number": d.doc_number,
             "clauses": d.clauses, "source": source(d.source)}
            for d in pipeline.index.manifest.documents]})

    @server.get("/api/health", response_model=HealthRecord, summary="服务状态（无需登录）", responses=_ERRORS)
    def health() -> Response:
        """Open without login, for monitoring: the live index version, its size and the model."""
        manifest = pipeline.index.manifest
        return JSONResponse({"status": "ok", "index_version": manifest.version,
                             "built_at": manifest.built_at, "documents": len(manifest.documents),
                             "clauses": manifest.clauses, "model": manifest.embedder.name,
                             "answers": make_generator(pipeline.settings).name})

    @server.post("/api/feedback", status_code=201, summary="对回答打分（👍/👎）并给出正确出处",
                 dependencies=guarded["dependencies"], responses={**_ERRORS, 404: {"model": ErrorRecord}})
    def rate(body: FeedbackRequest) -> Response:
        served = feedback.served(body.answer_id) if body.answer_id is not None else None
        if served is None:
            if body.answer_id is not None:
                raise HTTPException(404, f"找不到编号为 {body.answer_id} 的回答（answer_id 来自 /api/ask 的 X-Answer-Id）")
            if not body.question.strip():
                raise QueryError("缺少字段 question（或 answer_id）：请说明评价的是哪个问题的回答")
            check_question(body.question)
            served = Served(body.question, body.answer, body.outcome, body.mode, tuple(body.citations),
                            _version(pipeline))
        correct_ids = sources_in_store(body.correct_source, pipeline.index, cited_ids=served.citation_ids)
        feedback_id = feedback.add(Feedback(served, body.rating, body.correct_source.strip(), correct_ids,
                                            body.comment.strip(), body.answer_id))
        return JSONResponse({"id": feedback_id, "correct_ids": list(correct_ids)}, status_code=201)

    @server.post("/api/export", summary="导出对话（Markdown 或 CSV，含出处）", response_class=Response,
                 dependencies=guarded["dependencies"], responses={**_ERRORS, 200: {"content": {
                     "text/markdown": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}}}}})
    def export(body: ExportRequest) -> Response:
        clauses = _clauses_by_id(pipeline, {i for turn in body.turns for i in turn.citations})
        turns = [Turn(t.question, t.answer, t.outcome, tuple(f"[{n}] {source_line(clauses[i]) if i in clauses else i}"
                                                             for n, i in enumerate(t.citations, 1)))
            for t in body.turns] or [Turn(question, answer) for question, answer in body.history]
        render, media_type = FORMATS[body.format]
        name = f"conversation-{datetime.now():%Y%m%d-%H%M}.{body.format}"
        return Response(render(turns), media_type=media_type,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @server.api_route("/api/{path:path}", include_in_schema=False,
                      methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    def unknown(request: Request, path: str) -> Response:
        """Anything else under /api/ is answered here, in JSON, rather than by the chat mounted at "/"."""
        allowed = sorted(m for route in server.routes if getattr(route, "path", "") == request.url.path
                         for m in getattr(route, "methods", ()) or ())
        if allowed:
            raise HTTPException(405, headers={"Allow": ", ".join(allowed)})
        raise HTTPException(404)

    return server


def _add_error_handlers(server: FastAPI) -> None:
    @server.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Response:
        length = request.headers.get("content-length", "")
        if request.url.path.startswith("/api/") and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return _error(413, STATUS_MESSAGES[413])
        return await call_next(request)

    @server.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> Response:
        errors = list(error.errors())
        # Not JSON, or not a JSON object: the request is malformed (400); a field is wrong: 422.
        malformed = [e for e in errors if e.get("type") == "json_invalid" or (
            tuple(e.get("loc", ())) == ("body",) and e.get("type") != "value_error")]
        status = 400 if malformed else 422
        return _error(status, "；".join(dict.fromkeys(error_message(e) for e in errors)))

    @server.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if re.search(r"[\u4e00-\u9fff]", str(error.detail)):  # raised here with its own Chinese message
            return _error(error.status_code, str(error.detail), headers=error.headers)
        allowed = (error.headers or {}).get("Allow", "")
        message = STATUS_MESSAGES.get(error.status_code, "请求无效").format(method=request.method, allowed=allowed)
        if error.status_code == 404:
            message = f"{message}：{request.url.path}（可用的接口见 /docs）"
        return _error(error.status_code, message, headers=error.headers)

    @server.exception_handler(RagError)
    async def domain_error(_: Request, error: RagError) -> Response:
        if isinstance(error, QueryError):
            return _error(422, str(error))
        status = 503 if isinstance(error, IndexNotFound | IndexDamaged | IndexMismatch) else 500
        return _error(status, user_message(error))

    @server.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> Response:
        return _error(500, user_message(error))


def _error(status: int, message: str, *, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _basic_credentials(encoded: str) -> tuple[str, str]:
    try:
        username, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return username, password


def _filters(body: AskRequest | SearchRequest) -> SearchFilters:
    return SearchFilters(doc_ids=tuple(body.documents), department=body.department.strip(),
                         chapter=body.chapter.strip())


def _version(pipeline: Pipeline) -> str:
    return pipeline.index.manifest.version


def _clauses_by_id(pipeline: Pipeline, ids: set[str]) -> dict[str, Clause]:
    if not ids:
        return {}
    documents = tuple(sorted({clause_id.split("#", 1)[0] for clause_id in ids}))
    return {clause.clause_id: clause for clause in pipeline.index.clauses_matching(SearchFilters(doc_ids=documents))
            if clause.clause_id in ids}
