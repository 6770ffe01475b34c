"""Normalise raw document text for indexing: OpenCC t2s, pinyin, page fragments, web chrome, width.

Cleaning is idempotent: cleaning cleaned text changes nothing (see `clean_text`).
"""

from __future__ import annotations

import re
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
# Page 1 only ever opens the document, so "一、总体要求\n1、指导思想" is a list, not a page break.
SENTENCE_END = "。；：！？!?;:…）)】」”』"
PAGE_FRAGMENT = re.compile(rf"(?<=[^\s{re.escape(SENTENCE_END)}])\n(\d{{1,3}})、(?=[^\n])")
MIN_PAGE_CHARS = 200

_FULLWIDTH_PUNCT = {",": "，", ":": "：", ";": "；", "!": "！", "?": "？"}
# Full-width digits and letters ０-９Ａ-Ｚａ-ｚ → ASCII (what NFKC does to them).
_HALF_WIDTH_ALNUM = {code: code - 0xFEE0 for code in range(0xFF10, 0xFF5B) if chr(code).isalnum()}
# CJK characters plus CJK and full-width punctuation: the context in which ASCII punctuation is a typo.
_CJK_CONTEXT = rf"[{CJK}\u3000-\u303f\uff01-\uff0f\uff1a-\uff20“”‘’]"
_HALF_PUNCT_NEAR_CJK = re.compile(rf"(?<={_CJK_CONTEXT})[,:;!?]|[,:;!?](?={_CJK_CONTEXT})")
_PAREN_WITH_CJK = re.compile(rf"[(（]([^()（）\n]*[{CJK}][^()（）\n]*)[)）]")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)
# Every horizontal space, including the en spaces of "第一章\u2002\u2002一般规定" in some law texts.
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_SENTENCE_FINAL = ("。", "；", "：", "！", "？", "!", "?", ";", ":")
# Structure lines are repeated on purpose (a law's table of contents lists its chapter headings).
_STRUCTURE_LINE = re.compile(
    r"^(?:第[零〇一二三四五六七八九十百千两]+(?:编|分编|章|节|条)|[一二三四五六七八九十]{1,3}、|（[一二三四五六七八九十]{1,3}）)"
)


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


def to_script_of(question: str, text: str) -> str:
    """`text` in traditional characters when `question` was asked in them: the labels and source lines printed
    beside a traditional answer (來源, 責任部門, 牽頭) read as the answer does."""
    return to_traditional(text) if is_traditional(question) else text


def normalize_width(text: str) -> str:
    """Full-width ASCII letters/digits → half-width; ASCII punctuation next to CJK → full-width."""
    text = text.translate(_HALF_WIDTH_ALNUM)
    text = _PAREN_WITH_CJK.sub(r"（\1）", text)
    return _HALF_PUNCT_NEAR_CJK.sub(lambda m: _FULLWIDTH_PUNCT[m.group()], text)


def remove_pinyin(text: str) -> str:
    return PINYIN_ANNOTATION.sub("", text)


def rejoin_page_fragments(text: str) -> str:
    """Drop docx page numbers that split sentences, including the "1、" that opens page one.

    Pages are long: candidates closer than MIN_PAGE_CHARS to another candidate are a list of
    short unpunctuated items ("附件：1、查处酒后驾驶操作规程\\n2、查处超速行驶操作规程"), not pages.
    """
    candidates = list(PAGE_FRAGMENT.finditer(text))
    starts = [-MIN_PAGE_CHARS, *(m.start() for m in candidates), len(text) + MIN_PAGE_CHARS]
    breaks = [
        m
        for m, before, after in zip(candidates, starts, starts[2:], strict=False)
        if m.group(1) != "1" and m.start() - before >= MIN_PAGE_CHARS and after - m.start() >= MIN_PAGE_CHARS
    ]
    joined = "".join(text[start:end] for start, end in _gaps(breaks, len(text)))
    if len(breaks) >= 2:
        joined = re.sub(r"^1、", "", joined)
    return joined


def _gaps(matches: list[re.Match[str]], length: int) -> list[tuple[int, int]]:
    """The spans of text between `matches`."""
    bounds = [0, *(edge for m in matches for edge in m.span()), length]
    return list(zip(bounds[::2], bounds[1::2], strict=True))


def remove_chrome(lines: list[str]) -> list[str]:
    return [line for line in lines if len(line) > CHROME_MAX_CHARS or not CHROME_LINE.match(line)]


def drop_repeated_lines(lines: list[str]) -> list[str]:
    """Scrapes often repeat the title; an exact repeat of an earlier title-like line adds nothing.

    Sentences are kept: laws repeat them on purpose ("（五）法律、法规规定的其他职责。" closes several
    articles). So are structure lines: a table of contents repeats "第二章 保护规划和保护措施", and
    dropping the real heading would put the chapter's articles under 第一章.
    """
    seen: set[str] = set()
    kept = []
    for line in lines:
        repeated_title = line in seen and not line.endswith(_SENTENCE_FINAL) and not _STRUCTURE_LINE.match(line)
        if len(line) >= 8 and repeated_title:
            continue
        seen.add(line)
        kept.append(line)
    return kept


def clean_text(raw: str) -> str:
    """The full cleaning pipeline; the result is what chunk offsets point into.

    Dropping a line or a page number joins text, and the joined text can match a step again
    ("貿\\n2、(mào)易", "a\\n2、\\n3、b"), so the cheap steps repeat until nothing changes. Every
    change they make is one-way (removals, half-width letters, full-width punctuation), so this
    ends. OpenCC, the slow step, runs once.
    """
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = to_simplified(remove_pinyin(text))
    while (cleaned := _clean_pass(text)) != text:
        text = cleaned
    return cleaned


def _clean_pass(text: str) -> str:
    # Pinyin again after width: "質(ｍàｏ)" is only recognisable once its letters are half-width.
    text = remove_pinyin(normalize_width(text))
    text = _MARKDOWN_HEADING.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    lines = drop_repeated_lines(remove_chrome([line for line in lines if line]))
    return rejoin_page_fragments("\n".join(lines))
