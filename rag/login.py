"""The chat's login check, with a growing delay after failed attempts so passwords cannot be tried at speed."""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import dataclass


@dataclass
class _Attempts:
    failures: int = 0
    next_at: float = 0.0  # monotonic time before which the next attempt waits


class LoginGuard:
    """The login check for one user name and password, with failed-login backoff (`auth=guard.check`).

    After `free_failures` failures for a name, every further attempt for it waits its turn: the turns are
    `base_delay_s`, then twice as long each time, up to `max_delay_s`. Attempts made at the same time queue
    for their turns, so parallel guessing gains nothing. A success resets the count. Unknown names share
    one count, so spraying names is slowed as well. Gradio's hook sees no client address, so the count is
    per name, not per IP. Waiting is `asyncio.sleep`: it holds no server thread.
    """

    def __init__(self, username: str, password: str, *, free_failures: int = 3, base_delay_s: float = 1.0,
                 max_delay_s: float = 60.0) -> None:
        if not username or not password:
            raise ValueError("LoginGuard needs a user name and a password")
        self.username = username
        self._password = password.encode()
        self.free_failures = free_failures
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self._attempts: dict[str, _Attempts] = {}

    def delay_after(self, failures: int) -> float:
        """The turn length after `failures` failed attempts: 0 while free, then base, 2×base, 4×base, …"""
        if failures < self.free_failures:
            return 0.0
        return min(self.base_delay_s * 2 ** (failures - self.free_failures), self.max_delay_s)

    async def check(self, username: str, password: str) -> bool:
        """The `auth` for gr.Blocks.launch; pass this bound method: Gradio awaits only real coroutine functions."""
        key = username if username == self.username else "\0unknown"
        attempts = self._attempts.setdefault(key, _Attempts())
        now = time.monotonic()
        turn = max(now, attempts.next_at)
        attempts.next_at = turn + self.delay_after(attempts.failures)  # reserved before waiting: parallel tries queue
        await asyncio.sleep(turn - now)
        accepted = hmac.compare_digest(username.encode(), self.username.encode()) & hmac.compare_digest(
            password.encode(), self._password)
        if accepted:
            self._attempts.pop(key, None)
        else:
            attempts.failures += 1
        return accepted
