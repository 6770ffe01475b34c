"""`Generator` protocol and the extractive backend (default, no model); rag/llm.py holds the LLM backend.

Both answer only from the clauses they are given, and every statement ends with a marker [n] that
resolves to `Citation(n, clause)`; markers are numbered in order of first use.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from rag.chunk import split_sentences
from rag.departments import parse_attribution
from rag.details import NOT_ORDINAL, asked_details, stated_shape
from rag.doc_meta import dates_written
from rag.lexical import holds_term
from rag.question import PLACE, Query, query_terms
from rag.schema import Answer, Citation, Clause, Hit
from rag.shapes import citation_line, place_line

log = logging.getLogger(__name__)

NOT_FOUND_MARK = "未在已收录的文件中找到"

# A figure: digits, or a Chinese numeral with a unit ("百年老店" is no figure), as laws write them: 五年内,
# 三十日, 二倍, 三分之二; not a reference to an item or article ("前款第一项至第四项").
_FIGURE = re.compile(rf"\d|{NOT_ORDINAL}[一二三四五六七八九十百千万两]+\s*"
                     r"(万元|亿元|元|家|项|倍|个百分点|个?(月|工作日|小时)|年|日|天|周岁|次|人|名|个?部门|部委)"
                     r"|[一二三四五六七八九十百千]+分之")
_LEADING_LABEL = re.compile(r"^\s*(（[一二三四五六七八九十]{1,3}）|[一二三四五六七八九十]{1,3}、|第[^条\s]{1,8}条)\s*")
_LIST_ITEM = re.compile(r"^\s*(（[一二三四五六七八九十]{1,3}）|[一二三四五六七八九十]{1,3}、)")
# "本法所称电子商务经营者，是指…" shares many words with any question about the term, and answers only a
# question asking what the term means.
_DEFINITION = re.compile(r"本(法|条例|办法|规定|条)所称|(?:以下|下列)用语的含义")
_ASKS_DEFINITION = re.compile(r"什么是|是指|指的是|什么叫|何谓|定义|算不算|算是|属不属于|属于.{0,6}吗|包括哪些|含义")
DEFINITION_WEIGHT = 0.5
# "会怎么处罚？", "被发现会怎样？" ask what follows: a sentence stating a sanction answers, not the duty it enforces.
_ASKS_SANCTION = re.compile(r"怎么(处罚|罚|处理|处置)|会怎(样|么样)|什么(后果|处罚|责任)")
_SANCTION = re.compile(r"罚款|没收|吊销|责令|拘留|处分|追究.{0,6}责任|处以|查处|惩戒|黑名单")
SANCTION_WEIGHT = 1.5
# "政府有啥帮扶？" asks what is done: a target rate ("合格率力争达到94.8%") shares the question's words (抽检、合格)
# and states no measure.
_TARGET_RATE = re.compile(r"率(?:力争|稳定|保持|分别)?(?:达到|保持在|为|在|不低于|提高到|提升到)?\s*\d+(?:\.\d+)?\s*%")
TARGET_WEIGHT = 0.3
LISTED_ITEMS_MAX_CHARS = 160  # the items a quoted lead line announces, quoted with it up to this length
LIST_LEAD_MAX_CHARS = 160  # a longer lead line of a list keeps its first and last parts
_BIGRAM_DUPLICATE = 0.6  # sentences sharing this share of character bigrams say the same thing
_WEAK_STATEMENT = 0.5  # relative to the best sentence's score
# The best-ranked picked clause comes first when its sentence scores at least this share of the best one
# (dev splits: first citation gold, policy 0.942 → 0.948, laws 0.592 → 0.643; 0.6 gave 0.929 / 0.684).
LEAD_SHARE = 0.7
# The first-ranked clause needs only this share when the dense search ranks it first too, none when the lexical does
# as well (`_agreed_lead`; dev splits, see there).
DENSE_LEAD_SHARE = 0.4
# Figure answers quote the fragment holding the figure when a sentence is longer than this.
FIGURE_SENTENCE_MAX_CHARS = 80
_TIME_LEAD = re.compile(r"^((?:到|至|截至|截止到)?\d{4}年(?:底|前)?)[，,]")
# Department answers list clauses scoring at least this share of the best one (chosen on the dev split).
DEPARTMENT_RATIO = 0.7
# An unattributed clause scoring this many times the best attributed one answers instead.
UNATTRIBUTED_LEAD = 1.5


# Consultation notices, addresses and contact lines of a preamble or signature answer no question but one about
# the consultation itself.
BOILERPLATE = re.compile(r"邮箱|电子邮件|邮寄|地址[:：]|通讯地址|联系电话|联系人|传真|邮编|邮政编码|征求意见|意见反馈|来源[:：]"
                         r"|浏览|分享到")
# A question about the consultation itself (where to send comments, by when, the contact phone) is answered by
# those lines. "征求意见稿" names the 汕尾 draft and asks nothing about the consultation.
ASKS_CONSULTATION = re.compile(r"(交|提|反馈|报送|寄)(的)?意见|意见.{0,6}(交|提|反馈|寄|报送)|征求意见(?!稿)"
                               r"|联系(方式|电话|人)|电话|邮箱|电子邮件|地址|传真|邮编|邮寄")
MAX_SENTENCES_PER_CLAUSE = 3
# A sentence that leans on the one before it: a proviso ("但是，…除外") or a paragraph on the one before ("前款规定的…").
_LEANING = re.compile(r"\s*(?:但(?:是)?[，,]|(?:依照|依据|按照|有|对|违反)?前(?:款|两款|三款))")


class Generator(Protocol):
    name: str  # "extractive" | "llm": recorded as Answer.mode

    def answer(self, query: Query, hits: Sequence[Hit], *, partly: bool = False) -> Answer:
        """Answer `query` from `hits` only (its context holds the earlier questions of a follow-up); `partly`: the
        documents cover its topic but not the detail it asks, so quote what they say on the topic."""
        ...


def not_found_text(question: str) -> str:
    return f"{NOT_FOUND_MARK}与“{question.strip()}”直接相关的规定。"


def clause_body(clause: Clause) -> str:
    """The clause text without its leading label and its trailing department attribution."""
    text = clause.text
    attribution = parse_attribution(text) if clause.departments else None
    if attribution is not None:
        text = text[: attribution.start]
    return _LEADING_LABEL.sub("", text, count=1).strip()


def scope(clause: Clause) -> str:
    """Which level a document speaks for, for answers that quote several: 汕尾市，征求意见稿 / 国家层面."""
    parts = []
    place = _place(clause)
    parts.append(f"地方：{place}" if place else ("国家层面" if clause.issuer else ""))
    if "征求意见稿" in clause.doc_title:
        parts.append("征求意见稿")
    return "，".join(p for p in parts if p)


def is_local(clause: Clause) -> bool:
    """Issued by a city, province or county, or by no one known: listed after national documents."""
    return bool(_place(clause)) or not clause.issuer


def _place(clause: Clause) -> str:
    """The place a document's issuer or title names (汕尾市), or ""."""
    match = PLACE.search(f"{clause.issuer} {clause.doc_title}")
    return match.group(0) if match else ""


@dataclass(frozen=True)
class _Sentence:
    hit: Hit
    order: int  # position in the clause, to keep a clause's sentences in reading order
    text: str
    score: float


class CitationNumbers:
    """Numbers clauses in order of first use."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.clauses: list[Clause] = []

    def marker(self, clause: Clause) -> str:
        if clause.clause_id not in self.numbers:
            self.clauses.append(clause)
            self.numbers[clause.clause_id] = len(self.clauses)
        return f"[{self.numbers[clause.clause_id]}]"

    def as_tuple(self) -> tuple[Citation, ...]:
        return tuple(Citation(n, clause) for n, clause in enumerate(self.clauses, start=1))


class ExtractiveGenerator:
    """Composes the answer from sentences of the retrieved clauses; it invents nothing."""

    name = "extractive"

    def __init__(self, *, max_statements: int = 3, max_department_clauses: int = 3, top_hits: int = 5,
                 department_ratio: float = DEPARTMENT_RATIO) -> None:
        if not 1 <= max_statements <= 4:
            raise ValueError("max_statements must be between 1 and 4: answers stay short")
        if not 0 < department_ratio <= 1:
            raise ValueError("department_ratio must be in (0, 1]")
        self.max_statements = max_statements
        self.max_department_clauses = max_department_clauses
        self.top_hits = top_hits
        self.department_ratio = department_ratio

    def answer(self, query: Query, hits: Sequence[Hit], *, partly: bool = False) -> Answer:
        question = query.text
        if not hits:
            return Answer(question=question, text=not_found_text(question), found=False, mode=self.name,
                          outcome="not_found")
        if not query.documents:
            hits = _national_first(hits)
        # The question's words and policy terms, not the place it names.
        terms = query_terms(query.lexical_text, query.words)
        citations = CitationNumbers()
        statements: list[str] = []
        if query.intent == "department":
            statements = self._departments(hits, terms, citations, asks_lead=query.asks_lead,
                                           asks_issuer=query.asks_issuer)
            if not statements and not any(h.clause.departments for h in hits[: self.top_hits]):
                statements = ["检索到的条款没有列明负责部门，最相关的规定如下："]
        elif query.intent == "figure":
            statements = self._sentences(query, hits, terms, citations, figures_only=True)
        if not citations.clauses:
            statements += self._sentences(query, hits, terms, citations, figures_only=False,
                                          whole_measures=query.intent == "measures", topic_only=partly)
        return Answer(question=question, text="\n".join(statements), found=True,
                      citations=citations.as_tuple(), mode=self.name)

    def _departments(self, hits: Sequence[Hit], terms: list[str], citations: CitationNumbers, *,
                     asks_lead: bool = False, asks_issuer: bool = False) -> list[str]:
        """Responsible departments of the relevant top clauses, lead marked, grouped by document; the issuers when
        the question asks who issued the document."""
        if asks_issuer:
            issued = [h for h in hits[: self.top_hits] if h.clause.issuer]
            if issued:
                # The signature ("汕尾市市场监督管理局 2023年9月26日") names the issuer and says when: cite it when retrieved.
                dated = [(h.clause, signature_date(h.clause)) for h in issued]
                clause, when = next(((c, w) for c, w in dated if w), dated[0])
                return [f"《{clause.doc_title}》由{clause.issuer}{f'于{when}' if when else ''}印发。{citations.marker(clause)}"]
        weights = _term_weights(terms, [f"{h.clause.title} {h.clause.text}" for h in hits])
        # A preamble or signature names no one's duty: it never stands in for an attributed clause.
        scored_all = [(_overlap(f"{h.clause.title} {h.clause.title} {clause_body(h.clause)}", weights)
                       * _rank_decay(h.rank), h) for h in hits[: self.top_hits]
                      if h.clause.kind not in ("preamble", "closing")]
        scored = [(score, h) for score, h in scored_all if h.clause.departments]
        if not scored:
            return []
        best = max(score for score, _ in scored)
        # A clearly better clause without a bracketed attribution names its body in its sentences
        # ("市级财政和行业主管部门要…"): answer from those, not from another clause's departments.
        if max(score for score, _ in scored_all) > UNATTRIBUTED_LEAD * best:
            return []
        # Only clauses about as relevant as the best one: weakly related clauses list other departments.
        chosen = [h for score, h in scored if score >= self.department_ratio * best][: self.max_department_clauses]
        if asks_lead and any(h.clause.lead_department for h in chosen):
            chosen = [h for h in chosen if h.clause.lead_department]  # "牵头的是哪个？" is answered by a lead
        by_document: dict[str, list[Hit]] = {}
        for hit in chosen:
            by_document.setdefault(hit.clause.doc_id, []).append(hit)
        statements = []
        several = len(by_document) > 1
        for group in by_document.values():
            title = group[0].clause.doc_title
            level = f"（{scope(group[0].clause)}）" if several and scope(group[0].clause) else ""
            if len(group) == 1:
                clause = group[0].clause
                statements.append(f"根据《{title}》{level}{place_line(clause)}，"
                                  f"{_responsibility(clause, asks_lead=asks_lead)}。{citations.marker(clause)}")
            else:
                parts = [f"{place_line(h.clause)}，{_responsibility(h.clause, asks_lead=asks_lead)}"
                         f"{citations.marker(h.clause)}" for h in group]
                statements.append(f"根据《{title}》{level}：" + "；".join(parts) + "。")
        return statements

    def _sentences(self, query: Query, hits: Sequence[Hit], terms: list[str], citations: CitationNumbers, *,
                   figures_only: bool, whole_measures: bool = False, topic_only: bool = False) -> list[str]:
        """The best-scoring sentences of the top clauses, one statement per clause. A question about the
        consultation (by when, where to send comments) may say so in the situation before it asks."""
        scored = _scored_sentences(query.ask, hits, terms, figures_only=figures_only, measures=whole_measures,
                                   consultation=bool(ASKS_CONSULTATION.search(query.text)))
        ranked = sorted((s for s in scored if s.score > 0), key=lambda s: (-s.score, s.hit.rank, s.order))
        best = ranked[0].score if ranked else 0.0
        if not ranked:
            if figures_only:
                return []
            # No sentence shares a word with the question: the opening of the best clause.
            ranked = [s for s in scored if s.hit.rank == hits[0].rank][:2] or [
                _Sentence(hits[0], 0, clause_body(hits[0].clause)[:200], 1.0)]
        # A figure is one sentence; measures are often spread over a clause ("咨询问诊…技术帮扶…认证培训").
        per_clause, closeness = (2, 0.6) if figures_only else (MAX_SENTENCES_PER_CLAUSE, 0.5)
        if whole_measures:
            per_clause, closeness = MAX_SENTENCES_PER_CLAUSE + 1, 0.0  # every sentence sharing a word
        picked: dict[str, list[_Sentence]] = {}
        for candidate in ranked:
            clause_id = candidate.hit.clause.clause_id
            group = picked.get(clause_id, [])
            if (not group and len(picked) == self.max_statements) or len(group) == per_clause:
                continue
            # A new clause only when its best sentence is near the best overall: weakly related clauses stay out.
            if not group and candidate.score < _WEAK_STATEMENT * best:
                continue
            # A clause's further sentences only when they score close to its first.
            if group and candidate.score < closeness * group[0].score:
                continue
            if any(_same(candidate.text, other.text) for chosen in picked.values() for other in chosen):
                continue  # the same provision repeated in another document
            picked.setdefault(clause_id, []).append(candidate)
        groups = list(picked.values())
        if not whole_measures:  # "有啥帮扶？" is answered by the clause whose sentences name the measures
            groups = _retrieval_leads(groups, best)
        groups = _agreed_lead(groups, scored, hits, best, per_clause=per_clause, closeness=closeness,
                              max_groups=self.max_statements, dense_alone=not topic_only)
        statements = []
        for group in groups:
            clause = group[0].hit.clause
            quoted = _with_list_leads(clause, _with_antecedents(clause, [s.text for s in sorted(group, key=lambda s: s.order)]))
            body = "".join(_as_statement(text) for text in quoted)
            statements.append(f"{citation_line(clause)}：{body}{citations.marker(clause)}")
        return statements


def _with_list_leads(clause: Clause, texts: Sequence[str]) -> list[str]:
    """The quoted sentences, a list item joined to the line that opens its list.

    Laws list conditions and acts as items under a lead line that holds what they lead to: "（一）不足三家的"
    alone says nothing without "出现下列情形之一的，应予废标：", nor an offence without "…处五万元以上罚款：".
    A lead longer than `LIST_LEAD_MAX_CHARS` keeps its first and last parts.
    """
    lines = [line.strip() for line in clause_body(clause).splitlines()]
    quoted: list[str] = []
    leads_used: set[int] = set()
    has_items = any(_LIST_ITEM.match(text) for text in texts)
    for text in texts:
        if not _LIST_ITEM.match(text):
            # A piece of a lead line (its fine, say) stands in that line: the items quoted after it need its opening.
            lead = next((n for n, line in enumerate(lines) if _opens_list(line) and text in line and text != line),
                        -1) if has_items else -1
            if lead >= 0 and lead not in leads_used:
                leads_used.add(lead)
                text = _shortened_lead(lines[lead], keep=text)
            quoted.append(text)
        elif quoted and _opens_list(quoted[-1]):
            quoted[-1] += text  # its lead is quoted already, just before it
        else:
            at = next((n for n, line in enumerate(lines) if text in line), -1)
            lead = next((n for n in range(at - 1, -1, -1) if _opens_list(lines[n])), -1)
            if lead >= 0 and lead not in leads_used and not any(t in lines[lead] for t in texts):
                leads_used.add(lead)
                text = _shortened_lead(lines[lead]) + text
            quoted.append(text)
    return [_with_items(lines, text) if n + 1 == len(quoted) or not _LIST_ITEM.match(quoted[n + 1]) else text
            for n, text in enumerate(quoted)]


def _with_items(lines: Sequence[str], text: str) -> str:
    """A lead line quoted without its items, followed by them when they are short ("财产应当按照下列顺序清偿：（一）所欠
    职工工资…（二）所欠税款…"): the order or the cases are what it announces. A long list stays out."""
    if not _opens_list(text):
        return text
    at = next((n for n, line in enumerate(lines) if line.endswith(text)), -1)
    if at < 0:
        return text
    items = list(itertools.takewhile(lambda line: bool(_LIST_ITEM.match(line)), (line for line in lines[at + 1:] if line)))
    listed = "".join(items)
    return text + listed if items and len(listed) <= LISTED_ITEMS_MAX_CHARS else text


def _with_antecedents(clause: Clause, texts: Sequence[str]) -> list[str]:
    """The quoted sentences, each that leans on the sentence before it after that sentence: a proviso ("但是，…章程另有
    规定的除外") alone says only when the rule does not apply, and a caller would hear the exception as the answer;
    "前款医疗机构可以…" does not say which institutions."""
    sentences = split_sentences(clause_body(clause))
    quoted: list[str] = []
    for text in texts:
        at = sentences.index(text) if text in sentences else -1
        if _LEANING.match(text) and at > 0 and sentences[at - 1] not in texts and sentences[at - 1] not in quoted:
            quoted.append(sentences[at - 1])
        quoted.append(text)
    return quoted


def _opens_list(line: str) -> bool:
    """A lead line: it ends where its list of items begins."""
    return line.endswith(("：", ":"))


def _shortened_lead(line: str, *, keep: str = "") -> str:
    """A long lead line's first and last parts, and the part `keep` that was picked to be quoted."""
    if len(line) <= LIST_LEAD_MAX_CHARS:
        return line
    pieces = split_sentences(line)
    if len(pieces) < 3:
        return line
    middle = [keep] if keep and keep not in (pieces[0], pieces[-1]) else []
    return "……".join([pieces[0], *middle, pieces[-1]])


def _retrieval_leads(groups: list[list[_Sentence]], best: float) -> list[list[_Sentence]]:
    """The picked clauses with the best-ranked one first when its sentence scores near the best sentence.

    Word overlap picks the sentences, but the retrieval rank (dense and lexical together) is the better
    guess of which clause answers: a colloquial question shares few words with its law article, so the
    article with the most question words is often a neighbour. `LEAD_SHARE` was chosen on the dev splits.
    """
    if not groups:
        return groups
    leader = min(groups, key=lambda group: group[0].hit.rank)
    if leader is groups[0] or leader[0].score < LEAD_SHARE * best:
        return groups
    return [leader, *(group for group in groups if group is not leader)]


def _agreed_lead(groups: list[list[_Sentence]], scored: Sequence[_Sentence], hits: Sequence[Hit], best: float, *,
                 per_clause: int, closeness: float, max_groups: int, dense_alone: bool = True) -> list[list[_Sentence]]:
    """The first-ranked clause leads the answer when the dense search ranks it first too, and the lexical search as
    well or (`dense_alone`) its best sentence scores `DENSE_LEAD_SHARE` of the `best` one.

    Sentences are picked by the question's words, so a neighbour sharing more of them can outscore the clause the
    searches agree on ("我们做服装小批量定制…有没有提啥要求？" led with a brand clause naming 服装; "评审专家跟竞争对手的老板
    是亲戚，我能要求他回避吗？" with 反垄断法's 评审标准): that agreement is the better guess. Dev, first citation gold:
    policy 0.929 → 0.930, laws 0.754 → 0.775, local regulations (tune half) 0.675 → 0.705. Not the dense search alone
    in a partial answer: its match there leans on the detail the documents leave out ("“铁拳”行动有举报电话吗？"), while
    the words pick the clause on the topic (dev detail questions answered "partly", a topic clause first: 0.952 with it).
    """
    top = min(hits, key=lambda h: h.rank)
    if top.dense_rank != 1:
        return groups
    own_sentences = sorted((s for s in scored if s.hit is top and s.score > 0), key=lambda s: (-s.score, s.order))
    if not own_sentences:
        return groups  # it shares no word with the question: the sentences picked say more
    if top.lexical_rank != 1 and (not dense_alone or own_sentences[0].score < DENSE_LEAD_SHARE * best):
        return groups
    own = next((group for group in groups if group[0].hit is top), None)
    if own is not None:
        return [own, *(group for group in groups if group is not own)]
    own = [s for s in own_sentences if s.score >= closeness * own_sentences[0].score][:per_clause]
    return [own, *groups][:max_groups]


def _scored_sentences(question: str, hits: Sequence[Hit], terms: list[str], *, figures_only: bool,
                      measures: bool = False, consultation: bool = False) -> list[_Sentence]:
    """Every candidate sentence of the hits, scored by the question's words and the hit's rank; the lines of a
    consultation notice only when `consultation` (the question is about it)."""
    candidates: list[tuple[Hit, int, str]] = []
    for hit in hits:
        title = hit.clause.title.strip().rstrip("。")
        sentences = split_sentences(clause_body(hit.clause))
        if figures_only:
            sentences = _figure_candidates(sentences)
        for order, text in enumerate(sentences):
            if BOILERPLATE.search(text) and not consultation:
                continue
            if figures_only and not _FIGURE.search(text):
                continue
            if not figures_only and text.rstrip("。；") == title:
                continue  # the title is shown in the statement's heading
            candidates.append((hit, order, text))
    weights = _term_weights(terms, [text for _, _, text in candidates])
    shapes = [stated_shape(name) for name in asked_details(question)] if figures_only else []
    # A sentence holding the kind of figure asked for counts as if it matched half the question.
    bonus = 0.5 * sum(weights.values())
    scored = []
    defines = bool(_ASKS_DEFINITION.search(question))
    asks_sanction = bool(_ASKS_SANCTION.search(question))
    for hit, order, text in candidates:
        score = _sentence_score(text, hit.rank, weights)
        if not defines and _DEFINITION.search(text):
            score *= DEFINITION_WEIGHT  # repeats the question's words, answers only "什么是…"
        if asks_sanction and _SANCTION.search(text):
            score *= SANCTION_WEIGHT
        if measures and _TARGET_RATE.search(text):
            score *= TARGET_WEIGHT
        if any(shape.search(text) for shape in shapes):
            score += bonus * _rank_decay(hit.rank)
        scored.append(_Sentence(hit, order, text, score))
    return scored


def _figure_candidates(sentences: Sequence[str]) -> list[str]:
    """Sentences, with lists of targets cut into their figures; a target year carries to later sentences."""
    candidates: list[str] = []
    year = ""
    for sentence in sentences:
        lead = _TIME_LEAD.match(sentence)
        year = lead.group(1) if lead else year
        candidates += figure_fragments(sentence, year=year)
    return candidates


def figure_fragments(sentence: str, *, year: str = "") -> list[str]:
    """The parts of a long list of targets that hold a figure, each led by the year they apply to.

    Targets come as long lists ("到2025年，…，食品抽检合格率达到98.5%以上，…"): a hotline answer
    should quote the one figure asked for. Other sentences stay whole: their commas separate a
    condition from its consequence ("对主导制修订…的企业，…给予…奖励"), which must not be cut apart.
    """
    lead_match = _TIME_LEAD.match(sentence)
    lead = lead_match.group(1) if lead_match else year
    if len(sentence) <= FIGURE_SENTENCE_MAX_CHARS or not lead:
        return [sentence]
    fragments = []
    for part in re.split(r"(?<=[，,])", sentence):
        part = part.strip().rstrip("，,。；")
        if part == lead or not _FIGURE.search(part):
            continue
        fragments.append(f"{lead}，……{part}" if lead and not part.startswith(lead) else part)
    return fragments or [sentence]


def _national_first(hits: Sequence[Hit]) -> list[Hit]:
    """Among the top hits, a national document's clauses before a local one's; rank order otherwise."""
    return sorted(hits, key=lambda h: (h.rank > 3 or is_local(h.clause), h.rank))


def signature_date(clause: Clause) -> str:
    """The document's date as its own text writes it ("2014年4月21日"), when `clause` holds it; "" otherwise (a date
    known only from the manifest, such as a repost's, is said by no clause)."""
    return dates_written(clause.text).get(clause.date, "") if clause.date else ""


def _responsibility(clause: Clause, *, asks_lead: bool = False) -> str:
    lead = clause.lead_department
    others = [d for d in clause.departments if d != lead]
    if asks_lead and not lead:
        return f"未明确牵头部门，由{'、'.join(clause.departments)}按职责分工负责"
    if lead and others:
        return f"由{lead}牵头，{'、'.join(others)}按职责分工负责"
    if lead:
        return f"由{lead}牵头负责"
    return f"由{'、'.join(clause.departments)}按职责分工负责"


def _as_statement(sentence: str) -> str:
    """A sentence ending in 。 so that the marker can sit just before it."""
    sentence = sentence.rstrip("；;，,：:")  # a list's lead quoted without its items ends here too
    return sentence + ("" if sentence.endswith(("。", "！", "？")) else "。")


def _term_weights(terms: Sequence[str], texts: Sequence[str]) -> dict[str, float]:
    """Local IDF: a term found in most candidate texts says little about which one answers."""
    total = len(texts)
    weights = {}
    for term in terms:
        frequency = sum(holds_term(text, term) for text in texts)
        if frequency:
            weights[term] = math.log((total + 1) / (frequency + 0.5)) * min(len(term), 4) / 2
    return weights


def _overlap(text: str, weights: dict[str, float]) -> float:
    return sum(weight for term, weight in weights.items() if holds_term(text, term))


def _sentence_score(sentence: str, rank: int, weights: dict[str, float]) -> float:
    """Overlap with the question, favouring better-ranked clauses and sentences that are to the point."""
    return _overlap(sentence, weights) * _rank_decay(rank) / math.sqrt(max(1.0, len(sentence) / 80))


def _rank_decay(rank: int) -> float:
    return 1.0 / (1.0 + 0.15 * (rank - 1))


def _bigrams(text: str) -> set[str]:
    chars = re.sub(r"[^\u4e00-\u9fff0-9A-Za-z]", "", text)
    return {chars[i : i + 2] for i in range(len(chars) - 1)}


def _same(first: str, second: str) -> bool:
    a, b = _bigrams(first), _bigrams(second)
    return bool(a and b) and len(a & b) / min(len(a), len(b)) >= _BIGRAM_DUPLICATE
