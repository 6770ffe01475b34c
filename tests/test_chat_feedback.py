"""The chat's feedback and export in a real Chromium, against app.py's server (chat and API on one port).

👎 on an answer, "正确的出处是…", the 导出对话 download and the 文件库 tab's declined questions, checked in
the browser and in the SQLite file.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.pipeline import Pipeline
from tests.test_api import CITY, CITY_TITLE, UNANSWERABLE, serving
from tests.test_app import DEPARTMENT_QUESTION, GRADIO_INTERNAL_WARNINGS
from tests.test_browser import browser  # noqa: F401 - the module's Chromium fixture

pytestmark = [pytest.mark.browser, GRADIO_INTERNAL_WARNINGS]

DISLIKE = 'button[aria-label="踩"], button[aria-label="Dislike"]'


@pytest.fixture(scope="module")
def feedback_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chat-feedback") / "feedback.sqlite"


@pytest.fixture(scope="module")
def page(corpus_pipeline: Pipeline, default_embedder: Any, feedback_file: Path, browser: Any  # noqa: F811
         ) -> Iterator[Any]:
    pipeline = Pipeline(dataclasses.replace(corpus_pipeline.settings, feedback_file=str(feedback_file)),
                        embedder=default_embedder)
    with serving(pipeline) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(url + "/")
        yield page
        context.close()


def ask(page: Any, question: str) -> None:
    from playwright.sync_api import expect

    answers = page.locator("#chat .message-row.bot-row")  # one row per answer: its text and its sources
    before = answers.count()
    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")
    expect(answers).to_have_count(before + 1, timeout=120_000)


def test_rate_correct_export_and_see_declined_questions(page: Any, feedback_file: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    target = page.locator("#correct-answer input")
    ask(page, DEPARTMENT_QUESTION)
    expect(page.locator("#chat .message-row.bot-row").last.locator(".clause-card").first).to_be_visible()
    # The export files are written in the steps after the answer; the correction selector is set after them.
    expect(target).to_have_value(f"第 1 个回答：{DEPARTMENT_QUESTION}")
    with page.expect_download() as download:
        page.locator("#export-md").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    record = saved.read_text(encoding="utf-8")
    assert saved.suffix == ".md" and f"## 1. 问：{DEPARTMENT_QUESTION}" in record and "- [1] 《" in record

    ask(page, UNANSWERABLE)
    # Two answers: the correction selector names each by number and question, and starts on the latest.
    expect(target).to_have_value(f"第 2 个回答：{UNANSWERABLE}")
    with page.expect_download() as download:
        page.locator("#export-csv").click()
    table = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert table.startswith("序号,时间,问题,回答,结果,出处") and UNANSWERABLE in table and "未找到依据" in table

    # 👎 on the first answer, not the latest: the selector moves to it, and the correction is recorded for it.
    notice = page.locator("#feedback-notice")
    dislikes = page.locator(DISLIKE)  # one per answer, in order, under each answer's bubble
    expect(dislikes).to_have_count(2)
    dislikes.first.click()
    expect(notice).to_contain_text("已记录：第 1 个回答不对", timeout=30_000)
    expect(target).to_have_value(f"第 1 个回答：{DEPARTMENT_QUESTION}")
    page.locator("#correct-source textarea").fill(f"《{CITY_TITLE}》一（二）")
    page.locator("#submit-correction").click()
    expect(notice).to_contain_text(f"已记录对第 1 个回答的更正，谢谢！正确的出处：{CITY}#一（二）")
    expect(page.locator("#correct-source textarea")).to_have_value("")

    page.get_by_role("tab", name="文件库").click()
    declined = page.locator("#declined-questions")
    expect(declined).to_contain_text(UNANSWERABLE)
    expect(declined).not_to_contain_text(DEPARTMENT_QUESTION)  # answered: not a declined question

    with sqlite3.connect(feedback_file) as db:
        asked = db.execute("SELECT id, question, outcome, channel FROM asked ORDER BY id").fetchall()
        ratings = db.execute("SELECT asked_id, question, rating, correct_source, correct_ids FROM feedback ORDER BY id"
                             ).fetchall()
    assert [row[1:] for row in asked] == [(DEPARTMENT_QUESTION, "answered", "chat"), (UNANSWERABLE, "not_found", "chat")]
    first_id = asked[0][0]
    assert ratings[0] == (first_id, DEPARTMENT_QUESTION, -1, "", "[]")
    assert ratings[1][:4] == (first_id, DEPARTMENT_QUESTION, -1, f"《{CITY_TITLE}》一（二）")
    assert json.loads(ratings[1][4]) == [f"{CITY}#一（二）"] and len(ratings) == 2

    page.get_by_role("tab", name="问答").click()
    page.locator("#new-conversation").click()  # 新对话: nothing left to correct
    expect(target).to_have_value("")
    page.locator("#correct-source textarea").fill("一（二）")
    page.locator("#submit-correction").click()
    expect(notice).to_contain_text("还没有回答可以更正")
