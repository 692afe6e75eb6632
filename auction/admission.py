"""What one client may hold and send in the live rooms: rooms per address, frames per second.

Both are per worker; nginx limits connections across workers (docs/security.md §7).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


class Admission:
    """Open rooms per client address on this worker, up to a limit (nginx limits them
    across workers): one address cannot hold thousands of sockets and their queues."""

    def __init__(self, per_address: int) -> None:
        self.per_address = per_address
        self.open: dict[str, int] = {}

    @contextlib.contextmanager
    def admit(self, address: str) -> Iterator[bool]:
        if self.open.get(address, 0) >= self.per_address:
            yield False
            return
        self.open[address] = self.open.get(address, 0) + 1
        try:
            yield True
        finally:
            left = self.open[address] - 1
            if left:
                self.open[address] = left
            else:
                del self.open[address]


class FrameBudget:
    """A token bucket of client frames per connection: `rate` a second, bursts of twice.

    Counted in integers: a frame costs one second's worth of nanoseconds, and every
    nanosecond of `clock_ns` earns `rate` of them."""

    FRAME = 1_000_000_000

    def __init__(self, rate: int, clock_ns: Callable[[], int]) -> None:
        self.rate, self.clock_ns = rate, clock_ns
        self.capacity = 2 * rate * self.FRAME
        self.tokens, self.at = self.capacity, clock_ns()

    def spend(self) -> bool:
        now = self.clock_ns()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < self.FRAME:
            return False
        self.tokens -= self.FRAME
        return True
