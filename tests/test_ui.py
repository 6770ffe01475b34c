"""Upload progress text: the embedding stage shows its rate and the time left."""

from __future__ import annotations

from rag.ui import ProgressText


def test_progress_text_rate_and_time_left() -> None:
    now = [100.0]
    text = ProgressText(clock=lambda: now[0])
    assert text("chunk", 1, 3) == "切分条款 1/3"
    assert text("embed", 0, 500) == "计算向量 0/500"  # no rate before anything is done
    now[0] = 104.0
    # 120 clauses in 4 s = 30/s; 380 left / 30 = 12.7 s → 13
    assert text("embed", 120, 500) == "计算向量 120/500 · 每秒 30.0 条 · 约剩 13 秒"
    assert text("embed", 120, 5000) == "计算向量 120/5000 · 每秒 30.0 条 · 约剩 2 分 43 秒"  # 4880 / 30 = 162.7 s
