"""The priority draw, made once when the auction opens and recorded with its seed.

Holders of a priority right are ordered by sha256(seed + bidder number): anyone with the
recorded seed can redo the draw and check the order the engine was given.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def draw_priority_order(holders: Sequence[str], seed: bytes) -> tuple[str, ...]:
    """Order priority-right holders by sha256(seed + holder); anyone with the seed can redo it."""
    if len(set(holders)) != len(holders):
        raise ValueError("a holder is listed twice")
    return tuple(sorted(holders, key=lambda h: (hashlib.sha256(seed + h.encode()).digest(), h)))
