"""The goals of `make bench` (docs/performance.md §1), in one place.

Each goal names the figures it applies to by the start of their name (a regular expression,
so one goal may cover several figures, e.g. every grouping of the statistics) and bounds
either the figure's ratio to the baseline measured in the same run or, where there is no
baseline, its value. The harness looks a figure's goal up here when it prints and records it;
the benchmark modules only name their figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

#: Units a value goal may be stated in, as multiples of the first of its kind.
_SCALE = {"ms": 1.0, "s": 1000.0, "messages": 1.0}


@dataclass(frozen=True)
class Goal:
    bench: str  # the benchmark module whose figures it bounds
    figure: str  # regular expression matched at the start of a figure's name
    at_least: bool  # True: the figure must reach `bound`; False: stay within it
    bound: float
    of: Literal["ratio", "value"] = "ratio"
    against: str = ""  # the baseline a ratio goal is stated against
    unit: str = ""  # the unit of a value goal
    title: str = ""  # how a summary names the goal when no figure matched it

    @property
    def label(self) -> str:
        return self.title or self.figure

    def matches(self, name: str) -> bool:
        return re.match(self.figure, name) is not None

    def text(self) -> str:
        sign = "≥" if self.at_least else "≤"
        if self.of == "ratio":
            return f"{sign} {self.bound:g}× {self.against}"
        return f"{sign} {self.bound:g} {self.unit}"

    def met(self, value: float, unit: str, ratio: float | None) -> bool | None:
        """Whether a figure meets the goal; None when it lacks what the goal compares."""
        if self.of == "ratio":
            measured = ratio
        elif unit in _SCALE and self.unit in _SCALE:
            measured = value * _SCALE[unit] / _SCALE[self.unit]
        else:
            measured = None
        if measured is None:
            return None
        return measured >= self.bound if self.at_least else measured <= self.bound


def _hot_lot(channel: str, bidders: int, bound: float) -> Goal:
    # The goals are for one worker; runs with more (RURALX_BENCH_WORKERS) are reported only.
    return Goal(
        "hot_lot",
        rf"bid acks, one hot lot, {channel}, {bidders} bidders?, 1 worker\b",
        True,
        bound,
        against=f"pgbench {bidders} clients",
        title=f"bid acks, one hot lot, {channel}, {bidders} bidders, 1 worker",
    )


GOALS: tuple[Goal, ...] = (
    _hot_lot("ws", 1, 0.6),
    _hot_lot("ws", 16, 1.5),
    _hot_lot("ws", 64, 3.0),
    _hot_lot("http", 1, 0.5),
    _hot_lot("http", 16, 0.8),
    _hot_lot("http", 64, 1.0),
    Goal(
        "many_lots",
        r"bid acks, 200 lots × 5 bidders, ws, 1 worker\b",
        True,
        0.6,
        against="pgbench 200 rows",
        title="bid acks, 200 lots × 5 bidders, ws, 1 worker",
    ),
    Goal("snapshot", r"auction snapshot GET", True, 0.9, against="Litestar hello-world"),
    Goal("fanout", r"fan-out completion p50, 1000 watchers", False, 1.1, against="bare broadcast"),
    Goal("fanout", r"fan-out completion p50, 5000 watchers", False, 1.2, against="bare broadcast"),
    Goal(
        "fanout",
        r"fan-out at 10 bids/s, 5000 watchers",
        False,
        2.0,
        against="bare p99, same run",
    ),
    Goal("fanout", r"fan-out messages lost", False, 0, of="value", unit="messages"),
    Goal("stats", r"stats(\[.*\])?$", False, 10, against="count(*)", title="stats[every grouping]"),
    Goal("disclosure", r"disclosure\[", False, 20, against="count(*)", title="disclosure[…]"),
    Goal("disclosure", r"dashboard collection rate", False, 20, against="count(*)"),
    Goal(
        "contract",
        r"contract PDF \+ two signatures",
        False,
        500,
        of="value",
        unit="ms",
        title="contract PDF + two signatures + timestamps",
    ),
)


def goal_for(name: str) -> Goal | None:
    """The first goal whose pattern matches the figure's name, if any."""
    return next((goal for goal in GOALS if goal.matches(name)), None)


def verdict(met: bool | None) -> str:
    return {True: "met", False: "not met", None: "no baseline"}[met]
