"""Frozen dataclasses shared by every stage: Document → Clause → Hit → Answer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

# L2-normalised float32 rows, one per text.
Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Document:
    """A cleaned document ready for chunking.

    `text` is the cleaned, simplified, width-normalised body that offsets point into;
    `original` is the file's decoded text before cleaning, kept for display.
    """

    doc_id: str  # stable slug, e.g. "quality-outline-2014-action-plan"
    title: str
    text: str
    source: str  # path as given by the user, e.g. "corpus/….txt"
    original: str = ""
    issuer: str = ""
    date: str = ""  # ISO date where known
    doc_number: str = ""  # e.g. "国办发〔2014〕18号"
    script: str = "simplified"  # script of the original: "simplified" | "traditional"
    lead_first_listed: bool = False  # the document says "列第一位者为牵头部门"
    # "document": split into clauses; "passage": a pre-chunked unit (a BEIR passage), indexed whole as one
    # clause whose id is the document's id, with `heading` (the passage's title) as its heading field
    kind: str = "document"
    heading: str = ""


@dataclass(frozen=True)
class Clause:
    """One retrievable unit: a policy clause, a law article, a preamble or a paragraph."""

    clause_id: str  # "{doc_id}#{path}", e.g. "quality-outline-2014-action-plan#三（十三）"
    doc_id: str
    doc_title: str
    # "clause" | "article" | "chapter" (its own text) | "heading" (a bare heading line, not indexed)
    # | "preamble" | "closing" | "paragraph" (documents without structure)
    kind: str
    chapter: str  # chapter heading as written, e.g. "六、以质量变革创新推动质量持续提升", "第二章 产品质量的监督"
    label: str  # clause label as written, e.g. "（十六）", "第四十八条"; "" for preamble
    title: str  # first sentence of a policy clause, e.g. "提升质量基础设施服务效能"
    text: str
    start: int  # character offsets into Document.text: text == document.text[start:end]
    end: int
    source: str
    departments: tuple[str, ...] = ()
    lead_department: str = ""
    section: str = ""  # a law's 节 heading, e.g. "第一节 生产者的产品质量责任和义务"
    part: int = 1  # >1 when an over-long clause was split; parts repeat the heading
    issuer: str = ""
    date: str = ""

    @property
    def base_id(self) -> str:
        """The clause id without the part suffix: all parts of one long clause share it."""
        return self.clause_id.rsplit("-", 1)[0] if self.part > 1 else self.clause_id

    @property
    def citation(self) -> str:
        """Short human citation, e.g. 《…》六（十六） or 《…》第四十八条 (rag/shapes.py adds the title)."""
        return f"《{self.doc_title}》{self.place}"

    @property
    def place(self) -> str:
        """Where the clause sits in its document: 六（十六）, 第四十八条, the chapter heading, 序言, 结尾."""
        chapter_number = self.chapter.split("、", 1)[0] if "、" in self.chapter[:6] else ""
        if self.kind == "article":
            return self.label
        if self.kind == "clause":
            return chapter_number + self.label
        if self.kind == "chapter":
            return self.chapter
        return {"preamble": "序言", "closing": "结尾"}.get(self.kind, self.label)


@dataclass(frozen=True)
class Hit:
    """A retrieved clause with its fused score and 1-based rank."""

    clause: Clause
    score: float  # fused score (hybrid), cosine (dense) or BM25 (lexical)
    rank: int
    similarity: float | None = None  # dense cosine to the query, when the query was embedded
    # Hybrid search: the clause's rank among the candidates by the dense and by the lexical score alone
    # (None for no lexical match); the relevance decision reads whether the two searches agree.
    dense_rank: int | None = None
    lexical_rank: int | None = None


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer; `n` is the marker [n] used in the answer text."""

    n: int
    clause: Clause


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    found: bool  # False only when nothing relevant was found ("not_found")
    citations: tuple[Citation, ...] = ()
    mode: str = "extractive"  # "extractive" | "llm"
    related: tuple[Hit, ...] = ()  # "可能相关" clauses shown when nothing relevant is found
    warnings: tuple[str, ...] = field(default=())
    retrieved_ids: tuple[str, ...] = ()  # every clause the answer was composed from; citations must be among them
    # "answered"; "partly": the documents cover the topic but do not state what was asked; "not_found"
    outcome: str = "answered"
    reasons: tuple[str, ...] = ()  # why the answer was declined or partial, in words a user can read
