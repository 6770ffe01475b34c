"""One analysis of the question, done once: the `Query` that retrieval, the relevance decision and the answer share.

Normalise (width, spaces, traditional → simplified), find the intent, the content words, the policy terms
for colloquial words, the documents the question names and, for an elliptical follow-up, the earlier
questions it leans on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import cn2an

from rag.chunk import CN_DIGITS, chinese_number
from rag.clean import is_traditional, normalize_width, to_simplified
from rag.details import PHRASE, asked_details, asks
from rag.errors import QueryError
from rag.lexical import shared_tokenizer
from rag.vocabulary import (
    ASKING,
    ASKING_NOUNS,
    GENERIC_WORDS,
    INTENT_WORDS,
    colloquial_in,
    is_content_word,
    policy_terms_for,
)

if TYPE_CHECKING:
    from rag.clause_store import DocumentEntry

DEPARTMENT_QUESTION = re.compile(
    r"(哪些|哪个|哪几个|什么|哪一个)(部门|单位|部委|机构|局|委|厅)|谁(来)?(负责|牵头|管|主管|跟踪|督促|组织|建立|推动)"
    r"|由谁|归谁|牵头的|牵头部门|牵头单位|负责部门|主管部门|责任部门|联合(印)?发|谁(印发|发布|下发|出台|发)的"
)
# "出了问题谁负责？" asks who is liable (联合体各方承担连带责任), not which department is in charge.
_LIABILITY_QUESTION = re.compile(r"(出了?|发生)[^，。？！?]{0,6}(问题|事故|事)[^。？！?]{0,6}谁(来)?(负责|担责|承担|赔)")
DEPARTMENT_WORDS = re.compile(r"牵头|负责|部门|单位|分工|职责|主管")
LEAD_QUESTION = re.compile(r"牵头|主要负责|谁(来)?主管|主管部门")
# Who issued the document: the issuing verb closes its phrase ("是哪几个部门联合发的？", "谁印发的"), unlike a task that
# issues something ("发布节能产品认证管理办法，哪个部门牵头？" asks who leads the task).
ISSUER_QUESTION = re.compile(r"(?:联合|共同)?(?:印发|发布|发文|下发|出台|发)(?:的|了)?(?:文件|文)?(?:吗|呢)?(?=[，。？！?!,；;\s]|$)")
FIGURE_QUESTION = re.compile(
    r"多少|几(个|家|项|年|天|次|倍|成)|哪(一)?年|哪(一)?天|何时|什么时候|截止|期限|日期|比例|合格率|符合率|优良率"
    r"|目标|金额|奖金|额度|最多|最高|最低|不低于|不少于|文号"
)
# Opening or closing words of an elliptical follow-up: "那牵头的是哪个部门？", "汕尾的呢？", "具体奖励多少？".
# "有哪些支持？", "政府有啥帮扶？", "怎么推动…": the answer is a set of measures, often a whole clause.
MEASURES_QUESTION = re.compile(r"(哪些|什么|啥|哪方面)(支持|措施|政策|帮扶|扶持|鼓励|举措|安排|要求|服务|渠道)"
                               r"|怎么(推动|推进|支持|帮|扶持|做|搞|安排|规定)|如何(推动|推进|支持|开展)")
_FOLLOW_UP = re.compile(r"^(那|那么|那个|还有|另外|此外|其中|具体|这个|这些|这项|这|该|它|其|同样|再|又|以及|分别)|呢$")
_REFERRING = ("这项", "这个", "这些", "上述", "该项", "该条", "其中", "它们", "这方面", "此项", "前面", "刚才")
# A city, province or county name: 汕尾市 (not 市场), 广东省; group 1 is the bare name.
PLACE = re.compile(r"([\u4e00-\u9fff]{2,3}?)(?:市(?!场)|省|县|自治区)")
_TITLE_OPENINGS = re.compile(r"^(?:关于|印发|转发|《)+")  # a notice's title says what it does before any place
# A free-trade zone's regulation names its province in brackets (中国（山东）自由贸易试验区条例), a special economic zone's
# its city (深圳经济特区社会信用条例), and a province-level title may drop 市/省 (北京国际科技创新中心建设条例).
_TITLE_PLACE = re.compile(r"中国[（(]([\u4e00-\u9fff]{2,3})[）)]|([\u4e00-\u9fff]{2,3}?)经济特区"
                          r"|(北京|天津|上海|重庆|河北|山西|内蒙古|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南"
                          r"|广东|广西|海南|四川|贵州|云南|西藏|陕西|甘肃|青海|宁夏|新疆)")
# Words that frame a question rather than name its topic: years, places and levels (省级), kinds of document.
_FRAME_WORD = re.compile(r"\d|计划|纲要|意见|通知|方案|办法|条例|决定|规定|文件|法$|[市省县区级]$|^(本|全|地方)|层面")
# "X呢？" asks the earlier question again about X; "申报要满足什么条件？" asks something more about the same topic.
_SAME_QUESTION_ABOUT = re.compile(r"呢[？?。!！\s]*$")
# A follow-up asking for the national level instead of the place the earlier question named.
_NATIONAL = re.compile(r"国家层面|中央层面|(?<![哪各外别他些个方])国家的")  # not "哪些国家的标准": countries
# The city's own documents ("市里有没有奖励？"), not a supermarket's (超市里).
_LOCAL = re.compile(r"(?<![超城都门夜])市[里裡]|本市|我们市")
NUMBER = re.compile(r"\d+(?:\.\d+)?")  # a figure in digits, read whole: 96333, 2.5
HAS_CONTENT = re.compile(r"[0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff]")
MAX_FOLLOW_UP_TURNS = 3
EMPTY_QUESTION = "问题是空的：请输入问题或关键词，例如“哪些部门负责质量基础设施一站式服务？”"
NOT_UTF8_QUESTION = "问题不是有效的 UTF-8 文本：请检查终端或文件的编码"
NO_TOPIC_QUESTION = ("问题里只有问法，没有问的是哪件事：请补上事项，例如“哪些部门负责质量基础设施一站式服务？”"
                     "（接着上一个问题追问时，请在同一对话里提问）")


@dataclass(frozen=True)
class Query:
    """A question as every later stage sees it."""

    raw: str  # as the user typed it
    text: str  # normalised: simplified script, half-width, single spaces
    traditional: bool  # asked in traditional characters: answer in them
    intent: str  # "department" | "figure" | "measures" | "general"
    asks_lead: bool  # a department question about the lead department (牵头)
    terms: tuple[str, ...]  # content words of the question and its context
    expansions: tuple[str, ...]  # policy terms for its colloquial words (山寨 → 假冒伪劣)
    documents: tuple[str, ...] = ()  # doc ids the question (or its context) names
    context: tuple[str, ...] = ()  # earlier questions an elliptical follow-up leans on, oldest first
    naming: tuple[str, ...] = ()  # the words that named those documents (汕尾, a title, a document number)
    words: tuple[str, ...] = ()  # the index's words that every stage keeps whole when it cuts the question

    @property
    def ask(self) -> str:
        """The part of the question that asks (see `asking_part`)."""
        return asking_part(self.text)

    @cached_property
    def focus(self) -> tuple[str, ...]:
        """What the question asks about by name: 主题口号 of "主题口号是什么？" (see `asked_focus`). Read only by the
        answer decision, so a search never pays for it."""
        return asked_focus(self.text)

    @cached_property
    def asks_issuer(self) -> bool:
        """Whether it asks who issued the document (ISSUER_QUESTION), which the issuer line answers."""
        return bool(ISSUER_QUESTION.search(self.text))

    @cached_property
    def numbers(self) -> tuple[str, ...]:
        """The figures the question gives itself (96333 of "打了96333，多少分钟能赶到？", 18 of "18部门"): a sentence
        repeating one states nothing it asks. Read only by the answer decision."""
        return tuple(NUMBER.findall(self.text))

    @cached_property
    def member(self) -> tuple[str, ...]:
        """The words of the thing a membership question asks about (see `asked_member`). Read only by the answer
        decision."""
        return asked_member(self.text)

    @cached_property
    def choices(self) -> tuple[tuple[str, ...], ...]:
        """The alternatives an either-or question offers, each as its own content words (see `asked_choices`). Read
        only by the answer decision."""
        return asked_choices(self.text)

    @cached_property
    def detail_ask(self) -> str:
        """Where the details asked for are read: the asking part, or for "汕尾的呢？" the earlier questions' (a
        department follow-up, "那牵头的是哪个部门？", asks for the department alone)."""
        if not asked_details(self.ask) and self.context and self.intent != "department":
            return " ".join(asking_part(earlier) for earlier in self.context)
        return self.ask

    @cached_property
    def details(self) -> tuple[str, ...]:
        """The kinds of detail asked for ("金额", "网址", …, see rag.details). A department answer is itself the count
        asked for ("哪几个部门" is no count to look for, "都有哪些部门在管" no list), not the deadline asked beside it ("报给哪个部门、几天内报")."""
        return tuple(d for d in asked_details(self.detail_ask, self.text)
                     if self.intent != "department" or d not in ("数量", "具体名称", "具体名单"))

    @property
    def search_text(self) -> str:
        """What is embedded: the question with the earlier questions it leans on."""
        return " ".join((*self.context, self.text))

    @property
    def lexical_text(self) -> str:
        """What BM25 matches: the search text plus the policy terms of its colloquial words.

        Words that named a document are left out: every clause of that document repeats its place name,
        so they would rank the clauses that say 汕尾市 most often, not the ones that answer.
        """
        text = self.search_text
        for word in self.naming:
            text = text.replace(word, " ")
        if self.intent == "department":
            # Every attributed clause says "…牵头，…按职责分工负责": those words pick no clause.
            text = DEPARTMENT_WORDS.sub(" ", text)
        return " ".join((text, *self.expansions))


def check_question(text: object) -> str:
    """A question is text with at least one letter, digit or CJK character: "？？？" is as empty as "   "."""
    if not isinstance(text, str):
        raise QueryError(f"问题必须是文本，而不是 {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes from argv arrive as lone surrogates
        raise QueryError(NOT_UTF8_QUESTION) from None
    if not HAS_CONTENT.search(text):
        raise QueryError(EMPTY_QUESTION)
    return text


def normalize_query(query: str, *, max_chars: int) -> str:
    """Validate a query and bring it to the index's script and width (traditional → simplified)."""
    check_question(query)
    if len(query) > max_chars:
        raise QueryError(f"问题太长（{len(query)} 字，上限 {max_chars} 字）：请只保留想问的部分")
    return re.sub(r"\s+", " ", normalize_width(to_simplified(query.strip())))


def analyze_question(question: str, *, max_chars: int = 2_000, history: Sequence[str] = (),
                     documents: Iterable[DocumentEntry] = (), words: Sequence[str] = ()) -> Query:
    """The `Query` for `question`; `history` holds the earlier questions of the conversation, oldest first;
    `words` (the index's `ClauseStore.words`) stay whole among its terms."""
    text = normalize_query(question, max_chars=max_chars)
    context = tuple(follow_up_context(text, [q for q in history if isinstance(q, str) and q.strip()]))
    documents = tuple(documents)
    named, naming = document_mentions(text, documents)
    # The earlier questions' document names: kept in a topic switch's frame, and used when this one names none.
    context_named, context_naming = document_mentions(" ".join(context), documents) if context else ((), ())
    if context and _SAME_QUESTION_ABOUT.search(text) and new_topic_terms(text, context, naming):
        context = tuple(question_frame(earlier, text, keep=context_naming) for earlier in context)
    asks_national = not named and bool(_NATIONAL.search(text))
    asks_local = not named and bool(_LOCAL.search(text))  # 国家层面 wins when both are said
    if asks_national and context_naming:
        # "那国家层面呢？" after a question on 汕尾: the same question, without the place or document.
        context = tuple(_without(earlier, context_naming) for earlier in context)
        context_named, context_naming = (), ()
    intent = question_intent(text)
    if intent in ("general", "measures") and context and question_intent(" ".join(context)) != "general":
        intent = question_intent(" ".join(context))  # "汕尾的呢？" asks what the previous question asked
    full = " ".join((*context, text))
    if not named:
        named, naming = context_named, context_naming
    if asks_national:
        named = national_documents(documents)  # "国家层面…": the national documents, in a mixed library
    elif asks_local:
        named = local_documents(documents)
    terms = tuple(t for t in content_terms(full, words) if not any(t in word for word in naming))
    expansions = policy_terms_for(full)
    if not (terms or expansions or named or context) and ASKING.search(text):
        # "谁负责？", "多少钱？" with nothing before them: any clause would be a guess, so ask what it is about.
        raise QueryError(NO_TOPIC_QUESTION)
    return Query(raw=question, text=text, traditional=is_traditional(question), intent=intent,
                 asks_lead=intent == "department" and bool(LEAD_QUESTION.search(text)),
                 terms=terms, expansions=expansions, documents=named, context=context, naming=naming,
                 words=tuple(words))


def asking_part(text: str) -> str:
    """`text` without the situation each of its questions describes before the clause that asks: "这样违法吗？" of
    "本地几家同行约好一起涨价，这样违法吗？", and "服务这一行有没有统一的质量标准？" of "我开了几家连锁洗衣店，服务这一行有没有
    统一的质量标准？" before a second question. A sentence whose closing clause asks nothing stays whole ("…有几家，请列出").
    Beside a sentence ending in "？", one ending in "。" tells, unless it requests ("请列出。"): "领导总说要把品牌值多少钱评出
    个数来。" asks no amount.
    In written words, the one place every reader of the ask gets them: "啥时候" asks as "什么时候" does, "咋申请" as
    "怎么申请"."""
    text = text.replace("啥", "什么").replace("咋", "怎么")  # said aloud
    sentences = re.findall(r"[^？?！!。]+[？?！!。]*", text)
    if any(sentence.rstrip().endswith(("？", "?")) for sentence in sentences):
        sentences = [sentence for sentence in sentences
                     if not sentence.rstrip().endswith("。") or _REQUESTING.search(sentence)]
    return "".join(_asking_clause(sentence) for sentence in sentences) if sentences else text


_REQUESTING = re.compile(r"请|麻烦|帮(我|忙)|告诉")
# A closing clause that only asks leave ("…印到产品包装上去宣传，行不行？") or whether a figure is set down ("…合格率要提到
# 多少，有具体数吗？"): what it asks about is the clause before. Not "有没有说法？": that asks for any rule on the situation.
_BARE_LEAVE = re.compile(r"\s*(行不行|可不可以|可以吗|行吗|能行吗"
                         r"|(有没有|有)(具体|明确|准确|确切)?的?(数|数字|准数|定数)(吗|没有)?)[？?!！\s]*")


def _asking_clause(sentence: str) -> str:
    # Before the clause that asks, a question often describes the situation ("本地几家同行约好一起涨价，这样违法吗？",
    # "我们产品有几个关键部件老依赖进口，…，国家有什么说法？"): a count or an amount there is not what is asked.
    clauses = re.split(r"(?<=[，,；;])", sentence)
    if len(clauses) < 2 or not ASKING.search(clauses[-1]):
        return sentence
    if _BARE_LEAVE.fullmatch(clauses[-1]) or (_ASKS_ITSELF.search(clauses[-2]) and not _POINTS_BACK.match(clauses[-1])):
        return "".join(clauses[-2:])
    return clauses[-1]


# A clause before the last that asks by itself: its question word closes it ("今年什么时候开幕，在哪个场馆办？"). Not 几,
# which counts in the situation told as often as it asks ("要树几个典型出来，有这回事吗？").
_ASKS_ITSELF = re.compile(r"(什么时候|何时|多少|哪(个|里|儿|天|年|家)|谁)[^，,；;]{0,4}[，,；;]$")
_POINTS_BACK = re.compile(r"\s*(这样|这|那样|那)")  # "…达到多少才让进，这样合理吗？" judges what was told


# "主题口号是什么", "对学历有什么要求": the words just before these name what is asked, unless they only measure ("这一块
# 有什么动作"); "要具备什么资质才…": the words just after, when the phrase ends there — not a qualifier of what follows
# ("有什么硬性规定" asks for 规定, "什么专门的工程" for 工程) nor a subject with its verb ("哪几个产业打出…").
_NAMED_BEFORE = re.compile(r"(?:是|叫|有|指)(?:什么|哪些|哪几|哪个|哪家|哪位|哪种|谁)")
_NAMED_AFTER = re.compile(r"什么(?!样)|哪些|哪个|哪家|哪位|哪种|哪类|哪几[个家种类项条]")
_PHRASE_ENDS = re.compile(r"^([，。？！、；：,.?!;:\s]|吗|呢|吧|啊|呀|才|就|会|能|可以|要|是|也|都|还)")
_FOCUS_CHARS = 8  # how far from the question word the words asked about may reach
_FOCUS_SKIPPED = frozenset("具体 到底 究竟 都 又 主要 一般 分别".split())
_POINTING = frozenset("这那哪几每各")  # 这几项, 每项: which ones, not what
_LINKING = frozenset("对的在把给跟和与及为让被从向于")  # a guessed piece holding one joins two words: 官对 of 质量官对学历


def asked_focus(text: str) -> tuple[str, ...]:
    """The words a question asks about by name, beside its question word: "主题口号" of "2014年全国“质量月”活动定的
    主题口号是什么？", "学历" of "对学历有什么要求？", "资质" of "要具备什么资质才会被采信？". Only content words that
    name a thing (not 说法, 名字, 态度, 支持: see vocabulary.ASKING_NOUNS): "有什么支持" names nothing, nor does
    "什么样的产品" (a kind) or "这一块有什么动作"."""
    ask = asking_part(text)
    found: list[str] = []
    for match in _NAMED_BEFORE.finditer(ask):
        pieces = shared_tokenizer().segment(ask[max(0, match.start() - _FOCUS_CHARS):match.start()])
        run, _ = _naming_run(reversed(pieces))
        if not run[-1:] or not run[-1].startswith("一"):  # 这一块, 每一档: a measure, pointing at the topic
            found.append("".join(reversed(run)))
    for match in _NAMED_AFTER.finditer(ask):
        run, after = _naming_run(shared_tokenizer().segment(ask[match.end():]))
        if (sum(map(len, run)) <= _FOCUS_CHARS and (not after or _PHRASE_ENDS.match(after))
                and not any(_is_no_thing(piece[-k:]) for piece in run[-1:] for k in (2, 3))):
            found.append("".join(run))
    return tuple(dict.fromkeys(f for f in found if f))


# "个体户算不算服务对象？", "港资控股的公司，算不算民营企业？": whether a thing belongs to a group the documents name. Not
# "算不算数" (whether it counts at all).
_MEMBERSHIP = re.compile(r"算不算(?!数)|属不属于|属于不属于|是不是属于|在不在")


def asked_member(text: str) -> tuple[str, ...]:
    """The content words of the thing a membership question asks about: 个体户 of "个体户算不算服务对象？"; for "我们是港资
    控股、在内地注册的公司，算不算民营企业？" the phrase before, which describes it. () when it asks none, or only of "这"
    ("这算不算传销？" asks for a judgement of what was told, not whether a group includes it); "这种算不算专利转化" asks
    about what the phrase before describes. A figure (the 40 of "我40岁…算不算扶持的青年？") is a value the group's rule is
    read against ("三十五周岁以下"), not a word a clause must repeat."""
    phrases = PHRASE.findall(text)
    for n, phrase in enumerate(phrases):
        found = _MEMBERSHIP.search(phrase)
        if not found:
            continue
        before = phrase[:found.start()]
        # "这种算不算…", "名单在哪看？我们在不在": what the phrase before names is what is asked about.
        if re.fullmatch(r"\s*(这|那|这样|那样|这种|那种|这个|那个|我们|我|咱们|我家)?(也|就|还|都)?\s*", before):
            bare_this = bool(before.strip()) and re.fullmatch(r"\s*(这|那)?(也|就|还|都)?\s*", before)  # not 这种, 这个
            if bare_this or n == 0:
                return ()
            before = phrases[n - 1]
        return tuple(t for t in content_terms(before) if t not in GENERIC_WORDS and not NUMBER.fullmatch(t))
    return ()


# "是要项目经理签，还是公司法人来签？": the phrase before 还是 (after its 是) and the one after it.
_EITHER_OR = re.compile(r"([^，。？！?!；;、]{1,24})[，,]?\s*还是([^，。？！?!；;、]{1,24})")


def asked_choices(text: str) -> tuple[tuple[str, ...], ...]:
    """The alternatives of an either-or question, each as the content words only it holds: (项目经理,) and (公司法人,)
    of "是要项目经理签，还是公司法人来签？" (签 is in both). () when it offers none, or an alternative has no word of
    its own ("是自动发还是要自己去报" names no thing either way), or one names no thing at all: "是只图眼下能用，还是
    也往长远走", "是多搞还是少搞" ask which way a measure goes, which the clause says in its own words."""
    match = _EITHER_OR.search(text)
    if not match:
        return ()
    sides = [content_terms(match.group(1).split("是")[-1]), content_terms(match.group(2))]
    shared = set(sides[0]) & set(sides[1])
    choices = tuple(tuple(t for t in side if t not in shared) for side in sides)
    if not all(choices):  # before any tagging: the tag table loads at its first use
        return ()
    named = all(any(shared_tokenizer().names_a_thing(word) for word in choice) for choice in choices)
    return choices if named else ()


def _is_no_thing(word: str) -> bool:
    """A word that names no particular thing (规定, 政策, 企业, 态度): what follows a qualifier, or ends a compound
    (硬性规定)."""
    return word in INTENT_WORDS or word in GENERIC_WORDS or word in ASKING_NOUNS


def _naming_run(pieces: Iterable[str]) -> tuple[list[str], str]:
    """The content words at the start of `pieces` (read away from the question word), adverbs skipped, and the
    piece that ended them ("" at the end); a guessed piece ending in a linking character ends the run."""
    run: list[str] = []
    for piece in pieces:
        if not run and piece in _FOCUS_SKIPPED:
            continue
        linked = piece[-1] in _LINKING and not shared_tokenizer().knows(piece)
        if not is_content_word(piece) or piece in ASKING_NOUNS or piece[0] in _POINTING or (run and linked):
            return run, piece
        run.append(piece)
    return run, ""


def question_intent(text: str) -> str:
    """"department" (who is responsible), "figure" (amounts, rates, years), "measures" (what support,
    how something is pushed forward) or "general", read from the part of `text` that asks."""
    liability = _LIABILITY_QUESTION.search(text)  # the trouble is told before the ask
    text = asking_part(text)
    if DEPARTMENT_QUESTION.search(text) and not liability:
        return "department"
    if FIGURE_QUESTION.search(text):
        return "figure"
    if MEASURES_QUESTION.search(text):
        return "measures"
    return "general"


def query_terms(text: str, words: Sequence[str] = ()) -> list[str]:
    """Words of a question without function and intent words, in order, once each, then those of `words` (the
    index's titles and quoted names) that it holds whole: jieba cuts 质量月 into 质量 + 月. (Looked up rather
    than added to a tokenizer of its own: each jieba dictionary costs tens of MB in the serving process.)"""
    colloquial = [word for word, _ in colloquial_in(text)]
    seen: list[str] = []
    for token in shared_tokenizer().tokenize(text):
        if token not in INTENT_WORDS and token not in seen and not (len(token) == 1 and not token.isdigit()) \
                and not any(_straddles(token, word, text) for word in colloquial):
            seen.append(token)
    lowered = text.lower()
    return seen + [word for word in words if word in lowered and word not in seen and word not in INTENT_WORDS]


def _straddles(token: str, word: str, text: str) -> bool:
    """A piece jieba cut across a colloquial word: 开小 of 开小厂, where the word is 小厂."""
    return any(token[-k:] == word[:k] and token + word[k:] in text for k in range(1, min(len(token), len(word))))


def content_terms(text: str, words: Sequence[str] = ()) -> list[str]:
    """The distinctive words of a question: what a relevant clause should contain."""
    return [t for t in query_terms(text, words) if is_content_word(t)]


def is_asking_word(word: str) -> bool:
    """A word that asks rather than names: 哪几个, 有没有, 多少钱, and the asking nouns (水准, 做法, 打算)."""
    return bool(ASKING.search(word)) or word in ASKING_NOUNS


def is_document_kind(term: str) -> bool:
    """A word that only says what kind of document is meant (方案, 行动计划, 实施意见): it names no topic. Not 意见,
    决定 or 规定 alone: "提点意见" gives comments, "有什么规定" asks for a rule."""
    return bool(_ONLY_KIND.fullmatch(term))


def is_follow_up(question: str) -> bool:
    """An elliptical question that only makes sense after the previous one: it refers back, or names no
    topic of its own (only frame words: a kind of document, a year, a place)."""
    core = re.sub(r"[\s？?！!。，,、]", "", question)
    if _FOLLOW_UP.search(core) or any(word in core for word in _REFERRING):
        return True
    # "意见最晚什么时候交？" names only a kind of document: the one the conversation is about.
    return all(_FRAME_WORD.search(term) for term in content_terms(core))


def follow_up_context(question: str, earlier_questions: Sequence[str]) -> list[str]:
    """The earlier questions a follow-up leans on, oldest first: back to the last self-contained one."""
    if not earlier_questions or not is_follow_up(question):
        return []
    chain: list[str] = []
    for previous in reversed(earlier_questions[-MAX_FOLLOW_UP_TURNS:]):
        try:
            chain.insert(0, normalize_query(previous, max_chars=10_000))
        except QueryError:
            continue
        if not is_follow_up(previous):
            break
    return chain


def new_topic_terms(text: str, context: Sequence[str], naming: Sequence[str]) -> list[str]:
    """Content words of a follow-up that the earlier questions lack and that are not a place, year or
    document: "那消费品质量安全监管呢？" after a question on 食品农产品 asks about a new topic; "汕尾的呢？" does not."""
    earlier = " ".join(context)
    return [t for t in content_terms(text)
            if t not in earlier and not any(t in word for word in naming) and not _FRAME_WORD.search(t)]


def _without(text: str, words: Sequence[str]) -> str:
    for word in sorted(words, key=len, reverse=True):
        text = text.replace(word, "")
    return text


def question_frame(earlier: str, follow_up: str, *, keep: Sequence[str] = ()) -> str:
    """An earlier question without the topic words the follow-up replaces: its document, year and what it
    asked stay (the words asking for a detail too: 奖励多少). "2014年的行动计划里，食品农产品质量安全监管由哪个部门牵头？" before "那消费品质量安全监管呢？"
    keeps "2014年的行动计划里，质量安全监管由哪个部门牵头？". Words in `keep` (those that named a document,
    汕尾) stay too."""
    asked = [ask.span() for ask in asks(earlier)]  # 奖励多少, 什么时候
    kept, start = [], 0
    for word in shared_tokenizer().segment(earlier):
        end = start + len(word)
        if (not is_content_word(word) or word in follow_up or _FRAME_WORD.search(word)
                or any(word in named for named in keep) or any(a < end and start < b for a, b in asked)):
            kept.append(word)
        start = end
    return "".join(kept)


def national_documents(documents: Sequence[DocumentEntry]) -> tuple[str, ...]:
    """Documents issued by a national body (an issuer naming no place), when the library also holds others."""
    national = tuple(d.doc_id for d in documents if d.issuer and not PLACE.match(d.issuer))
    return national if len(national) < len(documents) else ()


def local_documents(documents: Sequence[DocumentEntry]) -> tuple[str, ...]:
    """Documents of a city, province or county (or of no known issuer), when the library also holds national ones."""
    national = set(national_documents(documents))
    return tuple(d.doc_id for d in documents if d.doc_id not in national) if national else ()


def mentioned_documents(text: str, documents: Iterable[DocumentEntry]) -> tuple[str, ...]:
    """Documents the question names: by full title, 《title》, document number or the issuer's place (汕尾)."""
    return document_mentions(text, documents)[0]


# The kinds of document a word names and nothing else (`is_document_kind`): _DOCUMENT_KIND's words that are not
# also ordinary words (意见 are comments, 规定 a rule, 决定 a decision).
_ONLY_KIND = re.compile(r"(行动|实施|工作)?(方案|计划|纲要|规划|通知|办法)|(实施|指导)意见")
# Joint issuers by count, as users name their document: "市场监管总局等18部门" → 18部门, 18个部门.
_JOINT_ISSUERS = re.compile(r"等(\d+|[二三四五六七八九十]+)个?部门$")
_JOINT_MIN = 3  # two bodies named are said by name ("市场监管总局和全国工商联"), not by count
_NUMERALS = frozenset("0123456789" + CN_DIGITS)
# What a document is ("民营企业意见", "18部门的方案"): users name one by a few of its words and its kind.
_DOCUMENT_KIND = re.compile(r"意见|方案|计划|纲要|规划|通知|办法|决定|条例|规定|文件")
_ANY_KIND = "文件"  # "全国工商联那份文件": any document, named by its issuer
_SHORT_NAME_CHARS = 12  # how far before the kind word a short name may start
_SHORT_NAME_MIN = 3  # "实施意见", "质量方案" are too generic to name one document
_YEAR = re.compile(r"(?:19|20)\d{2}(?=年)")
_YEAR_CHARS = 20  # how far before the kind word the year naming a document may stand
# Said between a document's words and its kind, naming nothing: "国务院办公厅那份计划", "全国工商联发的意见".
_POINTING_WORDS = re.compile(r"的|那份|这份|那个|这个|那|这|该|(?:联合)?(?:印发|发布|出台|下发|发)(?=的|$)")
_JOINING = re.compile(r"[和与及跟]")  # "市场监管总局和全国工商联": as the issuer line lists them, with 、


def _issuer_count(issuer: str) -> int:
    """How many bodies issued a document jointly: 18 of "市场监管总局等18部门", 6 of six names listed with 、; 0 for one."""
    joint = _JOINT_ISSUERS.search(issuer)
    if joint:
        return int(joint.group(1)) if joint.group(1).isdigit() else chinese_number(joint.group(1))
    listed = issuer.count("、") + 1
    return listed if listed >= _JOINT_MIN else 0


def _count_names(count: int) -> list[str]:
    """How users name a joint document by its issuers' count: 18部门, 18个部门, 十八部门, 六个部门."""
    if not count:
        return []
    return [f"{number}{measure}部门" for number in (str(count), cn2an.an2cn(count)) for measure in ("", "个")]


@dataclass(frozen=True)
class _KindWindow:
    """A kind word of the question ("意见") and the words before it that may name a document, read once for all."""

    kind: str
    window: str  # up to _SHORT_NAME_CHARS characters before the kind word
    readings: tuple[tuple[str, ...], ...]  # per start in `window`: its words as said, then with colloquial words as policy terms
    # From a year before the kind word to it ("2014年那份质量计划", "2014年国务院那份质量行动计划"), naming the document of
    # that year and kind; "" when no year is said close enough. Read further back than a short name: a year opens the
    # whole description.
    dated: str


def kind_windows(text: str) -> list[_KindWindow]:
    """The question's kind words with their windows: the words from each start, 的, 那份 and a verb of issuing aside,
    和 read as the issuer line's 、, and each colloquial word also as its policy terms ("民企那份意见": 民营企业)."""
    windows = []
    for kind in _DOCUMENT_KIND.finditer(text):
        window = text[max(0, kind.start() - _SHORT_NAME_CHARS):kind.start()]
        readings = []
        for start in range(len(window)):
            words = _JOINING.sub("、", _POINTING_WORDS.sub("", window[start:])).rstrip("里中")
            spoken = [words.replace(word, term) for word, terms in colloquial_in(words) for term in terms]
            readings.append(tuple(said for said in (words, *spoken) if len(said) >= _SHORT_NAME_MIN))
        before = text[max(0, kind.start() - _YEAR_CHARS):kind.start()]
        year = _YEAR.search(before)
        windows.append(_KindWindow(kind.group(), window, tuple(readings), before[year.start():] if year else ""))
    return windows


def _dated_in(document: DocumentEntry, year: str) -> bool:
    """Whether `document` is of `year` ("2014"), by its title's year or its date."""
    return f"{year}年" in document.title or (document.date or "").startswith(year)


def short_names(document: DocumentEntry, windows: Sequence[_KindWindow]) -> list[str]:
    """The question's short names for `document`: words just before a kind word of its title ("意见") that its title
    or issuer holds: "民营企业意见", "18部门的方案" (issuer 市场监管总局等18部门), "全国工商联发的意见", "国务院办公厅那份计划",
    "全国工商联那份文件" (文件: any kind, by its issuer); else its year and kind ("2014年那份质量计划"). The longest such
    words."""
    names = []
    title = document.title.replace("的", "")
    for found in windows:
        if found.kind not in document.title and found.kind != _ANY_KIND:
            continue
        for start, readings in enumerate(found.readings):
            if any((said in title and found.kind != _ANY_KIND) or said in (document.issuer or "") for said in readings):
                names.append(found.window[start:] + found.kind)
                break
        else:
            year = found.dated[:4]
            if year and _dated_in(document, year):
                names.append(found.dated + found.kind)  # "2014年那份质量计划": its year and its kind
    return names


def document_place(document: DocumentEntry) -> tuple[str, ...]:
    """The place a document speaks for, as a question names it (汕尾市 before 汕尾): its issuer's, or, where no issuer is
    known (a regulation added as a plain file), the place its title opens with — 上海市优化营商环境条例, 中国（山东）自由
    贸易试验区条例, 深圳经济特区社会信用条例, 关于印发《佛山市…方案》的通知 (after what a notice does: "关于省级质量奖评审的
    通知" names no place called 关于). () for a national document."""
    title = "" if document.issuer else _TITLE_OPENINGS.sub("", document.title)
    place = PLACE.match(document.issuer or "") or PLACE.match(title)
    if place:
        return place.group(0), place.group(1)
    named = _TITLE_PLACE.match(title)
    return (next(group for group in named.groups() if group),) if named else ()


def document_mentions(text: str, documents: Iterable[DocumentEntry]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(doc ids the question names, the words of the question that named them)."""
    names = _document_names(tuple(documents))
    quoted = re.findall(r"《([^》]{4,})》", text)
    windows = kind_windows(text)
    keys = names.keys_in(text)
    # A library holds thousands of documents: only those a key, a quoted title or a kind word can name.
    candidates = sorted({n for key in keys for n in names.by_key[key]}) if not (quoted or windows) \
        else range(len(names.documents))
    found: list[str] = []
    words: list[str] = []
    for n in candidates:
        document = names.documents[n]
        matched = [key for key in names.keys[n] if key in keys]
        matched += [f"《{q}》" for q in quoted if q in document.title]
        matched += short_names(document, windows)
        if matched:
            found.append(document.doc_id)
            words += [w for w in matched if w not in words]
    for pointed in _POINTED_YEAR.finditer(text):  # "2014那份", "2014年的那个": the document of that year
        year = pointed.group(1)
        if any(pointed.group() in word for word in words):  # "2014年那份质量计划" named it already
            continue
        dated = [d.doc_id for d in names.documents if _dated_in(d, year)]
        if dated:
            found += [doc_id for doc_id in dated if doc_id not in found]
            words += [pointed.group()] if pointed.group() not in words else []
    return tuple(found), tuple(words)


# A year pointed at as a document's ("2014那份治大气重点治啥", "2014年的那个"), with no kind word after it.
_POINTED_YEAR = re.compile(r"((?:19|20)\d{2})年?的?那(?:份|个|篇)(?!时|阵|会儿)")  # not "2019年那个时候": a time


@dataclass(frozen=True)
class _DocumentNames:
    """The words that name each document whole: its title, its number, its issuer's place (汕尾市, 汕尾)."""

    documents: tuple[DocumentEntry, ...]
    keys: tuple[tuple[str, ...], ...]  # per document
    by_key: dict[str, list[int]]  # key → the documents it names
    lengths: tuple[int, ...]  # the keys' lengths

    def keys_in(self, text: str) -> set[str]:
        """The keys that occur in `text`: its substrings of a key's length looked up, not every key searched for. A
        count is read whole: 六部门 is not in 十六部门."""
        return {text[i:i + n] for n in self.lengths for i in range(len(text) - n + 1)
                if text[i:i + n] in self.by_key and not (i and text[i - 1] in _NUMERALS and text[i] in _NUMERALS)}


_names: _DocumentNames | None = None  # of the library last analysed against: it changes only when re-indexed


def _document_names(documents: tuple[DocumentEntry, ...]) -> _DocumentNames:
    global _names
    cached = _names
    if cached is not None and cached.documents is documents:
        return cached
    keys = []
    by_key: dict[str, list[int]] = {}
    for n, document in enumerate(documents):
        own = [document.title, document.doc_number, *document_place(document)]
        own += _count_names(_issuer_count(document.issuer or ""))
        own = [key for key in own if key]
        keys.append(tuple(own))
        for key in own:
            by_key.setdefault(key, []).append(n)
    _names = names = _DocumentNames(documents, tuple(keys), by_key, tuple(sorted({len(k) for k in by_key})))
    return names
