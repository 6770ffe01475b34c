"""Normalise raw document text for indexing: OpenCC t2s, pinyin, page fragments, web chrome, width.

Every step is idempotent, so cleaning cleaned text changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from opencc import OpenCC

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

# A pinyin annotation inserted after a character: 貿(mào)易. Real parentheses hold CJK text,
# numerals or upper-case abbreviations, so a lower-case syllable with a tone mark is safe to drop.
_TONE_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_NEUTRAL_SYLLABLES = "de|le|me|men|ne|ma|ba|zi|zhe|guo|tou|shang|xia|li"
PINYIN_ANNOTATION = re.compile(
    rf"(?<=[{CJK}])[(（]\s*(?:[a-zü]*[{_TONE_VOWELS}][a-zü]*|(?:{_NEUTRAL_SYLLABLES}))\s*[)）]"
)

# Lines that are page furniture of scraped web pages, never policy text. Each pattern must be
# specific enough that no sentence of a policy could match; lines longer than this are kept.
CHROME_MAX_CHARS = 120
CHROME_LINE = re.compile(
    r"^(?:"
    r"首页\s*>>.*"
    r"|.*\|\s*分享到.*"
    r"|.*(?:浏览次数|阅读次数|次浏览|点击数)[:：]?\s*\d*\s*$"
    r"|来源[:：].{0,40}(?:发布时间[:：].*)?"
    r"|发布时间[:：].*"
    r"|分享到[:：]?.*"
    r"|您访问的链接即将离开.*"
    r"|.*由会员分享.*请在.*搜索.*"
    r"|[•·●]\s*.*"
    r"|<!--.*-->"
    r")$"
)

# A docx page number glued to the next page's text: "加强先进\n2、标准研制". A real list item
# follows a finished sentence, so a page break is recognised by the unfinished line before it.
SENTENCE_END = "。；：！？!?;:…）)】」”』"
PAGE_FRAGMENT = re.compile(rf"(?<=[^\s{re.escape(SENTENCE_END)}])\n\d{{1,3}}、(?=[^\n])")

_FULLWIDTH_PUNCT = {",": "，", ":": "：", ";": "；", "!": "！", "?": "？"}
# CJK characters plus CJK and full-width punctuation: the context in which ASCII punctuation is a typo.
_CJK_CONTEXT = rf"[{CJK}\u3000-\u303f\uff01-\uff0f\uff1a-\uff20“”‘’]"
_HALF_PUNCT_NEAR_CJK = re.compile(rf"(?<={_CJK_CONTEXT})[,:;!?]|[,:;!?](?={_CJK_CONTEXT})")
_PAREN_WITH_CJK = re.compile(rf"[(（]([^()（）\n]*[{CJK}][^()（）\n]*)[)）]")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


@lru_cache(maxsize=1)
def _s2t() -> OpenCC:
    return OpenCC("s2t")


def to_simplified(text: str) -> str:
    return str(_t2s().convert(text))


def to_traditional(text: str) -> str:
    return str(_s2t().convert(text))


def is_traditional(text: str) -> bool:
    """True when converting to simplified changes a noticeable share of the CJK characters."""
    cjk = re.findall(f"[{CJK}]", text)
    if not cjk:
        return False
    sample = "".join(cjk[:2000])
    changed = sum(a != b for a, b in zip(sample, to_simplified(sample), strict=True))
    return changed >= max(1, len(sample) // 50)


def normalize_width(text: str) -> str:
    """Full-width ASCII letters/digits → half-width; ASCII punctuation next to CJK → full-width."""
    text = "".join(
        unicodedata.normalize("NFKC", ch) if "\uff10" <= ch <= "\uff5a" and ch.isalnum() else ch
        for ch in text
    )
    text = _PAREN_WITH_CJK.sub(r"（\1）", text)
    return _HALF_PUNCT_NEAR_CJK.sub(lambda m: _FULLWIDTH_PUNCT[m.group()], text)


def remove_pinyin(text: str) -> str:
    return PINYIN_ANNOTATION.sub("", text)


def rejoin_page_fragments(text: str) -> str:
    """Drop docx page numbers that split sentences, including the "1、" that opens page one."""
    joined, breaks = PAGE_FRAGMENT.subn("", text)
    if breaks >= 2:
        joined = re.sub(r"^1、", "", joined)
    return joined


def remove_chrome(lines: list[str]) -> list[str]:
    return [line for line in lines if len(line) > CHROME_MAX_CHARS or not CHROME_LINE.match(line)]


def drop_repeated_lines(lines: list[str]) -> list[str]:
    """Scrapes often repeat the title; an exact repeat of an earlier line adds nothing."""
    seen: set[str] = set()
    kept = []
    for line in lines:
        if len(line) >= 8 and line in seen:
            continue
        seen.add(line)
        kept.append(line)
    return kept


def clean_text(raw: str) -> str:
    """The full cleaning pipeline; the result is what chunk offsets point into."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = remove_pinyin(text)
    text = to_simplified(text)
    text = normalize_width(text)
    text = _MARKDOWN_HEADING.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    lines = drop_repeated_lines(remove_chrome([line for line in lines if line]))
    return rejoin_page_fragments("\n".join(lines))
