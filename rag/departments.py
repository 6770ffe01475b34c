"""Responsible and lead departments: parse a clause's trailing attribution, match names by alias.

Examples of attributions this reads (after cleaning to simplified, full-width punctuation):
  （科技部、工业和信息化部、市场监管总局等按职责分工负责）
  （质检总局牵头，国务院有关部门参加）
  （食品药品监管总局、教育部……质检总局。列第一位者为牵头部门，下同）
  【市市场监管局牵头，市质量强市工作领导小组各成员单位……按职责分工负责】
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Canonical name → other names for the same body (abbreviations, older and newer names).
# Names are kept as written in clauses; this table is only used for matching.
ALIASES: dict[str, tuple[str, ...]] = {
    "市场监管总局": ("国家市场监督管理总局", "国家市场监管总局", "市场监督管理总局"),
    "工业和信息化部": ("工信部", "工业与信息化部"),
    "国家发展改革委": ("发展改革委", "国家发改委", "发改委", "国家发展和改革委员会"),
    "科技部": ("科学技术部",),
    "商务部": (),
    "全国工商联": ("工商联", "中华全国工商业联合会"),
    "海关总署": ("海关",),
    "财政部": (),
    "教育部": (),
    "公安部": (),
    "民政部": (),
    "交通运输部": ("交通部",),
    "人力资源社会保障部": ("人社部", "人力资源和社会保障部"),
    "住房城乡建设部": ("住建部", "住房和城乡建设部"),
    "农业农村部": ("农业部",),
    "国家卫生健康委": ("卫生健康委", "卫健委", "卫生计生委", "国家卫生计生委"),
    "国务院国资委": ("国资委",),
    "人民银行": ("中国人民银行", "央行"),
    "税务总局": ("国家税务总局",),
    "国家统计局": ("统计局",),
    "银保监会": ("中国银保监会", "国家金融监督管理总局"),
    "质检总局": ("国家质检总局", "国家质量监督检验检疫总局"),
    "食品药品监管总局": ("国家食品药品监管总局", "食药监总局"),
    "中央宣传部": ("中宣部",),
    "中央组织部": ("中组部",),
    "广电总局": ("国家广电总局",),
    "国家粮食和储备局": ("粮食和储备局", "国家粮食和物资储备局"),
    "共青团中央": ("团中央",),
    "全国总工会": ("总工会",),
    "市市场监管局": ("市市场监督管理局", "市场监管局"),
    "市工业和信息化局": ("市工信局",),
    "市发展改革局": ("市发改局",),
}

_CANONICAL = {alias: name for name, aliases in ALIASES.items() for alias in (name, *aliases)}

# Words that end the name of a government body or group; a list item without one is not a department.
_BODY_SUFFIX = re.compile(
    r"(部|委|局|署|厅|办|院|会|联|行|社|总局|中央|总工会|单位|政府|党委|机构|部门|小组|管委会|中心)(）)?$"
)
_ROLE_TAIL = re.compile(r"(等)?(按职责分工)?(牵头)?(负责落实|负责|参加|配合)?$")
_LEAD_FIRST_NOTE = re.compile(r"列第一位者为牵头部门.*$")


@dataclass(frozen=True)
class Attribution:
    departments: tuple[str, ...]
    lead_department: str
    start: int  # offset of the opening bracket within the text it was parsed from


def canonical_department(name: str) -> str:
    """Canonical form of a department name, e.g. 工信部 → 工业和信息化部."""
    name = name.strip()
    return _CANONICAL.get(name, name)


def department_aliases(query: str) -> frozenset[str]:
    """Every name of the department `query` names: 工信部 → {工业和信息化部, 工信部, 工业和信息化部门…}."""
    wanted = canonical_department(query)
    return frozenset({wanted, *(alias for alias, name in _CANONICAL.items() if name == wanted)})


def department_matches(query: str, departments: tuple[str, ...] | list[str]) -> bool:
    """True if `query` names one of `departments`, by alias or as a substring of a listed name."""
    aliases = department_aliases(query)
    return any(name.strip() in aliases or (len(query) >= 2 and query in name) for name in departments)


def known_department_names() -> list[str]:
    """Every name in the alias table, for the tokeniser's user dictionary and query parsing."""
    return sorted(_CANONICAL)


def parse_attribution(text: str, *, lead_first_listed: bool = False) -> Attribution | None:
    """Parse the bracketed department attribution ending `text`, if there is one."""
    body = text.rstrip().rstrip("。")
    span = _trailing_group(body)
    if span is None:
        return None
    start, inner = span
    inner = _LEAD_FIRST_NOTE.sub("", inner).rstrip("。，； )）")
    # An explicit role (负责/牵头/参加) marks an attribution; a bare list must look like departments.
    has_role = bool(re.search("负责|牵头|参加|配合", inner))
    departments: list[str] = []
    lead = ""
    for segment in re.split(r"[，；;,]", inner):
        segment = segment.strip()
        if not segment or "以下不再列出" in segment:
            continue
        names = [n.strip() for n in _split_top_level(_ROLE_TAIL.sub("", segment)) if n.strip()]
        if "牵头" in segment and names and not lead:
            lead = names[0]
        departments.extend(n for n in names if n not in departments)
    if not departments or not (has_role or all(_BODY_SUFFIX.search(n) for n in departments)):
        return None
    if not lead and lead_first_listed:
        lead = departments[0]
    return Attribution(tuple(departments), lead, start)


def _trailing_group(text: str) -> tuple[int, str] | None:
    """The last bracketed group if it closes the text: 【…】 or balanced （…）."""
    if text.endswith("】"):
        open_at = text.rfind("【")
        return (open_at, text[open_at + 1 : -1]) if open_at >= 0 else None
    if not text.endswith("）"):
        return None
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        char = text[index]
        if char == "）":
            depth += 1
        elif char == "（":
            depth -= 1
            if depth == 0:
                return index, text[index + 1 : -1]
    return None


def _split_top_level(segment: str) -> list[str]:
    """Split on 、 outside parentheses, so 各县（市、区）党委 stays one name."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in segment:
        depth += char in "（("
        depth -= char in "）)"
        if char == "、" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
