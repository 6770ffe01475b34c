"""What the app shows, as pure functions: progress text, answers with linked markers, search results."""

from __future__ import annotations

from typing import Any

from rag.schema import Answer, Citation, Clause, Hit
from rag.ui import (
    ProgressText,
    answer_cards,
    answer_markdown,
    count_line,
    highlighted,
    message_text,
    search_results,
    snippet_html,
)


def test_progress_text_rate_and_time_left() -> None:
    now = [100.0]
    text = ProgressText(clock=lambda: now[0])
    assert text("chunk", 1, 3) == "切分条款 1/3"
    assert text("embed", 0, 500) == "计算向量 0/500"  # no rate before anything is done
    now[0] = 104.0
    # 120 clauses in 4 s = 30/s; 380 left / 30 = 12.7 s → 13
    assert text("embed", 120, 500) == "计算向量 120/500 · 每秒 30.0 条 · 约剩 13 秒"
    assert text("embed", 120, 5000) == "计算向量 120/5000 · 每秒 30.0 条 · 约剩 2 分 43 秒"  # 4880 / 30 = 162.7 s


# --- answers in the chat: [n] links to this turn's cards ------------------------------------------

def clause(text: str, **fields: Any) -> Clause:
    defaults: dict[str, Any] = {"clause_id": "doc#一（一）", "doc_id": "doc", "doc_title": "关于示例的通知", "kind": "clause",
                                "chapter": "一、总体要求", "label": "（一）", "title": "指导思想", "start": 0,
                                "end": len(text), "source": "corpus/doc.txt"}
    return Clause(text=text, **{**defaults, **fields})


def test_markers_link_to_the_cards_of_their_own_turn() -> None:
    cited = clause("（一）指导思想。坚持质量第一。")
    answer = Answer(question="指导思想是什么？", text="坚持质量第一。[1] 另见[3]。", found=True,
                    citations=(Citation(1, cited),))
    text = answer_markdown(answer, turn=2)
    assert text == "坚持质量第一。[[1]](#source-2-1) 另见[3]。"  # [3] cites nothing: left as written
    assert message_text(text) == answer.text  # what follow-up questions and copies see
    cards = answer_cards(answer, turn=2)
    assert cards.startswith('<section class="sources">') and '<article class="clause-card" id="source-2-1">' in cards
    assert 'data-open-clause="doc#一（一）"' in cards  # 在文件中查看 opens it in its document


def test_a_link_written_in_a_document_never_becomes_one_of_ours() -> None:
    answer = Answer(question="q", text="见[1](#source-1-1)与[1]", found=True, citations=(Citation(1, clause("x")),))
    text = answer_markdown(answer, turn=1)
    assert text == "见[[1]](#source-1-1)\\(#source-1-1)与[[1]](#source-1-1)"  # the document's "](" stays escaped
    assert message_text(text) == answer.text


# --- search results: marked words, a snippet, the true count ------------------------------------

def test_highlighting_marks_every_term_longest_first_and_escapes_the_rest() -> None:
    assert highlighted("中小企业<b>计量</b>服务", ["中小企业", "小企业", "计量"]) == (
        "<mark>中小企业</mark>&lt;b&gt;<mark>计量</mark>&lt;/b&gt;服务")
    assert highlighted("无关文字", []) == "无关文字"


def test_snippet_is_a_window_around_the_first_term() -> None:
    text = "甲" * 200 + "计量服务" + "乙" * 200
    snippet = snippet_html(text, ["计量"], width=40)
    # from 10 characters (width // 4) before the term, 40 in all: 10 + 4 (计量服务) + 26; cut on both sides
    assert snippet == "…" + "甲" * 10 + "<mark>计量</mark>服务" + "乙" * 26 + "…"
    assert snippet_html(text, ["没有的词"]) == ""


def test_count_line_tells_the_cap_from_the_number_of_matches() -> None:
    assert count_line(10, 0, 37) == "共 37 条条款含检索词，按相关度显示前 10 条。"
    assert count_line(4, 0, 4) == "共找到 4 条，按相关度排序。"
    assert count_line(10, 3, 7) == "共找到 10 条，按相关度排序（其中 3 条不含检索词，意思相近）。"
    assert count_line(5, 5, 0) == "没有条款含检索词；以下 5 条是意思最接近的条款。"


def test_search_results_label_cards_without_the_words() -> None:
    with_word, without = clause("加强计量服务。", clause_id="doc#一（一）"), clause("提升质量。", clause_id="doc#一（二）")
    html = search_results([Hit(with_word, 1.0, 1), Hit(without, 0.5, 2)], terms=["计量"], matching={"doc#一（一）"})
    assert "共找到 2 条，按相关度排序（其中 1 条不含检索词，意思相近）。" in html
    assert html.count('<span class="semantic">意思相近</span>') == 1
    assert '<div class="snippet">加强<mark>计量</mark>服务。</div>' in html
