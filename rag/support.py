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

from rag.clause_store import ClauseStore
from rag.question import Query
from rag.schema import Clause, Hit
from rag.vocabulary import colloquial_lexicon

TOP_FOR_SUPPORT = 3
MIN_CLAUSES_FOR_MARGIN = 20  # in a smaller index (one uploaded document) the mean cosine is no baseline
SPECIFIC_SHARE = 0.1  # a word in more than this share of the clauses is too common to place a detail

# What a detail question asks for, and what a clause stating it looks like. A question may ask several.
DETAILS: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = (
    ("金额", re.compile(r"多少钱|奖金|(奖励|补贴|资助|补|给|奖)多少|金额|额度|多少(经费|资金|钱)"
                      r"|(什么|啥|哪些)(奖励|补贴|资助)|(奖励|补贴)(标准|是什么)"),
     re.compile(r"\d\s*(万|亿)?元|[一二三四五六七八九十百千]+\s*(万|亿)?元")),
    ("收费", re.compile(r"收费|收不收|要钱|免费|费用|交钱|花钱"), re.compile(r"免费|收费|费用|无偿|不收取")),
    ("日期", re.compile(r"几月|几号|哪天|哪一天|日期"), re.compile(r"\d{1,2}\s*月|[一二三四五六七八九十]{1,2}月")),
    # When something happens (a year will do) and how long one has (a year named is no period).
    ("时间", re.compile(r"截止|什么时候|何时|哪一?年"), re.compile(r"\d{4}\s*年|年底|年内|年前|截至|之前")),
    ("期限", re.compile(r"期限|多久|多长时间|周期|几年一次|多少天|几天|到账|有效期"),
     re.compile(r"(?<![\d年])\d{1,3}\s*(个)?(月|日|天|年|工作日|小时)|[一二三四五六七八九十两]+\s*(个)?(月|天|日|年|工作日)"
                r"|每(年|季度|月|两年)|定期|届满")),
    ("网址", re.compile(r"网址|网站|官网|链接|在哪(里)?查|哪个平台|哪里能查"),
     re.compile(r"https?://|www\.|\.gov\.cn|\.com|网址")),
    ("电话", re.compile(r"电话|热线|手机号|号码|联系方式"), re.compile(r"\d{3,4}-?\d{7,8}|1\d{10}|12345|热线")),
    ("地点", re.compile(r"在哪(里|儿)?(开|办|举办|举行)|什么地方|地点"), re.compile(r"在[\u4e00-\u9fff]{2,8}(举办|举行|召开)|地点")),
    ("比例或数量", re.compile(r"比例|百分之|多少家|多少个|多少项|多少名|几家|几个|几项|合格率|达到多少"),
     re.compile(r"\d|[一二三四五六七八九十百千]+(家|个|项|名|批)|百分之")),
    ("申请程序", re.compile(r"材料|流程|手续|怎么(申请|申报|报|办)|如何(申请|申报|办理)|去哪(里)?(申请|报)|自动发|自己(去)?报"),
     re.compile(r"程序|流程|材料|提交|办理|申请表|受理")),
    ("资格条件", re.compile(r"资格|证书|条件|门槛|要求是什么|够不够格"), re.compile(r"资格|条件|具备|取得.{0,8}(证|资质)")),
    # Which items a named set holds ("25个重点产业链具体是哪些？"): stated only by a list of them.
    ("具体名单", re.compile(r"具体(是|有)?哪些|都有哪些|分别是(哪些|什么)|名单"), re.compile(r"(、[^、。；，]{1,16}){2,}")),
    ("人员", re.compile(r"(组长|负责人|主任|局长)是谁|谁是(组长|负责人)"), re.compile(r"(组长|负责人|主任|局长)(由|为|是)")),
)


@dataclass(frozen=True)
class SupportThresholds:
    """An answer needs margin + coverage_weight × coverage − unknown_weight × unknown ≥ min_support.

    Calibrated on the eval dev splits (bench/calibrate_support.py); the defaults live in config.Settings.
    One weighted sum, because each signal alone fails differently: colloquial questions share few words
    with their clause (low coverage, good margin), and off-topic questions can still reuse policy words.
    """

    min_support: float
    coverage_weight: float
    unknown_weight: float

    def score(self, margin: float | None, coverage: float, unknown: float) -> float:
        """Without a cosine (lexical search) the words decide alone, on the same scale."""
        base = margin if margin is not None else self.min_support - self.coverage_weight * 0.5
        return base + self.coverage_weight * coverage - self.unknown_weight * unknown


@dataclass(frozen=True)
class Support:
    outcome: str  # "answered" | "partly" | "not_found"
    margin: float | None  # None when the question was not embedded (lexical mode)
    coverage: float
    unknown: float  # share of the question's content words that no indexed clause contains
    missing_terms: tuple[str, ...]  # content words no top clause contains
    asked_details: tuple[str, ...]  # what the question asks for, e.g. ("金额",)
    unstated: tuple[str, ...]  # the asked details no top clause states
    reasons: tuple[str, ...]  # why the answer was declined or partial, for the user


def assess_support(query: Query, hits: Sequence[Hit], index: ClauseStore, *, thresholds: SupportThresholds,
                   typical_similarity: float | None) -> Support:
    """Decide whether `hits` answer `query`, partly answer it, or do not.

    `typical_similarity` is the question's mean cosine to the index (`Retriever.typical_similarity`).
    """
    top = hits[:TOP_FOR_SUPPORT]
    similarities = [h.similarity for h in top if h.similarity is not None]
    margin = max(similarities) - typical_similarity if similarities and typical_similarity is not None else None
    if index.manifest.clauses < MIN_CLAUSES_FOR_MARGIN:
        margin = None  # the best clause is much of the mean it would be measured against: the words decide
    coverage, missing = term_coverage(query, [h.clause for h in top], index)
    unknown, unknown_terms = unknown_share(query, index)
    # A department answer is itself the detail asked for ("哪几个部门" is no count to look for).
    details = asked_details(query.text) if query.intent != "department" else ()
    reasons: list[str] = []
    if not top:
        return Support("not_found", margin, 0.0, 1.0, missing, details, details, ("没有检索到任何条款。",))
    if thresholds.score(margin, coverage, unknown) < thresholds.min_support:
        if unknown_terms:
            reasons.append(f"已收录的文件中没有出现“{'、'.join(unknown_terms[:4])}”")
        elif missing:
            reasons.append(f"最相关的条款中没有出现“{'、'.join(missing[:4])}”")
        reasons.append("最接近的条款与问题的意思相差较远")
        return Support("not_found", margin, coverage, unknown, missing, details, details, tuple(reasons))
    terms = specific_terms(query.terms, index)
    unstated = tuple(d for d in details if not detail_stated(d, [h.clause for h in top], terms))
    if unstated:
        return Support("partly", margin, coverage, unknown, missing, details, unstated,
                       (f"相关条款没有写明{'、'.join(unstated)}",))
    return Support("answered", margin, coverage, unknown, missing, details, (), ())


def asked_details(text: str) -> tuple[str, ...]:
    """The kinds of detail a question asks for ("金额", "网址", …), in DETAILS order."""
    return tuple(name for name, asked, _ in DETAILS if asked.search(text))


def detail_stated(detail: str, clauses: Sequence[Clause], terms: Sequence[str]) -> bool:
    """Whether a sentence of `clauses` holds the kind of detail asked for next to one of `terms`.

    The same sentence, because a clause about 质量奖 may hold an amount that belongs to another measure.
    """
    shape = next(stated for name, _, stated in DETAILS if name == detail)
    for clause in clauses:
        for sentence in re.split(r"(?<=[。；！？\n])", clause.text):
            if shape.search(sentence) and (not terms or any(t in sentence for t in terms)):
                return True
    return False


def specific_terms(terms: Sequence[str], index: ClauseStore) -> tuple[str, ...]:
    """The question's topic words that few clauses contain: an amount beside 行动 (in every clause of an
    action plan) says nothing about the 经费 asked for, and the words asking for the detail (多久, 万元,
    资格证书) cannot place it. All topic words when none is rare."""
    topic = [t for t in terms if not any(asked.search(t) or stated.search(t) for _, asked, stated in DETAILS)]
    limit = max(3, int(SPECIFIC_SHARE * index.manifest.clauses))
    rare = tuple(t for t in topic if index.clauses_containing(t) <= limit)
    return rare or tuple(topic)


def term_coverage(query: Query, clauses: Sequence[Clause], index: ClauseStore) -> tuple[float, tuple[str, ...]]:
    """IDF-weighted share of the question's content words found in `clauses`, and the words missing."""
    if not query.terms:
        return 1.0, ()
    text = " ".join(f"{c.doc_title} {c.chapter} {c.text}" for c in clauses)
    alternatives = stand_ins(query)
    total = covered = 0.0
    missing = []
    for term in query.terms:
        weight = _idf(index, term) * min(len(term), 4)
        total += weight
        if term in text or any(alt in text for alt in alternatives[term]) or _partial(term, text):
            covered += weight
        else:
            missing.append(term)
    return (covered / total if total else 1.0), tuple(missing)


def unknown_share(query: Query, index: ClauseStore) -> tuple[float, tuple[str, ...]]:
    """Length-weighted share of the question's content words that no clause contains (nor a policy term
    standing in for them), and those words: 增值税, 起征点 in a corpus of quality policies."""
    if not query.terms:
        return 0.0, ()
    alternatives = stand_ins(query)
    unknown = [t for t in query.terms if index.clauses_containing(t) == 0
               and not any(index.clauses_containing(a) for a in alternatives[t])]
    total = sum(min(len(t), 4) for t in query.terms)
    return sum(min(len(t), 4) for t in unknown) / total, tuple(unknown)


def _partial(term: str, text: str) -> bool:
    """A long compound counts as covered when both its halves are there (质量奖评选 → 质量奖 … 评选)."""
    if len(term) < 4:
        return False
    middle = len(term) // 2
    return term[:middle] in text and term[middle:] in text


def stand_ins(query: Query) -> dict[str, tuple[str, ...]]:
    """For each content word, the policy terms of the colloquial words of the question that contain it or
    that it contains (网店 ⊂ 开网店): a clause holding one of them covers the word."""
    colloquial = [(word, terms) for word, terms in colloquial_lexicon() if word in query.search_text]
    return {term: tuple(t for word, terms in colloquial if word in term or term in word for t in terms)
            for term in query.terms}


def _idf(index: ClauseStore, term: str) -> float:
    return math.log((index.manifest.clauses + 1) / (index.clauses_containing(term) + 0.5))
