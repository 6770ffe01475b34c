"""Readable times: Beijing time to the minute, whatever zone the server runs in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from rag.clock import readable_time


def test_iso_utc_becomes_beijing_time() -> None:
    assert readable_time("2026-11-26T04:57:35Z") == "2026-11-26 12:57"  # 04:57 UTC + 8 h
    assert readable_time("2026-11-26T20:30:00Z") == "2026-11-27 04:30"  # past midnight in Beijing: the next day
    assert readable_time("2026-01-01T00:00:00") == "2026-01-01 08:00"  # no zone: taken as UTC


def test_aware_times_keep_their_instant() -> None:
    assert readable_time(datetime(2026, 6, 1, 12, 5, tzinfo=timezone(timedelta(hours=8)))) == "2026-06-01 12:05"
    assert readable_time(datetime(2026, 6, 1, 0, 5, tzinfo=timezone(timedelta(hours=-5)))) == "2026-06-01 13:05"
