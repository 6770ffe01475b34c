"""The chat's correction selector: which answer a "正确的出处是…" is for (the browser test drives it for real)."""

from __future__ import annotations

from rag.chat_records import correction_choices


def test_the_selector_lists_each_answer_and_starts_on_the_latest() -> None:
    entries = [{"number": 1, "question": "哪些部门负责质量基础设施一站式服务？"},
               {"number": 2, "question": "民营企业可以获得哪些质量技术帮扶？\n另外，   中小企业计量服务有哪些支持政策？"}]
    update = correction_choices(entries)
    assert update["choices"] == [("第 1 个回答：哪些部门负责质量基础设施一站式服务？", 1),
                                 # a line break or a run of spaces is one space; 24 characters at most: 23 and "…"
                                 ("第 2 个回答：民营企业可以获得哪些质量技术帮扶？ 另外， 中…", 2)]
    assert update["value"] == 2
    empty = correction_choices(None)  # 新对话
    assert (empty["choices"], empty["value"]) == ([], None)
