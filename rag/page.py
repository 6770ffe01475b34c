"""The page around the chat: Chinese in every browser, no Gradio footer, the page's own script and CSS.

Gradio words its own controls (“Drop File Here”, the login form, error toasts) in the browser's
language, read from `navigator.language` before the app's config arrives, and serves `<html lang="en">`.
Hotline staff on an English-language system got English controls in a Chinese app. `ChineseLocalePage`
rewrites the HTML page on its way out: `lang="zh-CN"`, and a first script that reports zh-CN as the
browser's language, so Gradio picks its Simplified Chinese strings. Pass `page_options()` to
`Blocks.launch` or `gr.mount_gradio_app`; both take the same keywords.
"""

from __future__ import annotations

import json
from typing import Any

import gradio as gr
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOCALE = "zh-CN"
_LOCALE_SCRIPT = (
    "<script>(() => { const report = (name, value) => Object.defineProperty(navigator, name, "
    "{ get: () => value, configurable: true }); "
    f"report('language', '{LOCALE}'); report('languages', ['{LOCALE}', 'zh']); }})();</script>"
).encode()

# Keys Gradio's Simplified Chinese strings lack: its screen-reader status line read out "common.complete".
MISSING_TRANSLATIONS = {"common.complete": "已完成"}
# Tooltips and screen-reader labels that Gradio writes in English whatever the locale.
ENGLISH_LABELS = {
    "Toggle Sidebar": "展开或收起侧栏", "Scroll down": "滚动到最新", "Copy": "复制", "Copy message": "复制消息",
    "Reset to default value": "恢复默认值", "More tabs": "更多标签页", "chatbot conversation": "对话",
    "Dataframe": "文件表", "Open cell menu": "打开列菜单", "File upload": "上传文件",
    "Click to upload or drop files": "点击上传或拖入文件", "Table actions": "表格操作", "Clear": "清空",
    "bot's message: a component of type html": "回答的出处",
}
ENGLISH_LABEL_PREFIXES = {
    "user's message: ": "提问：", "bot's message: ": "回答：", "number input for ": "输入数值：",
    "range slider for ": "滑块：", "Select example ": "示例 ",
}

# Called once the app is on the page (Gradio calls the function given as `js`). The sidebar starts open,
# which suits a desktop; on a phone it would cover the whole chat, so it is closed there. A click on
# 在文件中查看 in a source card (inside the chat, where components have no events of their own) is passed
# to Python through the visually hidden #open-clause box. Labels are translated as Gradio renders them.
PAGE_JS = """
() => {
  const labels = __LABELS__, prefixes = __PREFIXES__;
  const chinese = (value) => {
    if (value in labels) return labels[value];
    const prefix = Object.keys(prefixes).find((p) => value.startsWith(p));
    return prefix ? prefixes[prefix] + value.slice(prefix.length) : value;
  };
  const translate = (root) => {
    for (const element of root.querySelectorAll('[title], [aria-label]')) {
      for (const name of ['title', 'aria-label']) {
        const value = element.getAttribute(name);
        if (value && chinese(value) !== value) element.setAttribute(name, chinese(value));
      }
    }
  };
  translate(document);
  new MutationObserver((changes) => {
    for (const change of changes) {
      const target = change.type === 'attributes' ? change.target.parentElement : change.target;
      if (target) translate(target);
    }
  }).observe(document.body, {childList: true, subtree: true, attributes: true, attributeFilter: ['title', 'aria-label']});
  const narrow = window.matchMedia('(max-width: 768px)');
  let tries = 0;
  const closeSidebar = setInterval(() => {
    const toggle = document.querySelector('.sidebar.open .toggle-button');
    if (toggle || ++tries > 100) clearInterval(closeSidebar);
    if (toggle && narrow.matches) toggle.click();
  }, 100);
  document.addEventListener('click', (event) => {
    const opener = event.target.closest('[data-open-clause]');
    if (!opener) return;
    event.preventDefault();
    const box = document.querySelector('#open-clause textarea');
    if (!box) return;
    box.value = opener.dataset.openClause + '|' + Date.now();  // a new value each time: the same clause reopens
    box.dispatchEvent(new Event('input', { bubbles: true }));
  });
}
""".replace("__LABELS__", json.dumps(ENGLISH_LABELS, ensure_ascii=False)).replace(
    "__PREFIXES__", json.dumps(ENGLISH_LABEL_PREFIXES, ensure_ascii=False))


# 文件库's table on a phone: Gradio sizes columns as fractions of the width, and at 390 px the date and the
# clause count got one character a line. Below 640 px it shows 标题 · 日期 · 条款数 (the issuer is in the opened
# document's outline), date and count on one line; !important because Gradio writes its widths inline.
LIBRARY_TABLE_CSS = """
@media (max-width: 640px) {
  #documents .header-table, #documents .virtual-body { width: 100% !important; }
  #documents .header-table { table-layout: fixed; }
  #documents :is([data-col="1"], [data-col="4"], [data-heading="1"], [data-heading="4"],
                 .sizing-body td:nth-child(2), .sizing-body td:nth-child(5)) { display: none !important; }
  #documents [data-col="0"] { --width: calc(100% - 12em); }
  #documents :is([data-heading="0"], .sizing-body td) { --width: auto; }
  #documents :is([data-col="2"], [data-heading="2"]) { --width: 7.5em; }
  #documents :is([data-col="3"], [data-heading="3"]) { --width: 4.5em; }
  #documents :is([data-col="2"], [data-heading="2"], [data-col="3"], [data-heading="3"]) span { white-space: nowrap !important; }
  #documents :is([data-col], [data-heading], .sizing-body td) { flex: 0 0 var(--width) !important;
    width: var(--width) !important; min-width: var(--width) !important; max-width: var(--width) !important; }
}
"""
# Gradio's status line reads "processing | 1.2s" or "12/40 steps" in English in every locale. The spinner and
# the progress bar say enough, and an upload's own label counts its clauses in Chinese.
PAGE_CSS = ".progress-text { display: none !important; }" + LIBRARY_TABLE_CSS


class ChineseLocalePage:
    """ASGI middleware: HTML responses get `lang="zh-CN"` and the locale script first in `<head>`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                is_html = headers.get(b"content-type", b"").startswith(b"text/html")
                if not is_html or headers.get(b"content-encoding"):
                    await send(message)  # anything else passes untouched, and at once
                    return
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            page = localized_page(b"".join(body))
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(page)).encode())]})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, rewrite)


def localized_page(html: bytes) -> bytes:
    """The page with the Chinese lang attribute and the locale script before any of Gradio's scripts."""
    html = html.replace(b'lang="en"', f'lang="{LOCALE}"'.encode(), 1)
    return html.replace(b"<head>", b"<head>" + _LOCALE_SCRIPT, 1)


def page_options() -> dict[str, Any]:
    """Keywords for `Blocks.launch` / `gr.mount_gradio_app`: Chinese page, no footer, the page's script and CSS."""
    return {"footer_links": [], "js": PAGE_JS, "css": PAGE_CSS, "i18n": gr.I18n(**{LOCALE: MISSING_TRANSLATIONS}),
            "app_kwargs": {"middleware": [Middleware(ChineseLocalePage)]}}
