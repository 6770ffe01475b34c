"""What a store indexes of a clause: the passage that is embedded and BM25-indexed, its sentences that get
vectors of their own, its heading field, and which clauses are indexed at all. One definition for every store."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.chunk import split_clauses
from rag.schema import Clause, Document
from rag.sentences import clause_sentences

# Bump when what is embedded changes: vectors of an older format are not reused.
PASSAGE_FORMAT = 2
# Bare headings carry no content of their own; their words reach every clause through `chapter`.
UNINDEXED_KINDS = frozenset({"heading"})


def indexed_clauses(document: Document, *, max_chars: int) -> list[Clause]:
    """The clauses of `document` that a store indexes."""
    return [c for c in split_clauses(document, max_chars=max_chars) if c.kind not in UNINDEXED_KINDS]


def passage_text(clause: Clause) -> str:
    """What is embedded and BM25-indexed as the clause's body: its own text, nothing else.

    Measured on questions written apart from eval/: prefixing the document title and chapter cost dense
    recall@5 0.87 → 0.75; the headings match through their own lexical field instead (`heading_text`).
    """
    return clause.text


def heading_text(clause: Clause) -> str:
    """The clause's context as a separate lexical field: document title, issuer, chapter, section, departments."""
    parts = (clause.doc_title, clause.issuer, clause.chapter, clause.section, " ".join(clause.departments))
    return " ".join(part for part in parts if part) or "∅"


def title_words(clauses: Sequence[Clause]) -> list[str]:
    """Clause titles short enough to be terms: they join the BM25 tokenizer's dictionary."""
    return sorted({c.title for c in clauses if 2 <= len(c.title) <= 12})


# A name the documents quote: “质量月”, “计量服务中小企业行”, 「领跑者」 (Chinese characters only, 2–12 of them).
_QUOTED_NAME = re.compile(r"[“「\"]([\u4e00-\u9fff]{2,12})[”」\"]")


def quoted_names(clauses: Sequence[Clause]) -> list[str]:
    """The names the clauses quote. A question's terms keep them whole (jieba cuts 质量月 into 质量 + 月, and the
    question would lose its topic); the BM25 dictionary does not take them (measured: a dev question lost)."""
    return sorted({name for c in clauses for name in _QUOTED_NAME.findall(c.text)})


@dataclass(frozen=True)
class EmbeddingUnit:
    """One text a store embeds: a clause's passage (sentence −1) or its sentence number `sentence`."""

    row: int  # the clause's position in the list the units were made from
    clause_id: str
    sentence: int
    text: str

    @property
    def key(self) -> str:
        return self.clause_id if self.sentence < 0 else sentence_key(self.clause_id, self.sentence)


def sentence_key(clause_id: str, number: int) -> str:
    """The key of a clause's sentence number `number` (from 0) wherever sentence vectors are kept."""
    return f"{clause_id}~{number}"


def embedding_units(clauses: Sequence[Clause]) -> list[EmbeddingUnit]:
    """Every clause's passage in clause order, then every clause's sentences (grouped by clause)."""
    units = [EmbeddingUnit(row, c.clause_id, -1, passage_text(c)) for row, c in enumerate(clauses)]
    for row, clause in enumerate(clauses):
        units += [EmbeddingUnit(row, clause.clause_id, number, sentence)
                  for number, sentence in enumerate(clause_sentences(passage_text(clause)))]
    return units
