"""`rag ask`: answer a question from the indexed documents, with numbered clause citations."""

from __future__ import annotations

import json

import click

from rag.clean import is_traditional, to_traditional
from rag.config import load_settings
from rag.errors import RagError
from rag.schema import Answer
from rag.shapes import answer_record, source_line


@click.command("ask")
@click.argument("question")
@click.option("--index", "index_dir", default=None, help="Index directory (default index/default).")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default=None)
@click.option("--k", "k", type=click.IntRange(1, 200), default=None, help="Clauses to retrieve (default 10).")
@click.option("--doc", "docs", multiple=True, help="Only these documents (doc id; repeatable).")
@click.option("--department", default="", help="Only clauses this department is responsible for (aliases ok).")
@click.option("--chapter", default="", help="Only clauses whose chapter heading contains this text.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: answer, found, citations, mode.")
def ask_command(question: str, index_dir: str | None, mode: str | None, k: int | None, docs: tuple[str, ...],
                department: str, chapter: str, as_json: bool) -> None:
    """Answer QUESTION from the indexed documents, citing the clauses it rests on."""
    from rag.pipeline import Pipeline
    from rag.retrieve import SearchFilters

    try:
        settings = load_settings(index_dir=index_dir)
        answer = Pipeline(settings).ask(question, k=k, mode=mode,
                                        filters=SearchFilters(doc_ids=docs, department=department, chapter=chapter))
    except (RagError, ValueError, ImportError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(json.dumps(answer_record(answer), ensure_ascii=False) if as_json else render_answer(answer))


def render_answer(answer: Answer) -> str:
    """The answer, then its numbered sources: [1] 《…》六（十六）「提升质量基础设施服务效能」（责任部门：…）."""
    lines = [answer.text]
    if answer.citations:
        lines += ["", _label("来源：", answer)]
        lines += [_label(f"[{c.n}] {source_line(c.clause)}", answer) for c in answer.citations]  # 責任部門, （牽頭）
    if answer.reasons:
        lines += ["", _label("原因：", answer) + "；".join(answer.reasons)]
    if answer.related:
        lines += ["", _label("可能相关：", answer)]
        lines += [_label(f"- {source_line(hit.clause)}", answer) for hit in answer.related]
    if answer.warnings:
        lines += ["", *(f"{_label('注意：', answer)}{warning}" for warning in answer.warnings)]
    return "\n".join(lines)


def _label(text: str, answer: Answer) -> str:
    return to_traditional(text) if is_traditional(answer.question) else text

