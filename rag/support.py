"""Is the answer in the documents? A decision from a few explainable signals, not one cosine.

Signals of the top clauses for a `Query`:
- margin: the best dense cosine minus the question's mean cosine to a sample of the index: e5 cosines
  crowd into 0.8–0.95 for any Chinese text, so only how far the best clause stands out means something;
- coverage: the IDF-weighted share of the question's content words (a colloquial word counts as
  covered when one of its policy terms is) found in the top clauses;
- asked detail: what a figure or detail question asks for (an amount, a date, a web address, a phone
  number…) and whether the top clauses hold it.
Outcomes: "answered"; "partly" (the topic is covered, the asked detail is not stated); "not_found".
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rag.question import Query
from rag.schema import Clause, Hit
from rag.store import ClauseIndex
from rag.vocabulary import colloquial_lexicon

TOP_FOR_SUPPORT = 3

# What a detail question asks for, and what a clause stating it looks like.
DETAILS: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = (
    ("金额", re.compile(r"多少钱|奖金|奖励多少|补贴多少|资助多少|金额|额度|费用|收费|多少费|给多少"),
     re.compile(r"\d\s*(万|亿)?元|[一二三四五六七八九十百千]+\s*(万|亿)?元")),
    ("日期或期限", re.compile(r"截止|期限|什么时候|何时|哪天|几号|多久|多长时间|周期|几年一次|多少天"),
     re.compile(r"\d{4}\s*年|\d+\s*(个)?(月|日|天|年|工作日)|年底|年内|每年|每两年")),
    ("网址", re.compile(r"网址|网站|官网|链接|在哪个网|哪个平台"), re.compile(r"https?://|www\.|\.cn|\.com|网站|平台")),
    ("电话", re.compile(r"电话|热线|手机号|号码|联系方式"), re.compile(r"\d{3,4}-?\d{7,8}|1\d{10}|12345|热线")),
    ("比例或数量", re.compile(r"比例|百分之|多少家|多少个|多少项|多少名|几家|几个|几项|合格率|达到多少"),
     re.compile(r"\d|[一二三四五六七八九十百千]+(家|个|项|名|批)|百分之")),
    ("申请材料或流程", re.compile(r"材料|流程|手续|怎么申请|如何申请|去哪申请|申请条件|报名|表格|怎么报"),
     re.compile(r"申请|申报|材料|程序|流程|报名")),
)


@dataclass(frozen=True)
class SupportThresholds:
    """An answer needs margin + coverage_weight × coverage ≥ min_support.

    Calibrated on the eval dev split (`rag eval --calibrate`); the defaults live in config.Settings.
    One weighted sum, because each signal alone fails differently: colloquial questions share few words
    with their clause (low coverage, good margin), and off-topic questions can still reuse policy words.
    """

    min_support: float
    coverage_weight: float

    def score(self, margin: float | None, coverage: float) -> float:
        """Without a cosine (lexical search) the words decide alone, on the same scale."""
        base = margin if margin is not None else self.min_support - self.coverage_weight * 0.5
        return base + self.coverage_weight * coverage


@dataclass(frozen=True)
class Support:
    outcome: str  # "answered" | "partly" | "not_found"
    margin: float | None  # None when the question was not embedded (lexical mode)
    coverage: float
    missing_terms: tuple[str, ...]  # content words no top clause contains
    asked_detail: str  # "" or what the question asks for, e.g. "金额"
    reasons: tuple[str, ...]  # why the answer was declined or partial, for the user


def assess_support(query: Query, hits: Sequence[Hit], index: ClauseIndex, *, thresholds: SupportThresholds,
                   typical_similarity: float | None) -> Support:
    """Decide whether `hits` answer `query`, partly answer it, or do not.

    `typical_similarity` is the question's mean cosine to the index (`Retriever.typical_similarity`).
    """
    top = hits[:TOP_FOR_SUPPORT]
    similarities = [h.similarity for h in top if h.similarity is not None]
    margin = max(similarities) - typical_similarity if similarities and typical_similarity is not None else None
    coverage, missing = term_coverage(query, [h.clause for h in top], index)
    detail = asked_detail(query.text)
    reasons: list[str] = []
    if not top:
        return Support("not_found", margin, 0.0, missing, detail, ("没有检索到任何条款。",))
    if thresholds.score(margin, coverage) < thresholds.min_support:
        if missing:
            reasons.append(f"文件中没有出现问题里的关键词：{'、'.join(missing[:4])}")
        reasons.append("最接近的条款与问题的意思相差较远")
        return Support("not_found", margin, coverage, missing, detail, tuple(reasons))
    if detail and not detail_stated(detail, [h.clause for h in top]):
        return Support("partly", margin, coverage, missing, detail,
                       (f"相关条款没有写明{detail}",))
    return Support("answered", margin, coverage, missing, detail, ())


def asked_detail(text: str) -> str:
    """The kind of detail a question asks for ("金额", "网址", …), or "" for none of them."""
    for name, asked, _ in DETAILS:
        if asked.search(text):
            return name
    return ""


def detail_stated(detail: str, clauses: Sequence[Clause]) -> bool:
    """Whether any of `clauses` holds the kind of detail asked for."""
    shape = next(stated for name, _, stated in DETAILS if name == detail)
    return any(shape.search(c.text) for c in clauses)


def term_coverage(query: Query, clauses: Sequence[Clause], index: ClauseIndex) -> tuple[float, tuple[str, ...]]:
    """IDF-weighted share of the question's content words found in `clauses`, and the words missing."""
    if not query.terms:
        return 1.0, ()
    text = " ".join(f"{c.doc_title} {c.chapter} {c.text}" for c in clauses)
    alternatives = _ByContainment({c: t for c, t in colloquial_lexicon() if c in query.search_text})
    total = covered = 0.0
    missing = []
    for term in query.terms:
        weight = _idf(index, term) * min(len(term), 4)
        total += weight
        if term in text or any(alt in text for alt in alternatives.get(term, ())) or _partial(term, text):
            covered += weight
        else:
            missing.append(term)
    return (covered / total if total else 1.0), tuple(missing)


def _partial(term: str, text: str) -> bool:
    """A long compound counts as covered when both its halves are there (质量奖评选 → 质量奖 … 评选)."""
    if len(term) < 4:
        return False
    middle = len(term) // 2
    return term[:middle] in text and term[middle:] in text


class _ByContainment(dict[str, tuple[str, ...]]):
    """Lookup by a question word that contains, or is contained in, a colloquial word (网店 ⊂ 开网店)."""

    def get(self, term: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:  # type: ignore[override]
        terms: list[str] = []
        for colloquial, policy in self.items():
            if colloquial in term or term in colloquial:
                terms.extend(policy)
        return tuple(terms) or default


def _idf(index: ClauseIndex, term: str) -> float:
    return _idf_cached(id(index), len(index.clauses), term, index)


@lru_cache(maxsize=20_000)
def _idf_cached(index_id: int, size: int, term: str, index: ClauseIndex) -> float:
    frequency = sum(term in c.text for c in index.clauses)
    return math.log((size + 1) / (frequency + 0.5))
