"""Web app: ask questions with cited clauses, search clauses, manage the corpus. `python app.py --help`.

The chat (Gradio) and the HTTP API (rag.api, FastAPI) in one process on one port: the API at /api/…
with its docs at /docs, the chat mounted at /. Every answer comes from rag.pipeline; the formatting lives
in rag.ui and rag.shapes.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# One OpenMP thread per request keeps latency flat when several requests run at once; the model is bundled.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the app runs offline and sends nothing home

import gradio as gr  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from rag import ui, uploads  # noqa: E402
from rag.api import build_api  # noqa: E402
from rag.chat_records import DECLINED_HEADERS, ChatRecords, conversation_files, correction_choices  # noqa: E402
from rag.clause_store import Progress  # noqa: E402
from rag.clock import readable_time  # noqa: E402
from rag.config import Settings, load_settings  # noqa: E402
from rag.errors import CorpusError, IndexDamaged, IndexMismatch, RagError, user_message  # noqa: E402
from rag.feedback import FeedbackStore  # noqa: E402
from rag.ingest import load_document  # noqa: E402
from rag.isolate import run_isolated  # noqa: E402
from rag.loaders import SUPPORTED_SUFFIXES  # noqa: E402
from rag.login import LoginGuard  # noqa: E402
from rag.outline import OUTLINE_CSS, document_outline  # noqa: E402
from rag.page import page_options  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.retrieve import SearchFilters  # noqa: E402

log = logging.getLogger("rag.app")

EXAMPLES = [
    "哪些部门负责质量基础设施一站式服务？",
    "參與制定國家標準，市裡獎勵多少？",  # traditional characters
    "参与制定国家标准，市里奖励多少？",
    "那参与制定行业标准呢？",  # a follow-up to the previous question
    "民营企业可以获得哪些质量技术帮扶？",
    "2025年要建立多少项社会公用计量标准？",
]
MODE_CHOICES = [("混合（推荐）", "hybrid"), ("语义", "dense"), ("关键词", "lexical")]
ANONYMOUS = "匿名用户"  # who uploaded a file when the login is off
DOCUMENT_HEADERS = ["标题", "发布机关", "日期", "条款数", "来源文件"]
# After an answer: its question at the top of the chat, so one reads on from the answer's start to its sources.
SCROLL_TO_LAST_QUESTION = """() => setTimeout(() => {
  const asked = [...document.querySelectorAll('#chat .message-row.user-row')].pop();
  const chat = asked && asked.closest('.bubble-wrap');
  if (chat) chat.scrollTo({top: asked.getBoundingClientRect().top - chat.getBoundingClientRect().top + chat.scrollTop - 8});
}, 100)"""
# The outline mounts with the 文件库 tab, often already holding the opened clause: scroll then, and on each change.
SCROLL_TO_OPENED = """const show = () => setTimeout(() => element.querySelector('.opened')?.scrollIntoView({block: 'center'}), 50);
show(); watch('value', show);"""
# Copies with a textarea fallback: navigator.clipboard exists only on https and localhost.
COPY_JS = """(text) => {
  const done = () => { const b = document.querySelector('#copy-answer button, #copy-answer');
    if (b) { const label = b.textContent; b.textContent = '已复制 ✓'; setTimeout(() => b.textContent = label, 1500); } };
  if (!text) return;
  if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done); return; }
  const area = document.createElement('textarea'); area.value = text; document.body.appendChild(area);
  area.select(); document.execCommand('copy'); area.remove(); done();
}"""


def search_filters(doc_ids: Sequence[str] | None, department: str = "", chapter: str = "") -> SearchFilters:
    return SearchFilters(doc_ids=tuple(doc_ids or ()), department=(department or "").strip(),
                         chapter=(chapter or "").strip())


def build_app(pipeline: Pipeline, feedback: FeedbackStore | None = None) -> gr.Blocks:
    """The whole UI over one long-lived pipeline; serve it with `build_server` (the API beside it)."""
    settings = pipeline.settings
    records = ChatRecords(pipeline, feedback or FeedbackStore(settings.feedback_path))

    def ask(question: str, messages: list[dict[str, Any]], doc_ids: list[str], mode: str, k: float,
            served: list[dict[str, Any]] | None) -> tuple[Any, ...]:
        history = ui.history_pairs(messages or [])
        try:
            answer = pipeline.ask(question or "", history=history, k=int(k), mode=mode,
                                  filters=search_filters(doc_ids))
        except Exception as error:  # one failing request must not take the app down
            return messages, question, gr.skip(), ui.notice_html(user_message(error)), served
        # The sources sit in the answer's own bubble, under its text, so [n] of every turn finds its card.
        turn = len(history) + 1
        sources = ui.answer_cards(answer, turn=turn)
        reply: list[Any] = [ui.answer_markdown(answer, turn=turn)]
        if sources:
            reply.append(gr.HTML(sources, css_template=ui.CARD_CSS, padding=False))
        messages = [*(messages or []), {"role": "user", "content": ui.markdown_text(question.strip())},
                    {"role": "assistant", "content": reply}]
        served = [*(served or []), records.served(answer, message_index=len(messages) - 1, number=turn)]
        return messages, "", ui.answer_plain_text(answer), "", served

    def search(query: str, doc_ids: list[str], mode: str, k: float, department: str, chapter: str) -> str:
        filters = search_filters(doc_ids, department, chapter)
        try:
            hits = pipeline.search(query or "", k=int(k), mode=mode, filters=filters)
            matching = pipeline.keyword_matches(query, filters=filters)
            terms = ui.highlight_terms(pipeline.retriever.analyze(query))
        except Exception as error:
            return ui.notice_html(user_message(error))
        return ui.search_results(hits, terms=terms, matching=matching)

    def open_document(event: gr.SelectData) -> str:
        """The outline of the document in the table row clicked (its title and file name identify it)."""
        title, *_, file_name = event.row_value
        try:
            documents = pipeline.index.manifest.documents
        except Exception as error:
            return ui.notice_html(user_message(error))
        chosen = next((d for d in documents if d.title == title and ui.file_name(d.source) == file_name), None)
        return document_outline_html(pipeline, chosen.doc_id) if chosen else ""

    def open_clause(request: str) -> tuple[Any, ...]:
        """A source card's 在文件中查看: 文件库 with the clause's document, the clause unfolded and marked."""
        clause_id = request.rsplit("|", 1)[0]  # "id|timestamp": a new value on every click
        return gr.Tabs(selected="library"), document_outline_html(pipeline, clause_id.split("#", 1)[0],
                                                                  opened=clause_id)

    removable = settings.allow_document_removal

    def corpus_state() -> tuple[Any, ...]:
        """Summary line, document table, the 限定文件 choices (and the removable uploads), after any change."""
        removal = (gr.update(choices=upload_choices(pipeline), value=None),) if removable else ()
        try:
            index = pipeline.index
        except Exception as error:
            return user_message(error), [], gr.update(choices=[]), *removal
        manifest = index.manifest
        summary = (f"已收录 {len(manifest.documents)} 个文件、{manifest.clauses} 条条款"
                   f"（索引更新于 {readable_time(manifest.built_at)}）。")
        return (summary, ui.document_rows(manifest.documents),
                gr.update(choices=ui.document_choices(manifest.documents)), *removal)

    # Gradio recognises a gr.Progress default and hands each request its own tracker.
    def add_document(file_path: str | None, request: gr.Request,
                     progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        text = ui.ProgressText()
        try:
            message = add_to_corpus(pipeline, file_path, uploaded_by=getattr(request, "username", None) or ANONYMOUS,
                                    progress=lambda stage, done, total: progress(
                                        (done, total) if total else 1.0, desc=text(stage, done, total)))
        except Exception as error:
            message = user_message(error)
        return (ui.markdown_text(message), *corpus_state(), None)

    def remove_document(doc_id: str | None) -> tuple[Any, ...]:
        return (ui.markdown_text(remove_from_corpus(pipeline, doc_id)), *corpus_state())

    demo = gr.Blocks(title="政策文件问答")
    with demo:
        with gr.Sidebar(label="检索设置", open=True):
            gr.Markdown("### 检索设置\n问答和条款检索都按这里的设置进行。")
            documents = gr.Dropdown(choices=_initial_choices(pipeline), multiselect=True, label="限定文件",
                                    info="不选则检索全部文件")
            mode = gr.Radio(MODE_CHOICES, value=settings.mode, label="检索方式")
            k = gr.Slider(1, 20, value=settings.top_k, step=1, label="出处数量（k）")
        gr.Markdown("## 政策文件问答\n只依据已收录的政策文件作答，并注明出自哪一条；找不到依据时会直接说明。")
        # 在文件中查看 in a card (page.PAGE_JS) writes the clause id here: rendered, never shown.
        open_request = gr.Textbox(visible="hidden", elem_id="open-clause", label="打开条款")
        with gr.Tabs() as tabs:
            with gr.Tab("问答", id="chat"):
                # Messages arrive escaped (ui.markdown_text); no LaTeX either, or $$…$$ from a document would render.
                # The examples show in the empty chat only: gone once it starts, back after 新对话.
                chatbot = gr.Chatbot(label="对话", height="62vh", min_height=320, buttons=["copy"],
                                     latex_delimiters=[], autoscroll=False, elem_id="chat",
                                     placeholder="在下方输入问题，或点选一个示例问题。",
                                     examples=[{"text": example} for example in EXAMPLES])
                with gr.Row(equal_height=True):
                    question = gr.Textbox(label="问题", show_label=False, placeholder="输入问题，按回车提交",
                                          scale=8, autofocus=True, elem_id="question")
                    ask_button = gr.Button("提问", variant="primary", scale=1, min_width=72, elem_id="ask")
                notice = gr.HTML(css_template=ui.CARD_CSS, js_on_load=None)
                copy_box = gr.Textbox(label="答案和出处（纯文本）", lines=3, max_lines=14, interactive=False,
                                      buttons=["copy"], elem_id="answer-text")
                served = gr.State([])  # this session's answers: what 👍/👎 and the export refer to
                # Which answer a correction is for: the latest, or the one that just got 👎 (records.rate).
                with gr.Row(equal_height=True):
                    correction_target = gr.Dropdown(choices=[], value=None, label="更正哪个回答", scale=3,
                                                    min_width=200, elem_id="correct-answer")
                    correction = gr.Textbox(label="正确的出处", scale=5, elem_id="correct-source",
                                            placeholder="回答不对？正确的出处是…（如《文件名》六（十六）或条款编号）")
                    correction_button = gr.Button("提交更正", size="sm", scale=1, elem_id="submit-correction")
                feedback_notice = gr.Markdown(elem_id="feedback-notice", latex_delimiters=[])
                with gr.Row():
                    copy_button = gr.Button("复制答案和出处", elem_id="copy-answer", size="sm")
                    export_md = gr.DownloadButton("导出对话（文档）", visible=False, size="sm", elem_id="export-md")
                    export_csv = gr.DownloadButton("导出对话（表格）", visible=False, size="sm", elem_id="export-csv")
                    new_conversation = gr.ClearButton([chatbot, question, notice, copy_box, served, feedback_notice],
                                                      value="新对话", size="sm", elem_id="new-conversation")
            with gr.Tab("条款检索", id="search"):
                with gr.Row(equal_height=True):
                    query = gr.Textbox(label="检索词", placeholder="例如：计量服务 中小企业", scale=4)
                    department = gr.Textbox(label="责任部门", placeholder="例如：工信部（可用简称）", scale=2)
                    chapter = gr.Textbox(label="章节包含", placeholder="例如：保障措施", scale=2)
                search_button = gr.Button("检索", variant="primary")
                results = gr.HTML(css_template=ui.CARD_CSS, js_on_load=None, elem_id="results")
            with gr.Tab("文件库", id="library"):
                summary = gr.Markdown()
                # As tall as its rows: a capped table scrolled inside itself and hid its last row.
                table = gr.Dataframe(headers=DOCUMENT_HEADERS, interactive=False, wrap=True, max_height="none",
                                     column_widths=["36%", "26%", "12%", "8%", "18%"], buttons=[], elem_id="documents")
                outline = gr.HTML("<div class='muted'>点选表格中的一个文件，查看它的章节和条款。</div>",
                                  css_template=ui.CARD_CSS + OUTLINE_CSS, js_on_load=SCROLL_TO_OPENED,
                                  elem_id="outline")
                gr.Markdown(f"### 添加文件\n支持 {' '.join(SUPPORTED_SUFFIXES)}。上传的文件作为新文件另行保存，"
                            "不会替换已收录的文件；标题后注明“用户上传”、上传人和时间。文件无法读取时，原索引保持不变。")
                upload = gr.File(label="选择文件", file_types=list(SUPPORTED_SUFFIXES), type="filepath")
                add_button = gr.Button("添加并重建索引", variant="primary")
                upload_status = gr.Markdown(latex_delimiters=[])
                declined = gr.Dataframe(headers=DECLINED_HEADERS, label="最常未能回答的问题（供补充文件参考）",
                                        interactive=False, wrap=True, column_widths=["70%", "10%", "20%"],
                                        max_height="none", buttons=[], elem_id="declined-questions")
                if removable:
                    removal_choice = gr.Dropdown(choices=upload_choices(pipeline), label="删除上传的文件（维护）")
                    remove_button = gr.Button("删除并重建索引", variant="stop")

        ask_inputs = [question, chatbot, documents, mode, k, served]
        ask_outputs = [chatbot, question, copy_box, notice, served]
        picked = chatbot.example_select(picked_example, None, question, api_visibility="private")
        for asked in (ask_button.click(ask, ask_inputs, ask_outputs, api_name="ask"),
                      question.submit(ask, ask_inputs, ask_outputs, api_visibility="private"),
                      picked.then(ask, ask_inputs, ask_outputs, api_visibility="private")):
            asked.then(None, js=SCROLL_TO_LAST_QUESTION).then(
                conversation_files, served, [export_md, export_csv], api_visibility="private").then(
                correction_choices, served, correction_target, api_visibility="private").then(
                records.declined_rows, None, declined, api_visibility="private")
        chatbot.like(records.rate, served, [feedback_notice, correction_target], api_visibility="private")
        for corrected in (correction_button.click, correction.submit):
            corrected(records.correct, [served, correction_target, correction], [feedback_notice, correction],
                      api_visibility="private")
        new_conversation.click(correction_choices, None, correction_target, api_visibility="private")
        copy_button.click(None, copy_box, None, js=COPY_JS)
        search_inputs = [query, documents, mode, k, department, chapter]
        search_button.click(search, search_inputs, results, api_name="search")
        query.submit(search, search_inputs, results, api_visibility="private")
        state_outputs = [summary, table, documents, *([removal_choice] if removable else [])]
        add_button.click(add_document, upload, [upload_status, *state_outputs, upload],
                         api_name="add_document", concurrency_limit=1, concurrency_id="corpus")
        if removable:
            remove_button.click(remove_document, removal_choice, [upload_status, *state_outputs],
                                api_name="remove_document", concurrency_limit=1, concurrency_id="corpus")
        table.select(open_document, None, outline, api_visibility="private")
        open_request.change(open_clause, open_request, [tabs, outline], api_name="open_clause")
        demo.load(corpus_state, None, state_outputs, api_name="documents")
        demo.load(records.declined_rows, None, declined, api_visibility="private")
    return demo


def build_server(pipeline: Pipeline) -> FastAPI:
    """The HTTP API with the chat mounted at "/": one process, one port, one login, the Chinese page."""
    settings = pipeline.settings
    feedback = FeedbackStore(settings.feedback_path)
    login = LoginGuard(settings.username, settings.password) if settings.username else None
    server = build_api(pipeline, feedback=feedback, token=settings.api_token, login=login)
    demo = build_app(pipeline, feedback)
    demo.queue(default_concurrency_limit=settings.concurrency)
    return gr.mount_gradio_app(server, demo, path="/", auth=login.check if login else None, max_file_size="50mb",
                               server_name=settings.host, server_port=settings.port, **page_options())


def picked_example(event: gr.SelectData) -> str:
    return str(event.value.get("text", "")) if isinstance(event.value, dict) else str(event.value)


def document_outline_html(pipeline: Pipeline, doc_id: str, *, opened: str = "") -> str:
    """文件库's outline of one document, `opened` (a clause id) unfolded; a message when it is not indexed."""
    try:
        index = pipeline.index
    except Exception as error:
        return ui.notice_html(user_message(error))
    document = next((d for d in index.manifest.documents if d.doc_id == doc_id), None)
    if document is None:
        return ui.notice_html("这个文件已不在索引中（可能刚被删除或重建索引），请在表格中重新选择。")
    clauses = index.clauses_matching(SearchFilters(doc_ids=(doc_id,)))
    return document_outline(document, clauses, opened=opened)


def add_to_corpus(pipeline: Pipeline, file_path: str | None, *, uploaded_by: str = ANONYMOUS,
                  progress: Progress | None = None) -> str:
    """Add a file as a new, marked upload and re-index; a file that cannot be read changes nothing.

    Uploads never replace a document: they get a new name in the upload folder and a title that says who
    uploaded them and when, whatever the file is called and whatever title it claims.
    """
    if not file_path:
        return "请先选择一个文件。"
    started = time.perf_counter()
    upload_file = Path(file_path)
    settings = pipeline.settings
    try:  # in a child process under time and memory limits; unreadable files are rejected before they are stored
        document = run_isolated(load_document, upload_file, timeout_s=settings.upload_timeout_s,
                                memory_mb=settings.upload_memory_mb)
    except CorpusError as error:
        return f"未添加 {upload_file.name}：{error.reason}"
    directory = pipeline.settings.upload_path
    upload = uploads.add_upload(upload_file, directory, title=document.title, uploaded_by=uploaded_by)
    try:
        report = pipeline.ingest(progress=progress)
    except Exception as error:
        uploads.remove_upload(directory, upload.doc_id)
        return f"未添加 {upload_file.name}，原索引保持不变：{user_message(error)}"
    skipped = "".join(f"\n- 跳过 {Path(s.path).name}：{s.reason}" for s in report.skipped)
    return (f"已添加《{upload.title}》。索引现有 {report.clauses} 条条款，本次计算 {report.embedded} 段向量（条款及其句子），"
            f"共用时 {time.perf_counter() - started:.1f} 秒（读取、模型加载和建索引）。{skipped}")


def remove_from_corpus(pipeline: Pipeline, doc_id: str | None) -> str:
    """Remove an uploaded document and re-index (only with allow_document_removal; bundled files stay)."""
    if not pipeline.settings.allow_document_removal:
        return "删除文件未开启（维护人员可用 --allow-document-removal 开启）。"
    if not doc_id:
        return "请先选择要删除的上传文件。"
    try:
        removed = uploads.remove_upload(pipeline.settings.upload_path, doc_id)
        pipeline.ingest()
    except Exception as error:
        return f"未删除：{user_message(error)}"
    return f"已删除《{removed.title}》并重建索引。"


def upload_choices(pipeline: Pipeline) -> list[tuple[str, str]]:
    try:
        return [(u.title, u.doc_id) for u in uploads.list_uploads(pipeline.settings.upload_path)]
    except RagError:
        return []


def _initial_choices(pipeline: Pipeline) -> list[tuple[str, str]]:
    try:
        return ui.document_choices(pipeline.index.manifest.documents)
    except RagError:
        return []


def prepare(pipeline: Pipeline) -> None:
    """Build the index on first run (or rebuild a damaged one) and load the model, so questions are answered promptly."""
    try:
        present = pipeline.has_index()
    except IndexDamaged as error:
        log.warning("%s — rebuilding it from the source files now", error)
        present = False
    if present and not _searchable(pipeline):
        # Upgrading to another model (the tuned default, say) makes the old vectors unusable: rebuild, as a
        # first run would. The old version keeps serving nothing meanwhile, and stays on disk if this fails.
        log.warning("the index %s was built with another embedder (%s): rebuilding it with %s now",
                    pipeline.settings.index_dir, pipeline.index.manifest.embedder.name, pipeline.settings.embedder)
        present = False
    if not present:
        corpus = ", ".join(pipeline.settings.corpus_paths)
        log.info("no index at %s yet: indexing %s (first run only; a few minutes on a small CPU)",
                 pipeline.settings.index_dir, corpus)
        report = pipeline.ingest(progress=console_progress())
        log.info("indexed %d clauses from %d documents in %.0fs", report.clauses,
                 len(report.added) + len(report.changed) + len(report.unchanged), report.seconds)
        for skipped in report.skipped:
            log.warning("skipped %s: %s", skipped.path, skipped.reason)
    manifest = pipeline.index.manifest
    log.info("index %s: %d documents, %d clauses", manifest.location, len(manifest.documents), manifest.clauses)
    # This loads the query embedder now rather than on the first question; the document embedder is not loaded:
    # serving never needs it, and ingests run in a child process.
    if not _searchable(pipeline):  # the rebuild above did not bring it into the query embedder's space
        log.warning("the index was built with another embedder: questions will fail until `rag ingest` rebuilds it")


def _searchable(pipeline: Pipeline) -> bool:
    """Whether the query embedder may search the index's vectors: the store's own check, so an index of a variant
    of the same weights (`<weights>+<variant>`) is searched, not rebuilt at every start."""
    try:
        pipeline.index.check_embedder(pipeline.query_embedder)
    except IndexMismatch:
        return False
    return True


def console_progress() -> Progress:
    """Log each stage's start and every tenth of it, so a non-terminal log shows progress too."""
    last: dict[str, int] = {}

    def report(stage: str, done: int, total: int) -> None:
        step = 10 * done // total if total else 10
        if last.get(stage) != step:
            last[stage] = step
            log.info("  %s %d/%d", stage, done, total)

    return report


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    """Command-line options over RAG_* environment variables over defaults."""
    parser = argparse.ArgumentParser(description="Web app for Q&A over Chinese policy documents.")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1, or RAG_HOST)")
    parser.add_argument("--port", type=int, help="port (default 7860, or RAG_PORT)")
    parser.add_argument("--username", help="require this user name (or RAG_USERNAME); needs --password")
    parser.add_argument("--password", help="password for --username; visible in `ps`: prefer RAG_PASSWORD or "
                        "--password-file")
    parser.add_argument("--password-file", type=Path, help="read the password from the first line of this file")
    parser.add_argument("--index", dest="index_dir", help="index directory (default index/default)")
    parser.add_argument("--allow-document-removal", action="store_const", const=True, default=None,
                        help="maintainers: let the chat remove uploaded documents (or RAG_ALLOW_DOCUMENT_REMOVAL=1)")
    args = parser.parse_args(argv)
    if args.password is not None:
        log.warning("warning: --password can be read by every user of this machine (`ps`); "
                    "use RAG_PASSWORD or --password-file instead")
    password_file = args.password_file
    del args.password_file
    if password_file is not None:
        try:
            args.password = password_file.read_text(encoding="utf-8").splitlines()[0]
        except (OSError, UnicodeDecodeError, IndexError) as error:
            parser.error(f"--password-file {password_file}: cannot read a password ({error or 'empty file'})")
    try:
        settings = load_settings(**vars(args))
    except ValueError as error:
        parser.error(str(error))
    if bool(settings.username) != bool(settings.password):
        parser.error("give both --username and --password (or RAG_USERNAME and RAG_PASSWORD), or neither")
    return settings


def main(argv: Sequence[str] | None = None) -> None:
    # The app's own progress lines; libraries (httpx, sentence-transformers) only when something is wrong.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    log.setLevel(logging.INFO)
    settings = parse_settings(argv)
    pipeline = Pipeline(settings)
    try:
        prepare(pipeline)
    except RagError as error:
        sys.exit(f"error: {error}")
    server = build_server(pipeline)
    log.info("serving the chat on http://%s:%d/ and the API on /api/… (docs: /docs)", settings.host, settings.port)
    # Open event streams of browsers would hold a graceful shutdown forever: they get a few seconds.
    uvicorn.run(server, host=settings.host, port=settings.port, log_level="warning", timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
