"""`rag eval`: score retrieval on a BEIR-style eval set and write a run directory.

rag/cli.py registers it with `main.add_command(eval_command)`. Tests build the same command
around their own searcher with `make_eval_command(open_searcher=...)`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import click

from rag.beir import beir_summary, is_beir_dataset
from rag.config import PROJECT_ROOT, Settings, load_settings
from rag.errors import RagError
from rag.eval_report import (
    REPORT_FILE,
    RUN_FILE,
    RUN_FORMAT,
    compare_runs,
    git_revision,
    render_metrics_table,
    render_summary,
    run_to_dict,
    utc_timestamp,
    write_run,
)
from rag.evaluate import (
    CONVERSATIONS_FILE,
    EvalSet,
    SearchFunction,
    evaluate,
    evaluate_conversations,
    load_conversations,
    load_eval_set,
)
from rag.metrics import check_ks
from rag.schema import Hit

MODES = ("hybrid", "dense", "lexical")
SECRET_FIELDS = frozenset({"llm_api_key", "password", "api_token", "milvus_token"})
EXACT_SEARCH = 10**12  # ann_threshold for benchmarks: exact FAISS search at any size, as BEIR's dense evaluation


class Searcher(Protocol):
    def search(self, query: str, *, k: int, mode: str) -> Sequence[Hit]: ...


SearcherFactory = Callable[[Settings], Searcher]


def search_function(searcher: Searcher) -> SearchFunction:
    """Adapt a Searcher to the (query, k, mode) → clause ids function the harness calls.

    Ids are base ids: qrels judge a whole clause, and a hit on part 2 of a long clause
    ("…#第十五条-2") is a hit on that clause.
    """

    def search(query: str, k: int, mode: str) -> list[str]:
        return [hit.clause.base_id for hit in searcher.search(query, k=k, mode=mode)]

    return search


def settings_record(settings: Settings) -> dict[str, Any]:
    """Settings as stored in run.json, with secrets masked."""
    record = dataclasses.asdict(settings)
    return {key: ("***" if key in SECRET_FIELDS and value else value) for key, value in record.items()}


def run_eval(
    eval_set: EvalSet,
    search: SearchFunction,
    *,
    split: str,
    modes: Sequence[str],
    ks: Sequence[int],
    out_dir: str | Path,
    settings: dict[str, Any],
    created_at: str = "",
) -> dict[str, Any]:
    """Evaluate, write the run directory and return the run.json content."""
    # One untimed search per mode first, so that loading the model is not counted as query latency.
    for mode in modes:
        for query in eval_set.select(split)[:1]:
            search(query.text, 1, mode)
    result = evaluate(eval_set, search, modes=modes, ks=ks, split=split)
    commit, dirty = git_revision(PROJECT_ROOT)
    run = run_to_dict(
        result,
        settings=settings,
        created_at=created_at or utc_timestamp(),
        git_commit=commit,
        git_dirty=dirty,
    )
    write_run(run, out_dir)
    return run


def answer_checks(eval_set: EvalSet, settings: Settings, *, split: str) -> dict[str, Any]:
    """Ask every question of `split` through the real answerer and score the answers."""
    from rag.departments import canonical_department, known_department_names
    from rag.evaluate import evaluate_answers
    from rag.pipeline import Pipeline

    pipeline = Pipeline(settings)
    checks = evaluate_answers(eval_set, pipeline.ask, split=split, known_departments=known_department_names(),
                              canonical=canonical_department)
    conversations_file = Path(eval_set.directory) / CONVERSATIONS_FILE
    if conversations_file.is_file():
        checks["conversations"] = evaluate_conversations(
            load_conversations(conversations_file), lambda question, history: pipeline.ask(question, history=history),
            split=split)
    return checks


def render_answer_checks(checks: dict[str, Any]) -> str:
    lines = [f"answer checks ({checks['questions']} questions):", "| check | value |", "|---|---|"]
    lines += [f"| {name} | {value:.3f} |" for name, value in sorted(checks["metrics"].items())]
    lines += [f"- {f['id']} ({f['style']}{'/' + f['kind'] if f.get('kind') else ''}): outcome={f.get('outcome')} "
              f"expected={'answer' if f['expected_found'] else 'decline'}"
              f"{' ungrounded citations' if f['ungrounded_citations'] else ''}"
              f"{' quotes none of the expected phrases' if f.get('missing_expected') else ''}: {f['question']}"
              for f in checks["failures"]]
    if "conversations" in checks:
        talks = checks["conversations"]
        lines += ["", f"two-turn conversations ({talks['conversations']}):", "| check | value |", "|---|---|"]
        lines += [f"| {name} | {value:.3f} |" for name, value in sorted(talks["metrics"].items())]
        lines += [f"- {f['id']} ({f['kind']}): {' → '.join(f['turns'])} outcome={f['outcome']} cited={f['cited']}"
                  for f in talks["failures"]]
    return "\n".join(lines)


def write_answer_checks(run: dict[str, Any], out_dir: Path) -> None:
    """Add the answer checks to run.json and report.md written by run_eval."""
    (out_dir / RUN_FILE).write_text(json.dumps(run, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    with (out_dir / REPORT_FILE).open("a", encoding="utf-8") as report:
        report.write("\n## Answer checks\n\n" + render_answer_checks(run["answers"]) + "\n")


def beir_eval(directory: Path, *, split: str, modes: Sequence[str], index_dir: Path | None, model: str | None,
              out_dir: Path, created_at: str) -> dict[str, Any]:
    """Index a BEIR dataset's passages (once per dataset and embedder; later runs reuse the vectors), search
    its judged queries with every mode, score them the BEIR way and write the run directory."""
    from rag.beir import load_beir, run_beir, write_beir_run
    from rag.cli import progress_bar
    from rag.ingest import LoadedCorpus, slugify
    from rag.pipeline import ingest_corpus, open_searcher

    if split == "all":
        raise click.ClickException("a BEIR dataset is scored on one qrels file: use --split test or --split dev")
    dataset = load_beir(directory, split=split)
    embedder_name = Path(model).name if model else "default"
    index = index_dir or PROJECT_ROOT / "index" / "beir" / slugify(f"{dataset.name}-{embedder_name}")
    settings = dataclasses.replace(load_settings(index_dir=str(index), embedder=model), ann_threshold=EXACT_SEARCH)
    click.echo(f"Indexing {len(dataset.passages)} passages of {dataset.name} into {index} …", err=True)
    with progress_bar() as progress:
        ingest_corpus(settings, LoadedCorpus(dataset.passages, ()), progress=progress)
    click.echo(f"Searching {len(dataset.queries)} queries with {', '.join(modes)} …", err=True)
    searcher = open_searcher(settings)
    commit, dirty = git_revision(PROJECT_ROOT)
    run = {"format": RUN_FORMAT, "created_at": created_at, "git_commit": commit, "git_dirty": dirty,
           **run_beir(dataset, search_function(searcher), modes=modes), "settings": settings_record(settings),
           "embedder": dataclasses.asdict(searcher.index.manifest.embedder)}
    write_beir_run(run, out_dir)
    return run


def _open_pipeline_searcher(settings: Settings) -> Searcher:
    # Imported here so that `--compare` and bad `--set` paths never load the model.
    from rag.pipeline import open_searcher

    searcher: Searcher = open_searcher(settings)
    return searcher


def _parse_ks(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        return check_ks(int(part) for part in value.split(",") if part.strip())
    except ValueError as exc:
        raise click.BadParameter(f"expected comma-separated integers >= 1, e.g. 1,3,5,10 ({exc})") from None


def make_eval_command(open_searcher: SearcherFactory = _open_pipeline_searcher) -> click.Command:
    """The `eval` command, searching through `open_searcher(settings)`."""

    @click.command("eval")
    @click.option(
        "--set",
        "set_dir",
        type=click.Path(path_type=Path),
        default=None,
        help="Eval set directory with queries.jsonl and qrels.tsv [default: eval/]",
    )
    @click.option("--split", type=click.Choice(["test", "dev", "all"]), default="test", show_default=True)
    @click.option("--mode", type=click.Choice([*MODES, "all"]), default="all", show_default=True)
    @click.option("--k", "ks", default="1,3,5,10", show_default=True, callback=_parse_ks, help="Cut-offs")
    @click.option("--json", "as_json", is_flag=True, help="Print run.json as one JSON line")
    @click.option(
        "--out",
        "out_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Run directory [default: eval/runs/<UTC time>-<split>]",
    )
    @click.option(
        "--index",
        "index_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Index directory [default: the configured index_dir]",
    )
    @click.option(
        "--compare",
        nargs=2,
        type=click.Path(path_type=Path),
        default=None,
        metavar="RUN_A RUN_B",
        help="Print the metric deltas B - A of two run directories and exit",
    )
    @click.option("--answers", "with_answers", is_flag=True,
                  help="Also ask every question through `rag ask` and score the answers")
    @click.option("--beir", "beir_dir", type=click.Path(path_type=Path), default=None,
                  help="A BEIR-format dataset (corpus.jsonl, queries.jsonl, qrels/<split>.tsv): nDCG@10, "
                       "recall@100, MRR@10 as BEIR computes them (--set finds one too)")
    @click.option("--model", default=None, metavar="DIR",
                  help="With --beir: a sentence-transformers model directory to embed with instead of the default")
    def eval_command(
        set_dir: Path | None,
        split: str,
        mode: str,
        ks: tuple[int, ...],
        as_json: bool,
        out_dir: Path | None,
        index_dir: Path | None,
        compare: tuple[Path, Path] | None,
        with_answers: bool,
        beir_dir: Path | None,
        model: str | None,
    ) -> None:
        """Score retrieval (recall@k, hit@k, MRR, nDCG) on an eval set, or a BEIR dataset, and write a report."""
        try:
            if compare:
                click.echo(compare_runs(*compare), nl=False)
                return
            modes = MODES if mode == "all" else (mode,)
            created_at = utc_timestamp()
            stamp = created_at.replace("-", "").replace(":", "")
            if beir_dir is None and set_dir is not None and is_beir_dataset(set_dir):
                beir_dir = set_dir
            if beir_dir is not None:
                out_dir = out_dir or PROJECT_ROOT / "eval" / "runs" / f"{stamp}-beir-{Path(beir_dir).resolve().name}"
                run = beir_eval(beir_dir, split=split, modes=modes, index_dir=index_dir, model=model,
                                out_dir=out_dir, created_at=created_at)
                click.echo(json.dumps(run, ensure_ascii=False) if as_json else
                           f"{beir_summary(run)}\n{render_metrics_table(run)}\nreport: {Path(out_dir) / REPORT_FILE}")
                return
            if model is not None:
                raise click.ClickException("--model goes with --beir: an eval set of ours searches an existing "
                                           "index; build one with RAG_EMBEDDER=DIR rag ingest --index DIR")
            # Load the questions first: a bad --set fails before the model is loaded.
            eval_set = load_eval_set(set_dir if set_dir is not None else PROJECT_ROOT / "eval")
            if out_dir is None:
                out_dir = PROJECT_ROOT / "eval" / "runs" / f"{stamp}-{split}"
            try:
                settings = load_settings(index_dir=str(index_dir) if index_dir is not None else None)
            except ValueError as exc:  # unknown keys in rag.toml
                raise click.ClickException(str(exc)) from exc
            n_questions = len(eval_set.select(split))
            click.echo(f"Searching {n_questions} questions with {', '.join(modes)} …", err=True)
            run = run_eval(
                eval_set,
                search_function(open_searcher(settings)),
                split=split,
                modes=modes,
                ks=ks,
                out_dir=out_dir,
                settings=settings_record(settings),
                created_at=created_at,
            )
            if with_answers:
                click.echo("Answering every question with rag ask …", err=True)
                run["answers"] = answer_checks(eval_set, settings, split=split)
                write_answer_checks(run, Path(out_dir))
        except (RagError, FileNotFoundError, PermissionError) as exc:
            raise click.ClickException(str(exc)) from exc
        if as_json:
            click.echo(json.dumps(run, ensure_ascii=False))
            return
        misses = ", ".join(f"{m} {len(found)}" for m, found in run["misses"].items())
        click.echo(render_summary(run))
        click.echo(render_metrics_table(run))
        click.echo(f"misses: {misses}")
        if "answers" in run:
            click.echo(render_answer_checks(run["answers"]))
        click.echo(f"report: {Path(out_dir) / REPORT_FILE} (raw: {RUN_FILE})")

    return eval_command


eval_command = make_eval_command()
