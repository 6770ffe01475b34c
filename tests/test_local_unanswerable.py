"""bench/local_unanswerable.jsonl: questions the 62 local regulations of bench/local_answers.py do not answer, checked
against the regulations themselves (../shared/corpora/laws, as CI has it)."""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import pytest

from rag.chunk import split_clauses
from rag.ingest import load_corpus, slugify
from tests.conftest import load_script

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():  # type: ignore[no-untyped-def]
    return load_script(ROOT / "bench" / "local_answers.py")


def test_the_questions_are_split_in_halves_by_kind(bench) -> None:  # type: ignore[no-untyped-def]
    rows = [json.loads(line) for line in bench.UNANSWERABLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == 120 and len({r["id"] for r in rows}) == 120
    kinds = collections.Counter((r["kind"], r["half"]) for r in rows)
    assert kinds == {("detail", "tune"): 30, ("detail", "check"): 30, ("near-domain", "tune"): 15,
                     ("near-domain", "check"): 15, ("off-domain", "tune"): 15, ("off-domain", "check"): 15}
    assert all(bool(r.get("topic")) == (r["kind"] == "detail") for r in rows)
    assert len(bench.unanswerable("tune")) == len(bench.unanswerable("check")) == 60


def test_every_topic_is_an_article_of_the_regulations_and_no_checked_term_is_in_them(bench) -> None:  # type: ignore[no-untyped-def]
    """A detail question's `topic` names real articles, whose text holds what its note quotes; the terms its note says
    were checked ("已查：…" / "无：…") occur in no article of the 62 regulations."""
    if not bench.LAWS.is_dir():
        pytest.skip(f"needs the laws corpus at {bench.LAWS}")
    files = sorted({str(bench.LAWS / row["file"]) for half in ("tune", "check") for row in bench.questions(half)})
    corpus = load_corpus(files)
    articles = {c.base_id: c.text for d in corpus.documents for c in split_clauses(d)}
    assert len({slugify(Path(f).stem) for f in files}) == 62
    everything = "\n".join(articles.values())
    quotes = terms = 0
    for row in bench.unanswerable("tune") + bench.unanswerable("check"):
        for topic in row.get("topic", ()):
            assert topic in articles, (row["id"], topic)
        quoted = re.findall(r"「([^」]{4,})」", row["note"])
        assert all(any(q in articles[t] for t in row.get("topic", ())) for q in quoted if row.get("topic")), row["id"]
        quotes += len(quoted) if row.get("topic") else 0
        checked = re.split(r"已查[:：]|无[:：]", row["note"])[-1].split("。")[0].split("（")[0]
        for term in (t.strip() for t in re.split(r"[、，,]", checked)):
            if term and "最近" not in term:
                assert term not in everything, (row["id"], term)
                terms += 1
    assert quotes >= 60 and terms >= 250  # every detail note quotes its article; every note names what was checked
