"""The one word vocabulary of the project: stop words, intent words, generic words, colloquial lexicon.

Every module that needs to know which words of a question carry content asks here, so the tokenizer,
the query analysis, the relevance decision and the answer agree on it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

# Function words and question particles: no lexical signal in any text.
STOPWORDS = frozenset(
    "的 了 和 与 及 是 在 对 等 为 把 被 将 有 也 或 而 并 要 由 于 以 其 之 就 都 从 到 这 那 个 "
    "吗 呢 吧 啊 呀 么 什么 哪些 哪个 怎么 怎样 如何 我们 我 你 他 她 它 能 可以 有没有 是否 请问 一下 "
    "一个 一些 哪 谁 多少 给 让 想 会".split()
)

# Words that say what kind of answer is wanted, not what it is about ("哪些部门负责…", "奖励多少").
INTENT_WORDS = frozenset(
    "部门 单位 部委 机构 委办局 职能部门 负责 牵头 职责 分工 管 归 涉及 由谁 联合 印发 发布 多少 几 钱 哪年 哪天 时候 "
    "具体 现在 目前 政策 规定 措施 文件 要求 有没有 有什么 什么 支持 国家 政府 市里 省里 这边 那边 能 拿到 "
    "关于 方面 情况 工作 问题 呢 怎么办 办法 渠道 哪里 哪儿 找谁 需要 应该 "
    # the kind of detail asked for ("奖金多少？" after a question about 质量奖 is a follow-up)
    "奖金 金额 费用 条件 材料 流程 手续 时间 期限 日期 地点 网址 电话 比例 标准是 具体是".split()
)

# Words so common in policy text that sharing them says nothing about relevance.
GENERIC_WORDS = frozenset(
    "质量 企业 产品 工作 建设 提升 提高 加强 推动 推进 发展 管理 服务 能力 体系 水平 全国 全省 全市 我们 公司 "
    "厂 小厂 帮扶 鼓励 开展 实施 建立 完善 相关 有关 哪些 可以 怎么 应该 如何 一般 今年 时间 国家 政府 "
    "我 我们 我家 咱们 自己 一些 这种 那种 这类 想 要 能不能 可不可以 是不是 会不会 吗 呢".split()
)

# Fillers of spoken questions ("要是…的话", "管不管", "老是"): they never decide what a clause is about.
FILLER_WORDS = frozenset(
    "没有 不能 不是 不会 不管 管不管 这些 这个 那个 这块 这样 那样 这是 要是 如果 的话 起来 一套 上面 下面 里面 "
    "好不好 不好 有人 分别 各个 真的 听说 发现 弄个 搞 做成 可能 已经 还是 还有 或者 一样 一起 每次 老是 "
    "总是 总觉得 觉得 知道 告诉 咨询 了解 帮忙 什么样 怎么样 多大 大概 平时 之前 以后 之后 东西 事情 学学 "
    "厂里 店里 家里 上能 查得 不严 严不严 会不会 能不能 行不行 是不是 有没有 算不算 该不该 是否 到底 究竟 "
    "一点 一些 多少 哪里 那边 这边 我们 他们 你们 别人 人家 对方 具体 怎么 为什么 什么 哪个 哪些 问一下 "
    "请问 谢谢 您好 你好 这项 那项 该项 此项 这件 那件 这条 那条 这份 那份 一共 总共 原话 原文 原句 "
    "当时 当初 那时 那时候 后来 起初".split()
)

# What makes words ask: question particles and question words (吗, 有没有, 是不是, 什么, 哪, 多少, 谁…).
ASKING = re.compile(r"吗|嘛|么|呢|能否|是否|可否|有没有|(.)不\1|什么|啥|哪|怎|如何|多少|多久|多长|几|谁")

# Nouns that ask for the shape of an answer, not a thing a clause names ("有什么说法", "都叫什么名字", "点名了哪些方向").
ASKING_NOUNS = frozenset(
    "说法 名字 名称 名堂 方向 意思 含义 内容 作用 好处 意义 区别 不同 关系 联系 影响 用处 态度 角色 立场 看法 想法 定位 "
    "讲究 门道 规矩 水准 程度 档次 层次 做法 方式 形式 途径 思路 路子 路数 套路 打算 安排 举措 动作 帮助 东西 事儿 地方 方面 领域 环节 位置 地位"
    .split()
)


def is_content_word(token: str) -> bool:
    """A token that says what the question is about: not a stop, intent or generic word, not one character."""
    return (token not in STOPWORDS and token not in INTENT_WORDS and token not in GENERIC_WORDS
            and token not in FILLER_WORDS and (len(token) > 1 or token.isdigit()))


@lru_cache(maxsize=1)
def colloquial_lexicon() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(colloquial word, policy terms) pairs from rag/colloquial.tsv, longest colloquial word first."""
    text = resources.files("rag").joinpath("colloquial.tsv").read_text(encoding="utf-8")
    return parse_lexicon(text)


def parse_lexicon(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Parse `colloquial<TAB>term[,term…]` lines; `#` starts a comment line."""
    entries: dict[str, tuple[str, ...]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        colloquial, separator, terms = line.partition("\t")
        policy_terms = tuple(t.strip() for t in terms.split(",") if t.strip())
        if not separator or not colloquial.strip() or not policy_terms:
            raise ValueError(f"colloquial lexicon line {number}: expected 'word<TAB>term[,term…]', got {line!r}")
        entries[colloquial.strip()] = policy_terms
    return tuple(sorted(entries.items(), key=lambda item: -len(item[0])))


# What speech slips into a colloquial word without changing it: 翻了我的包 is 翻包, 交多少钱 is 交钱,
# 没签过合同 is 没签合同. Pronouns, aspect particles, measure words and 多少 only, so that two words that
# merely stand near each other ("工作的人") do not make one.
_SLIPPED_IN = r"(?:[了过着我你他她它们的个张家一这那些点几]|多少)"
_MAX_SLIPPED = 4


@lru_cache(maxsize=1)
def _colloquial_patterns() -> tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...]:
    """Each lexicon entry with the pattern that finds its word with fillers slipped in."""
    return tuple((word, terms, re.compile(f"{_SLIPPED_IN}{{0,{_MAX_SLIPPED}}}".join(map(re.escape, word))))
                 for word, terms in colloquial_lexicon())


def colloquial_in(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The lexicon entries (colloquial word, policy terms) that `text` uses, longest word first."""
    return tuple((word, terms) for word, terms, pattern in _colloquial_patterns()
                 if word in text or pattern.search(text))


def policy_terms_for(text: str) -> tuple[str, ...]:
    """Policy-language terms for the colloquial words in `text`, in lexicon order, without repeats."""
    found: list[str] = []
    for _, terms in colloquial_in(text):
        found.extend(t for t in terms if t not in found and t not in text)
    return tuple(found)
