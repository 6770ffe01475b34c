"""Infer a document's title, issuer and date from its own text, for files the manifest does not describe.

A citation must name a document the way a person would: by its official title (关于……的实施意见),
its issuer as signed at the end (汕尾市市场监督管理局) and the signature date. Scraped pages wrap
that in web chrome, a news headline or a consultation notice, so each function looks for the
official shape first and falls back conservatively: a file name beats a sentence, and no issuer
beats a wrong one (answer.py finds a document by its issuer's place, 汕尾).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from rag.clean import CJK, normalize_width, to_simplified

# The title sits near the top, but may follow a notice that issues or presents the document
# (国务院办公厅关于印发…的通知, its signer and date; a call for comments), so look past the first line.
HEAD_CHARS = 800
# The decoded file's first characters: where a page announces the document it carries
# ("《X.docx》由会员分享…", a line the cleaner drops as web chrome).
PAGE_HEAD_CHARS = 600
TITLE_MAX_CHARS = 80
HEADLINE_MAX_CHARS = 60
# A signature lists one issuer a line; joint documents are signed by up to a score of departments.
SIGNATURE_MAX_LINES = 20

# Official titles end with the kind of document: 实施意见 ends with 意见, 行动计划 with 计划, a law with 法.
_KINDS = "通知|意见|方案|计划|办法|规定|纲要|决定|条例|规划|细则|措施|公告|通告|批复|决议|规则|指南|法"
# What may follow the kind: a status (（征求意见稿）, kept, it tells the draft from the final text)
# or a period (（2011-2020年）).
_STATUS = r"（(?:征求意见稿|送审稿|草案|试行|暂行)）"
_SUFFIX = rf"(?:{_STATUS}|（\d{{4}}\s*[-—–～至]\s*\d{{4}}年）)"
_OFFICIAL_TITLE = re.compile(rf"^[^。，；：！？]{{2,}}(?:{_KINDS}){_SUFFIX}{{0,2}}$")
_STATUS_LINE = re.compile(rf"^{_STATUS}$")
# Body headings can end like a title ("三、完善管理办法") without being one. Lines holding a full date
# are skipped too: a law's history ("2009年8月27日……《关于修改部分法律的决定》").
_STRUCTURE_LINE = re.compile(
    r"^(?:第[零〇一二三四五六七八九十百千两]+[编章节条]|[一二三四五六七八九十]{1,3}、|（[一二三四五六七八九十]{1,3}）)"
)
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_DATE_LINE = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$")
_ISSUED_WITH = re.compile(r"关于印发《?(?P<issued>[^《》]+?)》?的通知")
_QUOTED_NAME = re.compile(r"《([^《》]+)》")
_FILE_SUFFIX = re.compile(r"\.(?:docx?|pdf|wps|txt)\b.*$")
_INNER_QUOTES = re.compile(r"[<〈]([^<>〈〉]+)[>〉]")
# A whole line that is an organisation's name, as signatures write them; CJK only, so an address
# ("地址：汕尾市城区……汕尾市市场监督管理局") or a duty note ("（科技部、……负责）") never matches.
_ISSUER_LINE = re.compile(rf"^[{CJK}]{{2,30}}(?:部|局|委|厅|办|室|院|署|会|联|政府|银行)$")
_PAGE_DATE = re.compile(r"(?:发布时间|发布日期|发文日期)[:：]\s*(\d{4})[-年/.](\d{1,2})[-月/.](\d{1,2})")
_SENTENCE_END = ("。", "；", "：", "！", "？", "!", "?", ";", ":")


def infer_title(cleaned: str, path: Path, *, original: str = "") -> str:
    """The document's official title, else a headline, else the file name.

    In order of preference:
    1. The longest official-title line near the top (关于……的实施意见, 行动计划, a law's 产品质量法),
       joined with a status line below it ("（征求意见稿）"). Longest, because it is the most specific
       of the title-shaped lines a page carries. When it is a notice issuing another document
       (国务院办公厅关于印发X的通知) and X is itself a line of the text, the body is X, so: X.
    2. An official title quoted twice in the page's head (`original`, before cleaning removed its
       chrome): "《X.docx》由会员分享…更多相关《X.docx(8页)》". Twice, because a preamble citing
       another document ("为贯彻落实《质量强国建设纲要》") names it once.
    3. A first line short enough to be a headline ("大动作！18部门联合推动质量提升").
    4. The file name.
    """
    titles = _title_lines(cleaned)
    if titles:
        title = max(titles, key=len)
        issued = _ISSUED_WITH.search(title)
        return issued.group("issued") if issued and issued.group("issued") in titles else title
    quoted = _quoted_titles(_page_head(original))
    if quoted:
        return max(quoted, key=len)
    first_line = cleaned.split("\n", 1)[0].strip()
    if 4 <= len(first_line) <= HEADLINE_MAX_CHARS and not first_line.endswith(_SENTENCE_END):
        return first_line
    return path.stem


def infer_issuer(cleaned: str) -> str:
    """Who signed the document: the organisation lines above its last signature date, joined by "、".

    A signature is a block of whole-line organisation names directly above a date line, or the
    document's last lines. Organisations named anywhere else (an address, "我局牵头起草", a duty
    note) are not taken: a wrong issuer is worse than none, so "" when there is no signature.
    """
    lines = cleaned.split("\n")
    block_ends = [index for index, line in enumerate(lines) if _DATE_LINE.match(line)]
    for end in [*block_ends, len(lines)][::-1]:
        start = end
        while start > 0 and end - start < SIGNATURE_MAX_LINES and _ISSUER_LINE.match(lines[start - 1]):
            start -= 1
        if start < end:
            return "、".join(lines[start:end])
    return ""


def infer_date(cleaned: str, *, original: str = "") -> str:
    """The signature date, as ISO YYYY-MM-DD; "" when the text has none.

    In order: the last line that is only a date (a signature, also one above the body, as in a
    notice); the last date written near the end or, failing that, near the start; the page's
    "发布时间" in `original` (a repost without a signature).
    """
    date_lines = [line for line in cleaned.split("\n") if _DATE_LINE.match(line)]
    dates = (
        _DATE.findall(date_lines[-1] if date_lines else "")
        or _DATE.findall(cleaned[-400:])
        or _DATE.findall(cleaned[:400])
        or _PAGE_DATE.findall(_page_head(original))
    )
    if not dates:
        return ""
    return _iso(*dates[-1])


def dates_written(text: str) -> dict[str, str]:
    """Each date `text` writes ("2014年4月21日"), as written, by its ISO form (the form `infer_date` gives)."""
    return {_iso(*found.groups()): found.group() for found in _DATE.finditer(text)}


def _iso(year: str, month: str, day: str) -> str:
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _title_lines(cleaned: str) -> list[str]:
    """Lines starting in the first HEAD_CHARS shaped like an official title, with a status line below."""
    lines = cleaned.split("\n")
    starts = list(itertools.accumulate((len(line) + 1 for line in lines), initial=0))
    titles: list[str] = []
    for line, following, start in zip(lines, [*lines[1:], ""], starts, strict=False):
        if start >= HEAD_CHARS:
            break
        title = _tidy_title(line + following if _STATUS_LINE.match(following) else line)
        if _is_official_title(title) and not _STRUCTURE_LINE.match(title) and not _DATE.search(title):
            titles.append(title)
    return titles


def _quoted_titles(page_head: str) -> list[str]:
    """Official titles quoted at least twice in `page_head`."""
    names = [_tidy_title(name) for name in _QUOTED_NAME.findall(page_head)]
    return [name for name in dict.fromkeys(names) if names.count(name) >= 2 and _is_official_title(name)]


def _tidy_title(title: str) -> str:
    """Drop a file extension and what a share page appends to it; nested <quotes> become 《》."""
    return _INNER_QUOTES.sub(r"《\1》", _FILE_SUFFIX.sub("", title.strip()))


def _is_official_title(title: str) -> bool:
    return len(title) <= TITLE_MAX_CHARS and bool(_OFFICIAL_TITLE.match(title))


def _page_head(original: str) -> str:
    """The file's first characters in the script and widths of the cleaned text."""
    return to_simplified(normalize_width(original[:PAGE_HEAD_CHARS]))
