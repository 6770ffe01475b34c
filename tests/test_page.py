"""The served page is Chinese whatever the browser's language: checked on the HTML a real server sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rag.config import load_settings
from rag.page import LOCALE, localized_page
from rag.pipeline import Pipeline
from tests.conftest import HashingEmbedder
from tests.test_app import GRADIO_INTERNAL_WARNINGS, launch

pytestmark = GRADIO_INTERNAL_WARNINGS


def test_localized_page_sets_the_language_before_any_other_script() -> None:
    page = b'<!doctype html><html\n\tlang="en"><head><meta charset="utf-8" /><script>gradio()</script></head></html>'
    localized = localized_page(page)
    assert b'lang="zh-CN"' in localized and b'lang="en"' not in localized
    assert localized.index(b"navigator, name") < localized.index(b"gradio()")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over no index at all: the page around it is what is tested here."""
    directory = tmp_path_factory.mktemp("page") / "index"
    yield from launch(Pipeline(load_settings(index_dir=str(directory)), embedder=HashingEmbedder()))


def test_the_served_page_is_chinese_and_other_responses_pass_untouched(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        # An English browser, asking for compressed pages as browsers do.
        page = http.get("/", headers={"Accept-Language": "en-US,en", "Accept-Encoding": "gzip, br"})
        assert page.status_code == 200
        assert f'lang="{LOCALE}"' in page.text and "report('language', 'zh-CN')" in page.text
        assert page.text.index("report('language'") < page.text.index("window.gradio_config")
        config: Any = http.get("/config").json()
        assert config["footer_links"] == []  # no “Use via API · Built with Gradio · Settings”
        assert "zh-CN" not in http.get("/gradio_api/info").text  # JSON is not rewritten
