"""LLM answers through any LangChain chat model (ChatOpenAI for OpenAI-compatible endpoints).

The prompt holds only the retrieved clauses; afterwards citations that match no given clause are removed
and flagged, and any error or timeout falls back to the extractive answer.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from rag.generate import (
    NOT_FOUND_MARK,
    CitationNumbers,
    ExtractiveGenerator,
    Generator,
    not_found_text,
)
from rag.question import Query
from rag.schema import Answer, Hit
from rag.shapes import citation_line, departments_line

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

SYSTEM_PROMPT = """你是政策文件问答助手，只能依据用户消息中编号的条款回答问题。
规则：
1. 只使用所给条款中的信息，不得使用条款以外的知识，不得编造或推测。
2. 每一句陈述的句末都必须用方括号标注所依据条款的编号，例如 [1] 或 [1][3]；只能使用所给的编号。
3. 如果所给条款不能回答问题，只回答：未在已收录的文件中找到与该问题直接相关的规定。
4. 回答简洁（不超过四句）；问负责部门时写明牵头部门和参与部门；金额、比例、年份照录原文。"""

_MARKER = re.compile(r"[\[［【]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]］】]")
_STATEMENT_END = re.compile(r"[。！？!?\n]")


class LlmGenerator:
    """Any LangChain chat model (ChatOpenAI for OpenAI-compatible endpoints); extractive on failure."""

    name = "llm"

    def __init__(self, chat_model: BaseChatModel, *, fallback: Generator | None = None,
                 max_clause_chars: int = 1_500) -> None:
        self.chat_model = chat_model
        self.fallback = fallback or ExtractiveGenerator()
        self.max_clause_chars = max_clause_chars

    def answer(self, query: Query, hits: Sequence[Hit], *, partly: bool = False) -> Answer:
        if not hits:
            return Answer(question=query.text, text=not_found_text(query.text), found=False, mode=self.name)
        try:
            reply = self.chat_model.invoke(self.messages(query, hits))
            text = _message_text(reply.content).strip()
        except Exception as error:  # noqa: BLE001 - any failure of the model or endpoint falls back
            log.warning("LLM call failed, answering extractively: %r", error)
            return self._fall_back(query, hits, partly, f"大模型调用失败（{type(error).__name__}），已改用摘录式回答。")
        if not text:
            return self._fall_back(query, hits, partly, "大模型返回了空回答，已改用摘录式回答。")
        return self._checked(query, hits, text, partly=partly)

    def messages(self, query: Query, hits: Sequence[Hit]) -> list[tuple[str, str]]:
        """System and user messages: the numbered clauses are the only material offered."""
        blocks = []
        for n, hit in enumerate(hits, start=1):
            clause = hit.clause
            departments = f"\n（{departments_line(clause)}）" if clause.departments else ""
            blocks.append(f"[{n}] {citation_line(clause)}{departments}\n{clause.text[: self.max_clause_chars]}")
        context = " ".join(query.context)
        earlier = f"对话上文中的问题（仅用于理解省略的问题）：{context}\n\n" if context else ""
        user = "条款：\n\n" + "\n\n".join(blocks) + f"\n\n{earlier}问题：{query.text}"
        return [("system", SYSTEM_PROMPT), ("human", user)]

    def _checked(self, query: Query, hits: Sequence[Hit], text: str, *, partly: bool = False) -> Answer:
        """Renumber markers in order of first use, drop unknown ones, flag statements without one."""
        citations = CitationNumbers()
        warnings: list[str] = []
        unknown: list[str] = []

        def renumber(match: re.Match[str]) -> str:
            markers = []
            for number in re.split(r"\s*[,，、]\s*", match.group(1)):
                n = int(number)
                if 1 <= n <= len(hits):
                    markers.append(citations.marker(hits[n - 1].clause))
                else:
                    unknown.append(f"[{n}]")
            return "".join(dict.fromkeys(markers))

        text = _MARKER.sub(renumber, text)
        if unknown:
            warnings.append(f"回答引用了不存在的条款 {'、'.join(dict.fromkeys(unknown))}，已删除这些引用。")
        if NOT_FOUND_MARK in text and not citations.clauses:
            return Answer(question=query.text, text=not_found_text(query.text), found=False, mode=self.name,
                          outcome="not_found", related=tuple(hits[:3]), warnings=tuple(warnings))
        if not citations.clauses:
            return self._fall_back(query, hits, partly, *warnings, "大模型的回答没有可核对的出处，已改用摘录式回答。")
        uncited = uncited_statements(text)
        if uncited:
            warnings.append("以下陈述没有标注出处，请谨慎参考：" + "；".join(s[:40] for s in uncited))
        return Answer(question=query.text, text=text, found=True, citations=citations.as_tuple(), mode=self.name,
                      warnings=tuple(warnings))

    def _fall_back(self, query: Query, hits: Sequence[Hit], partly: bool, *warnings: str) -> Answer:
        answer = self.fallback.answer(query, hits, partly=partly)
        return dataclasses.replace(answer, warnings=(*answer.warnings, *warnings))


def uncited_statements(text: str) -> list[str]:
    """Statements of `text` that carry no [n] marker; a marker just after the 。 belongs to it."""
    attached = re.sub(r"([。！？!?])\s*((?:\[\d+\])+)", r"\2\1", text)
    statements = []
    for piece in _STATEMENT_END.split(attached):
        piece = piece.strip()
        content = re.sub(r"\[\d+\]", "", piece).strip(" ：:，,；;-*·")
        if len(re.findall(r"[\u4e00-\u9fff]", content)) < 4 or piece.endswith(("：", ":")):
            continue  # headings such as "根据所给条款：" and list bullets are not statements
        if not re.search(r"\[\d+\]", piece) and NOT_FOUND_MARK not in piece:
            statements.append(content)
    return statements


def _message_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in content
                       if isinstance(part, str | dict))
    return str(content)


@lru_cache(maxsize=4)
def build_generator(*, llm_base_url: str = "", llm_model: str = "", llm_api_key: str = "",
                    llm_timeout_s: float = 30.0) -> Generator:
    """An LlmGenerator over ChatOpenAI when an endpoint and model are given, else extractive."""
    if not (llm_base_url and llm_model):
        return ExtractiveGenerator()
    if llm_timeout_s <= 0:
        raise ValueError("llm_timeout_s must be positive, e.g. 30")
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as error:
        raise ImportError("langchain-openai is not installed: pip install 'rag[llm]'") from error
    chat_model = ChatOpenAI(
        model=llm_model,
        base_url=llm_base_url,
        # Local servers (vLLM, Ollama) need no key, but the client insists on one.
        api_key=llm_api_key or "not-needed",  # type: ignore[arg-type]
        timeout=llm_timeout_s,
        max_retries=1,
        temperature=0,
    )
    return LlmGenerator(chat_model)
