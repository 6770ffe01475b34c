"""The chat in a real headless Chromium (Debian's, not Playwright's download): ask, read the answer and its sources.

Leaves a full-page screenshot in artifacts/chat.png for a human look.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.config import PROJECT_ROOT, load_settings
from rag.pipeline import Pipeline
from tests.test_app import ACTION_PLAN_2022, DEPARTMENT_QUESTION, GRADIO_INTERNAL_WARNINGS, launch

pytestmark = [pytest.mark.browser, GRADIO_INTERNAL_WARNINGS]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOT = PROJECT_ROOT / "artifacts" / "chat.png"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module: Playwright's sync API allows one running instance per thread."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: `make browser` installs Debian's (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(corpus_pipeline: Pipeline, browser: Any) -> Iterator[Any]:
    for url in launch(corpus_pipeline):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = context.new_page()
        page.set_default_timeout(120_000)  # the first question may wait for the model on a busy machine
        page.goto(url)
        yield page
        context.close()


def test_asking_shows_the_answer_and_its_citation_card(page: Any) -> None:
    from playwright.sync_api import expect

    page.locator("#question textarea").fill(DEPARTMENT_QUESTION)
    page.locator("#question textarea").press("Enter")

    expect(page.locator("#citations .clause-card").first).to_be_visible()
    answer = page.locator(".message.bot, [data-testid='bot']").last
    expect(answer).to_contain_text("市场监管总局")
    expect(answer).to_contain_text("[1]")
    card = page.locator("#citations .clause-card", has_text=ACTION_PLAN_2022)
    expect(card).to_be_visible()
    expect(card).to_contain_text("（十六）提升质量基础设施服务效能")
    expect(card.locator(".department", has_text="市场监管总局")).to_be_visible()
    # The full clause text is folded until asked for.
    clause_text = card.locator(".clause-text")
    expect(clause_text).to_be_hidden()
    card.locator("summary").click()
    expect(clause_text).to_contain_text("大力开展质量基础设施“一站式”服务")
    # The plain-text copy for hotline staff holds the answer and its sources.
    expect(page.locator("#answer-text textarea")).to_have_value(
        re.compile(rf"^问：{re.escape(DEPARTMENT_QUESTION)}\n答：.*市场监管总局.*\n出处：\n\[1\] 《", re.S))

    SCREENSHOT.parent.mkdir(exist_ok=True)
    # A viewport as tall as the page keeps the fixed sidebar in place in a full-page capture.
    page.set_viewport_size({"width": 1280, "height": page.evaluate("document.documentElement.scrollHeight")})
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # One click puts the same text on the clipboard.
    page.locator("#copy-answer").click()
    expect(page.locator("#copy-answer")).to_contain_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == page.locator("#answer-text textarea").input_value()
    # The chat's own copy button copies the answer as written (the markup guard leaves ordinary text alone).
    page.get_by_role("button", name="Copy message").last.click()  # the last message is the answer
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "市场监管总局" in copied and "[1]" in copied and "&" not in copied and "\\" not in copied


# --- markup in documents (issue 11): shown as text, never loaded or linked ----------------------------

BEACON = "http://127.0.0.1:9"
MARKUP_DOCUMENT = (
    "关于网页信标测试的通知\n一、总体要求\n"
    f'（一）开展信标测试工作。信标测试须查看<img src="{BEACON}/beacon.png">和<a href="{BEACON}/a">官方链接</a>，'
    f"另见[说明]({BEACON}/md)与![图]({BEACON}/md.png)，[参考][r]，网址 {BEACON}/auto、www.example.com 和 "
    f"WWW.EXAMPLE.ORG，邮箱 a@example.com，公式$$\\href{{{BEACON}/tex}}{{x}}$$。（市信标局负责）\n"
)


@pytest.fixture(scope="module")
def markup_page(tmp_path_factory: pytest.TempPathFactory, default_embedder: Any, browser: Any) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("markup")
    (root / "corpus").mkdir()
    (root / "corpus" / "beacon.txt").write_text(MARKUP_DOCUMENT, encoding="utf-8")
    pipeline = Pipeline(load_settings(index_dir=str(root / "index"), corpus_paths=(str(root / "corpus"),)),
                        embedder=default_embedder)
    pipeline.ingest()
    for url in launch(pipeline):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(120_000)
        requests: list[str] = []
        page.beacon_requests = requests  # type: ignore[attr-defined]
        page.on("request", lambda request, seen=requests: request.url.startswith(BEACON) and seen.append(request.url))
        page.goto(url)
        yield page
        context.close()


def test_markup_in_a_document_is_shown_as_text(markup_page: Any) -> None:
    from playwright.sync_api import expect

    page = markup_page
    page.locator("#question textarea").fill("信标测试须查看什么？")
    page.locator("#question textarea").press("Enter")
    expect(page.locator("#citations .clause-card").first).to_be_visible()
    answer = page.locator(".message.bot, [data-testid='bot']").last
    expect(answer).to_contain_text('<img src="http://127.0.0.1:9/beacon.png">')  # the characters, as text
    expect(answer).to_contain_text(f"[说明]({BEACON}/md)")
    page.locator("#citations summary").first.click()
    expect(page.locator("#citations")).to_contain_text('<a href="http://127.0.0.1:9/a">')
    for region in (answer, page.locator("#citations")):
        assert region.locator("img, a, svg image, iframe, .katex").count() == 0, region.inner_html()
        assert BEACON not in " ".join(
            region.evaluate("e => [...e.querySelectorAll('[src],[href]')].map(n => n.getAttribute('src') || n.getAttribute('href'))"))
    assert page.beacon_requests == []  # type: ignore[attr-defined]
