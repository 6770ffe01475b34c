"""Times as people here read them: Beijing time to the minute, "2026-11-26 12:57", never ISO "T…Z".

Beijing time (Asia/Shanghai, UTC+8 all year, no daylight saving since 1991) rather than the server's zone:
the readers are in China and servers often run on UTC. A fixed offset needs no tz database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "北京时间")


def readable_time(moment: datetime | str) -> str:
    """An aware datetime or ISO 8601 text ("2026-11-26T04:57:35Z") as "2026-11-26 12:57" Beijing time.

    A time without a zone is taken as UTC, the way the index and the run files record theirs.
    """
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def now_readable() -> str:
    return readable_time(datetime.now(UTC))
