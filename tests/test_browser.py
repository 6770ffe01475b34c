"""The chat in a real headless Chromium (Debian's, not Playwright's download), at desktop and phone widths.

The browsers speak English (locale en-US): the page must still be Chinese throughout. Screenshots for a
human look land in artifacts/: chat-desktop.png, chat-phone.png, library-phone.png, library-table-phone.png,
search-desktop.png.
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
ARTIFACTS = PROJECT_ROOT / "artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}  # an iPhone 12-14 in CSS pixels
# Gradio's English defaults, as a user would meet them in our page: upload area, footer, labels, status line.
GRADIO_ENGLISH = [
    "Drop File Here", "Click to Upload", "- or -", "Use via API", "Built with Gradio", "Settings", "Textbox",
    "Chatbot", "Submit", "Clear", "Loading", "processing", "queue:", "Copy", "Dataframe", "Examples", "Upload",
    "Scroll down", "Toggle Sidebar", "Login", "Username", "Password", "Error", "Flag", "Share", "Search",
]  # fmt: skip
# Where documents' own words show (titles, file names, clause text): data, not the UI's wording.
DATA_REGIONS = "#chat .message-row, #documents [role=gridcell], #documents tbody, #outline, #results, #answer-text"
VISIBLE_UI_TEXT_JS = f"""() => {{
  const data = [...document.querySelectorAll({DATA_REGIONS!r})];
  const texts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {{
    const element = node.parentElement;
    if (!element || data.some(region => region.contains(element)) || !element.checkVisibility()) continue;
    if (node.textContent.trim()) texts.push(node.textContent.trim());
  }}
  for (const element of document.querySelectorAll('[title], [placeholder], [aria-label]')) {{
    if (data.some(region => region.contains(element))) continue;
    for (const name of ['title', 'placeholder', 'aria-label']) if (element.getAttribute(name)) texts.push(element.getAttribute(name));
  }}
  return texts;
}}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module: Playwright's sync API allows one running instance per thread."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: `make browser` installs Debian's (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
    sync_api.expect.set_options(timeout=120_000)  # answers wait for the model on a busy machine
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def app_url(corpus_pipeline: Pipeline) -> Iterator[str]:
    yield from launch(corpus_pipeline)


def open_page(browser: Any, url: str, viewport: dict[str, int]) -> Any:
    context = browser.new_context(viewport=viewport, locale="en-US")  # an English browser
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(120_000)  # the first question may wait for the model on a busy machine
    page.goto(url)
    page.locator("#question textarea").wait_for()
    return page


@pytest.fixture
def desktop(browser: Any, app_url: str) -> Iterator[Any]:
    page = open_page(browser, app_url, DESKTOP)
    yield page
    page.context.close()


@pytest.fixture
def phone(browser: Any, app_url: str) -> Iterator[Any]:
    page = open_page(browser, app_url, PHONE)
    yield page
    page.context.close()


def ask(page: Any, question: str) -> Any:
    """Ask in the chat; the last answer's bubble once its sources are there."""
    from playwright.sync_api import expect

    answers = page.locator("#chat .message-row.bot-row")
    before = answers.count()
    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")
    expect(answers).to_have_count(before + 1)
    return answers.last


def english_ui_strings(page: Any) -> list[str]:
    """Visible UI text, tooltips, placeholders and screen-reader labels holding Gradio's English or any Latin word."""
    found = []
    for text in page.evaluate(VISIBLE_UI_TEXT_JS):
        words = re.sub(r"\.[a-z]{2,8}\b", "", text)  # "支持 .txt .md …": file types, not words
        if any(english in text for english in GRADIO_ENGLISH) or re.search(r"[A-Za-z]{3,}", words):
            found.append(text)
    return found


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    # A viewport as tall as the page keeps the fixed sidebar in place in a full-page capture.
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": page.evaluate("document.documentElement.scrollHeight")})
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    page.set_viewport_size(size)


# --- desktop -------------------------------------------------------------------------------------


def test_the_page_is_chinese_in_an_english_browser(desktop: Any) -> None:
    from playwright.sync_api import expect

    page = desktop
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    expect(page.locator("#chat")).to_contain_text("哪些部门负责质量基础设施一站式服务？")  # the examples
    assert english_ui_strings(page) == []
    ask(page, DEPARTMENT_QUESTION)
    page.get_by_role("tab", name="文件库").click()
    expect(page.locator("#documents")).to_contain_text(ACTION_PLAN_2022)
    expect(page.get_by_text("将文件拖放到此处")).to_be_visible()  # Gradio's upload area, in Chinese
    assert english_ui_strings(page) == []
    page.get_by_role("tab", name="条款检索").click()
    assert english_ui_strings(page) == []


def test_sources_sit_under_their_answer_and_markers_jump_to_them(desktop: Any) -> None:
    from playwright.sync_api import expect

    page = desktop
    examples = page.locator("#chat").get_by_text("参与制定国家标准，市里奖励多少？", exact=True)
    expect(examples).to_be_visible()  # offered in the empty chat
    answer = ask(page, DEPARTMENT_QUESTION)
    expect(examples).to_be_hidden()  # gone once the conversation starts
    text, sources = answer.locator(".message-content").first, answer.locator(".sources")
    expect(text).to_contain_text("市场监管总局")
    expect(sources.locator(".clause-card").first).to_be_visible()
    # Directly under the answer's text, in the same bubble: nothing in between. Read until the layout settles (on a
    # loaded machine the bubble was once measured mid-render, 44 px).
    gap = -1.0
    for _ in range(10):
        gap = sources.bounding_box()["y"] - (text.bounding_box()["y"] + text.bounding_box()["height"])
        if 0 <= gap < 40:
            break
        page.wait_for_timeout(300)
    assert 0 <= gap < 40, gap
    card = page.locator("#source-1-1")
    expect(card).to_contain_text(ACTION_PLAN_2022)
    expect(card).to_contain_text("（十六）提升质量基础设施服务效能")
    expect(card.locator(".department", has_text="市场监管总局")).to_be_visible()
    clause_text = card.locator(".clause-text")
    expect(clause_text).to_be_hidden()  # folded until asked for
    card.locator("summary").click()
    expect(clause_text).to_contain_text("大力开展质量基础设施“一站式”服务")
    screenshot(page, "chat-desktop.png")

    # [2] and then [1]: each jumps to its own card, which is marked.
    text.locator("a", has_text="[2]").click()
    expect(page.locator("#source-1-2")).to_be_in_viewport()
    text.locator("a", has_text="[1]").click()
    assert page.evaluate("location.hash") == "#source-1-1"
    expect(card).to_be_in_viewport()
    assert card.evaluate("element => element.matches(':target')")

    # A follow-up gets its own cards: its [1] is card 1 of turn 2, not of the first answer.
    second = ask(page, "那牵头的是哪个部门？")
    expect(second.locator("#source-2-1")).to_be_visible()
    assert second.locator("a", has_text="[1]").first.get_attribute("href") == "#source-2-1"

    # The plain-text copy for hotline staff holds the latest answer and its sources; one click copies it.
    expect(page.locator("#answer-text textarea")).to_have_value(re.compile(r"^问：那牵头的是哪个部门？\n答：.*\n出处：\n\[1\] 《", re.S))
    page.locator("#copy-answer").click()
    expect(page.locator("#copy-answer")).to_contain_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == page.locator("#answer-text textarea").input_value()

    page.locator("#new-conversation").click()  # 新对话: the examples are back
    expect(examples).to_be_visible()


def test_a_cited_clause_opens_in_place_within_its_document(desktop: Any) -> None:
    from playwright.sync_api import expect

    page = desktop
    ask(page, DEPARTMENT_QUESTION)
    page.locator("#source-1-1 .open-in-document").click()
    expect(page.get_by_role("tab", name="文件库", selected=True)).to_be_visible()
    opened = page.locator("#outline .outline-clause.opened")
    expect(opened).to_have_attribute("data-clause", "2022-18-departments-quality-improvement#六（十六）")
    expect(opened.locator(".clause-text")).to_be_visible()  # unfolded…
    expect(opened).to_be_in_viewport()  # …and scrolled to, among the document's other clauses
    expect(page.locator("#outline .outline-clause")).to_have_count(11)
    expect(page.locator("#outline")).to_contain_text("六、以质量变革创新推动质量持续提升")
    # Any document opens from the table as well.
    page.locator("#documents [role=gridcell]", has_text="2014-quality-outline-action-plan.txt").click()
    expect(page.locator("#outline")).to_contain_text("贯彻实施质量发展纲要2014年行动计划")
    expect(page.locator("#outline .outline-clause")).to_have_count(17)


def test_search_marks_the_words_and_counts_every_match(desktop: Any) -> None:
    from playwright.sync_api import expect

    page = desktop
    page.get_by_role("tab", name="条款检索").click()
    page.get_by_label("检索词").fill("一站式")
    page.get_by_label("检索词").press("Enter")
    expect(page.locator("#results .count")).to_have_text("共找到 10 条，按相关度排序（其中 6 条不含检索词，意思相近）。")
    expect(page.locator("#results .snippet mark", has_text="一站式").first).to_be_visible()
    screenshot(page, "search-desktop.png")


# --- phone ---------------------------------------------------------------------------------------


def test_the_chat_is_usable_on_a_phone(phone: Any) -> None:
    from playwright.sync_api import expect

    page = phone
    expect(page.locator(".sidebar")).not_to_have_class(re.compile(r"\bopen\b"))  # closed: it would cover the chat
    expect(page.locator("#question textarea")).to_be_in_viewport()
    expect(page.locator("#ask")).to_be_in_viewport()
    answer = ask(page, DEPARTMENT_QUESTION)
    expect(answer.locator("#source-1-1")).to_be_visible()
    assert answer.bounding_box()["width"] <= PHONE["width"]  # no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert english_ui_strings(page) == []
    screenshot(page, "chat-phone.png")
    page.locator(".sidebar .toggle-button").click()  # and it still opens on request
    expect(page.locator(".sidebar")).to_have_class(re.compile(r"\bopen\b"))


def test_the_library_table_shows_its_last_row(phone: Any) -> None:
    from playwright.sync_api import expect

    page = phone  # narrow: titles wrap, rows grow, the table outgrew its old 500 px cap
    page.get_by_role("tab", name="文件库").click()
    last = page.locator("#documents [role=row]").last
    expect(last).to_contain_text("关于全面提升产品质量的实施意见")
    # No scrolling inside the table (it hid the rows below 500 px); the page scrolls to its end instead.
    inner = page.locator("#documents .virtual-table-viewport")
    assert inner.evaluate("e => e.scrollHeight <= e.clientHeight + 1"), inner.evaluate("e => [e.scrollHeight, e.clientHeight]")
    page.locator("#documents").evaluate("e => e.scrollIntoView({block: 'end'})")
    table = page.locator("#documents .table-wrap").bounding_box()
    row = last.bounding_box()
    assert row["y"] + row["height"] <= table["y"] + table["height"] + 1, (row, table)  # not cut off
    expect(last).to_be_in_viewport(ratio=1.0)
    screenshot(page, "library-phone.png")


def test_the_library_table_reads_on_a_phone(phone: Any) -> None:
    from playwright.sync_api import expect

    page = phone  # 390 px: 标题, 日期 and 条款数 only, the date and the count each on one line
    page.get_by_role("tab", name="文件库").click()
    dates = page.locator('#documents [role=gridcell][data-col="2"] span')
    expect(dates.first).to_have_text("2014-04-21")
    headers = page.locator("#documents [role=columnheader]")
    shown = headers.evaluate_all("hs => hs.filter(h => h.checkVisibility()).map(h => h.innerText.trim())")
    assert shown == ["标题", "日期", "条款数"]  # the issuer is in the opened outline, the file name in 来源文件 on a desktop
    line = "e => [e.getBoundingClientRect().height, parseFloat(getComputedStyle(e).lineHeight)]"
    for cells in (dates, page.locator('#documents [role=gridcell][data-col="3"] span'), headers.locator("span")):
        for height, line_height in cells.evaluate_all(f"cells => cells.map({line})"):
            assert height < 1.5 * line_height, (height, line_height)  # one line, not a character a line
    title, date = (page.locator(f'#documents [data-testid="cell-0-{col}"]').bounding_box() for col in (0, 2))
    assert title["width"] > date["width"] and title["x"] + title["width"] <= date["x"] + 1  # the title has the room
    table = page.locator("#documents .virtual-table-viewport")
    assert table.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "the table scrolls sideways"
    page.locator("#documents").screenshot(path=str(ARTIFACTS / "library-table-phone.png"))
    page.locator('#documents [data-testid="cell-1-0"]').click()  # a row still opens its document
    expect(page.locator("#outline")).to_contain_text("市场监管总局、全国工商联")


# --- login ---------------------------------------------------------------------------------------


def test_the_login_form_is_chinese_too(browser: Any, corpus_pipeline: Pipeline) -> None:
    from playwright.sync_api import expect

    from app import build_app
    from rag.page import page_options
    from tests.test_app import free_port

    demo = build_app(corpus_pipeline)
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                            auth=lambda user, password: False, **page_options())
    try:
        context = browser.new_context(viewport=DESKTOP, locale="en-US")
        page = context.new_page()
        page.goto(url)
        expect(page.get_by_role("button", name="登录")).to_be_visible()
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert english_ui_strings(page) == []
        context.close()
    finally:
        demo.close()


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
        context = browser.new_context(viewport=DESKTOP)
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
    bubble = ask(page, "信标测试须查看什么？")
    answer, sources = bubble.locator(".message-content").first, bubble.locator(".sources")
    expect(sources.locator(".clause-card").first).to_be_visible()
    expect(answer).to_contain_text('<img src="http://127.0.0.1:9/beacon.png">')  # the characters, as text
    expect(answer).to_contain_text(f"[说明]({BEACON}/md)")
    sources.locator("summary").first.click()
    expect(sources).to_contain_text('<a href="http://127.0.0.1:9/a">')
    for region in (answer, sources):
        # Only our own [n] links, to the cards on this page.
        links = region.evaluate("e => [...e.querySelectorAll('a')].map(a => a.getAttribute('href'))")
        assert all(re.fullmatch(r"#source-\d+-\d+", href or "") for href in links), links
        assert region.locator("img, svg image, iframe, .katex").count() == 0, region.inner_html()
        assert BEACON not in " ".join(
            region.evaluate("e => [...e.querySelectorAll('[src],[href]')].map(n => n.getAttribute('src') || n.getAttribute('href'))"))
    assert page.beacon_requests == []  # type: ignore[attr-defined]
