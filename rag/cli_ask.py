"""`rag ask`: answer a question from the indexed documents, with numbered clause citations."""

from __future__ import annotations

import json

import click

from rag.clean import to_script_of
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
        lines += ["", "来源："]
        lines += [f"[{c.n}] {source_line(c.clause)}" for c in answer.citations]
    if answer.reasons:
        lines += ["", "原因：" + "；".join(answer.reasons)]
    if answer.related:
        lines += ["", "可能相关："]
        lines += [f"- {source_line(hit.clause)}" for hit in answer.related]
    if answer.warnings:
        lines += ["", *(f"注意：{warning}" for warning in answer.warnings)]
    return to_script_of(answer.question, "\n".join(lines))

