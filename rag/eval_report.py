"""Write an evaluation run directory (run.json, report.md, recall.png) and compare two runs.

Everything after `run_to_dict` works from the run.json dictionary alone, so old runs can be
re-rendered and compared without the code or the index that produced them.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.evaluate import EvalError, EvalResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RUN_FORMAT = 1
RUN_FILE, REPORT_FILE, PLOT_FILE, STYLES_PLOT_FILE = "run.json", "report.md", "recall.png", "styles.png"
STYLE_CHART_METRICS = ("recall", "mrr")  # at the largest k, one panel each
HEADLINE_METRICS = ("recall", "mrr", "ndcg")  # per-style tables show these at the largest k


def git_revision(directory: str | Path) -> tuple[str, bool]:
    """(commit hash, has uncommitted changes) of the checkout at `directory`; ("", False) if none."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "", False
    return commit, bool(status.strip())


def run_to_dict(
    result: EvalResult,
    *,
    settings: Mapping[str, Any],
    created_at: str,
    git_commit: str = "",
    git_dirty: bool = False,
) -> dict[str, Any]:
    """The content of run.json: exactly what reading the written file back gives."""
    retrieval = result.retrieval
    run = {
        "format": RUN_FORMAT,
        "created_at": created_at,
        "git_commit": git_commit,
        "git_dirty": git_dirty,
        "eval_set": {"name": result.set_name, "directory": result.set_directory},
        "split": result.split,
        "modes": [mode.mode for mode in result.modes],
        "ks": list(result.ks),
        "n_questions": result.n_questions,
        "n_scored": result.n_scored,
        "n_unanswerable": result.n_unanswerable,
        "style_counts": dict(result.style_counts),
        "settings": dict(settings),
        "metrics": {mode.mode: dict(mode.metrics) for mode in result.modes},
        "by_style": {mode.mode: {s: dict(m) for s, m in mode.by_style.items()} for mode in result.modes},
        "latency_ms": {mode.mode: dict(mode.latency_ms) for mode in result.modes},
        "misses": {mode.mode: [asdict(miss) for miss in mode.misses] for mode in result.modes},
        "runs": {mode: {q: list(ids) for q, ids in run.items()} for mode, run in retrieval.runs.items()},
        "query_latency_ms": {mode: dict(times) for mode, times in retrieval.latency_ms.items()},
    }
    # The round trip turns tuples into lists and fails here, not after a long run, on non-JSON values.
    normalised: dict[str, Any] = json.loads(json.dumps(run, ensure_ascii=False))
    return normalised


def write_run(run: Mapping[str, Any], out_dir: str | Path) -> Path:
    """Write run.json, report.md, recall.png and styles.png into `out_dir` (created if needed); return it."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / RUN_FILE).write_text(json.dumps(run, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (directory / REPORT_FILE).write_text(render_report(run), encoding="utf-8")
    plot_recall(run, directory / PLOT_FILE)
    plot_styles(run, directory / STYLES_PLOT_FILE)
    return directory


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """Read run.json from a run directory (or the file itself)."""
    path = Path(run_dir)
    file = path / RUN_FILE if path.is_dir() else path
    try:
        run = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalError(
            f"{path}: no run.json there; expected a run directory written by `rag eval`"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvalError(f"{file} is not a readable run file: {exc}") from exc
    if not isinstance(run, dict) or not isinstance(run.get("metrics"), dict):
        raise EvalError(f"{file} is not a run file: it has no metrics")
    return run


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _number(value: object, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "—"


def _metric_keys(run: Mapping[str, Any]) -> list[str]:
    keys: list[str] = []
    for metrics in run["metrics"].values():
        keys += [key for key in metrics if key not in keys]
    return keys


def render_metrics_table(run: Mapping[str, Any]) -> str:
    """Markdown table: one row per metric (then latency), one column per mode."""
    modes = list(run["metrics"])
    rows: list[list[object]] = [
        [key, *(_number(run["metrics"][mode].get(key)) for mode in modes)] for key in _metric_keys(run)
    ]
    for stat in ("p50", "p95"):
        latencies = run.get("latency_ms", {})
        rows.append([f"latency {stat} (ms)", *(_number(latencies.get(m, {}).get(stat), 1) for m in modes)])
    return _table(["metric", *modes], rows)


def render_summary(run: Mapping[str, Any]) -> str:
    """One line: how many questions were run and how many were scored."""
    return (
        f"{run['eval_set']['name']} ({run['split']}): {run['n_questions']} questions, "
        f"{run['n_scored']} scored, {run['n_unanswerable']} unanswerable (left out of retrieval metrics)"
    )


def render_report(run: Mapping[str, Any]) -> str:
    """report.md: summary, metrics by mode, per-style tables, misses."""
    modes, k_max = list(run["metrics"]), max(run["ks"])
    commit = run.get("git_commit") or "unknown"
    lines = [
        f"# Retrieval evaluation: {run['eval_set']['name']}, {run['split']} split",
        "",
        f"- created: {run['created_at']}",
        f"- commit: {commit}{' (uncommitted changes)' if run.get('git_dirty') else ''}",
        f"- questions: {render_summary(run)}",
        "",
        "## Metrics",
        "",
        render_metrics_table(run),
        "",
        f"![recall@k]({PLOT_FILE}) ![by style]({STYLES_PLOT_FILE})",
        "",
        "## By style",
    ]
    counts = run.get("style_counts", {})
    for name in HEADLINE_METRICS:
        key = f"{name}@{k_max}"
        rows = [
            [style, n, *(_number(run["by_style"][m].get(style, {}).get(key)) for m in modes)]
            for style, n in counts.items()
        ]
        lines += ["", f"### {key}", "", _table(["style", "n", *modes], rows)]
    lines += ["", f"## Misses (recall@{k_max} < 1 or hit@1 = 0)"]
    for mode in modes:
        misses = run["misses"].get(mode, [])
        lines += ["", f"### {mode}: {len(misses)}"] + ([""] if misses else [])
        lines += [
            f"- **{m['query_id']}** [{m['style']}] {m['text']}  \n"
            f"  gold: {', '.join(m['gold_ids'])}  \n"
            f"  top: {', '.join(m['retrieved_ids']) or '(nothing)'}"
            for m in misses
        ]
    return "\n".join(lines) + "\n"


def plot_recall(run: Mapping[str, Any], path: str | Path) -> None:
    """Save a PNG of recall@k against k, one line per mode."""
    # Figure + Agg canvas directly: no pyplot global state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    ks = run["ks"]
    for mode, metrics in run["metrics"].items():
        values = [metrics.get(f"recall@{k}") for k in ks]
        if all(isinstance(v, int | float) for v in values):
            axes.plot(ks, values, marker="o", label=mode)
    axes.set(xlabel="k", ylabel="recall@k", ylim=(0.0, 1.05), xticks=ks)
    axes.set_title(f"{run['eval_set']['name']} ({run['split']}, {run['n_scored']} scored questions)")
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend()
    figure.tight_layout()
    figure.savefig(str(path), format="png")


def plot_styles(run: Mapping[str, Any], path: str | Path) -> Figure:
    """Save a PNG of recall and MRR at the largest k per question style, one bar per mode; return the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k_max, modes = max(run["ks"]), list(run["by_style"])
    styles = [style for style in run.get("style_counts", {}) if any(style in run["by_style"][m] for m in modes)]
    figure = Figure(figsize=(max(6.0, 1.1 * len(styles) + 2), 4.5), dpi=100)
    FigureCanvasAgg(figure)
    width = 0.8 / max(len(modes), 1)
    for panel, name in enumerate(STYLE_CHART_METRICS, start=1):
        axes = figure.add_subplot(len(STYLE_CHART_METRICS), 1, panel)
        for offset, mode in enumerate(modes):
            values = [run["by_style"][mode].get(style, {}).get(f"{name}@{k_max}", 0.0) for style in styles]
            axes.bar([i + (offset - (len(modes) - 1) / 2) * width for i in range(len(styles))], values, width,
                     label=mode)
        axes.set(ylabel=f"{name}@{k_max}", ylim=(0.0, 1.05), xticks=range(len(styles)))
        axes.set_xticklabels([f"{style}\n(n={run['style_counts'][style]})" for style in styles]
                            if panel == len(STYLE_CHART_METRICS) else [])
        axes.grid(axis="y", alpha=0.3)
    figure.suptitle(f"{run['eval_set']['name']} ({run['split']}) by question style", x=0.02, ha="left")
    if modes:  # above the panels: bars near 1.0 would hide under a legend inside them
        figure.legend(*figure.axes[0].get_legend_handles_labels(), loc="upper right", ncols=len(modes),
                      fontsize="small", frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 0.94))
    figure.savefig(str(path), format="png")
    return figure


def compare_runs(run_a_dir: str | Path, run_b_dir: str | Path) -> str:
    """Markdown table of B − A for every metric and mode the two runs share."""
    run_a, run_b = load_run(run_a_dir), load_run(run_b_dir)
    modes = [mode for mode in run_a["metrics"] if mode in run_b["metrics"]]
    if not modes:
        raise EvalError(f"runs {run_a_dir} and {run_b_dir} have no mode in common")
    lines = [f"A: {run_a_dir}", f"B: {run_b_dir}"]
    for field, a, b in [
        ("eval set", run_a.get("eval_set", {}).get("name"), run_b.get("eval_set", {}).get("name")),
        *((field, run_a.get(field), run_b.get(field)) for field in ("split", "n_questions", "ks")),
    ]:
        if a != b:
            lines.append(f"warning: {field} differs ({a} vs {b}): the runs are not directly comparable")
    keys = [key for key in _metric_keys(run_a) if key in _metric_keys(run_b)]
    rows = []
    for key in keys:
        cells = []
        for mode in modes:
            a, b = run_a["metrics"][mode].get(key), run_b["metrics"][mode].get(key)
            both = isinstance(a, int | float) and isinstance(b, int | float)
            cells.append(f"{_number(a)} → {_number(b)} ({b - a:+.3f})" if both else "—")
        rows.append([key, *cells])
    lines += ["", _table(["metric", *(f"{mode} (A → B, Δ)" for mode in modes)], rows)]
    return "\n".join(lines) + "\n"


def utc_timestamp() -> str:
    """Now in UTC, ISO 8601 to the second, e.g. 2025-01-31T09:15:02Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
