"""`rag feedback export`: ratings from the chat and the API as candidate eval questions and a declined list."""

from __future__ import annotations

import click

from rag.config import load_settings
from rag.errors import RagError


@click.group("feedback")
def feedback_group() -> None:
    """Work with the feedback the chat and the API collect (👍/👎, corrected sources, declined questions)."""


@feedback_group.command("export")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--index", "index_dir", default=None, help="Index directory (its feedback file is beside it).")
@click.option("--feedback-file", default=None, help="The feedback file (default <index>-feedback.sqlite).")
def export_command(out_dir: str, index_dir: str | None, feedback_file: str | None) -> None:
    """Write queries.jsonl + qrels.tsv (load with `rag eval --set OUT`), declined.txt and unresolved.tsv."""
    from rag.feedback import FeedbackStore
    from rag.feedback_export import export_feedback

    try:
        settings = load_settings(index_dir=index_dir, feedback_file=feedback_file)
        if not settings.feedback_path.is_file():
            raise click.ClickException(f"no feedback file at {settings.feedback_path}: nothing has been rated yet "
                                       "(or give --feedback-file / --index)")
        summary = export_feedback(FeedbackStore(settings.feedback_path), out_dir)
    except (RagError, ValueError, OSError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {summary.questions} candidate questions to {summary.directory} "
               f"({summary.from_corrections} from corrected sources, {summary.from_ratings} from 👍), "
               f"{summary.declined} declined questions to declined.txt, "
               f"{summary.unresolved} 👎 without a usable source to unresolved.tsv")
