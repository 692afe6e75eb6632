"""Sliding-window counts within one process (bids per second); passwords are throttled
across workers instead (core/accounts/throttle.py)."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable

from core.errors import (
    TooManyRequests,
)


class RateLimiter:
    """Sliding-window counts per key within one process (login attempts, bids)."""

    def __init__(
        self, limit: int, window_seconds: int, *, ticks: Callable[[], int] = time.monotonic_ns
    ) -> None:
        self.limit, self.window = limit, window_seconds * 1_000_000_000
        self._hits: dict[str, deque[int]] = defaultdict(deque)
        self._ticks = ticks

    def hit(self, *keys: str) -> None:
        """Count one attempt against every key; refuse when any key is over its limit."""
        self.check(*keys)
        self.record(*keys)

    def check(self, *keys: str) -> None:
        """Refuse (TooManyRequests) if any key has used up its attempts in the window."""
        now = self._ticks()
        for key in keys:
            hits = self._hits.get(key)
            if hits is None:
                continue
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if not hits:
                del self._hits[key]  # forget idle keys: guessed usernames must not pile up
                continue
            if len(hits) >= self.limit:
                raise TooManyRequests(
                    "rate_limited",
                    "操作过于频繁，请稍后再试",
                    retry_after=(hits[0] + self.window - now) // 10**9 + 1,
                )

    def record(self, *keys: str) -> None:
        now = self._ticks()
        for key in keys:
            self._hits[key].append(now)

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)
