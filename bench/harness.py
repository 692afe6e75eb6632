"""Shared bench plumbing: results as `name: value unit (ratio× baseline)` lines with their goal
(bench/goals.py) and whether it is met, JSON per benchmark, and the summary of a whole run."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.goals import GOALS, Goal, goal_for, verdict

RESULTS = Path(os.environ.get("RURALX_BENCH_OUT", "var/bench"))


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    higher_is_better: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.baseline:
            return None
        return self.value / self.baseline

    @property
    def goal(self) -> Goal | None:
        return goal_for(self.name)

    @property
    def met(self) -> bool | None:
        goal = self.goal
        return goal.met(self.value, self.unit, self.ratio) if goal else None

    def measured(self) -> str:
        return f"{self.value:,.1f} {self.unit}"

    def ratio_text(self) -> str:
        return f"{self.ratio:.2f}× {self.baseline_name}" if self.ratio is not None else ""

    def goal_text(self) -> str:
        return f"goal {self.goal.text()}: {verdict(self.met)}" if self.goal else ""

    def line(self) -> str:
        ratio = f" ({self.ratio_text()})" if self.ratio is not None else ""
        goal = f"  [{self.goal_text()}]" if self.goal else ""
        return f"{self.name}: {self.measured()}{ratio}{goal}"

    def record(self) -> dict[str, Any]:
        goal = self.goal
        return asdict(self) | {
            "ratio": self.ratio,
            "goal": goal.text() if goal else None,
            "met": self.met,
        }


def bid_acks(
    name: str,
    answered: int,
    accepted: int,
    latencies: list[float],
    seconds: float,
    baseline: float,
    baseline_name: str,
) -> Figure:
    """A bid-acknowledgement figure (commands/s, accepted/s, ack p50/p99), printed at once."""
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    return bid_ack_figure(name, answered, accepted, p50, p99, seconds, baseline, baseline_name)


def bid_ack_figure(
    name: str,
    answered: int,
    accepted: int,
    p50: float,
    p99: float,
    seconds: float,
    baseline: float | None,
    baseline_name: str,
) -> Figure:
    """`bid_acks` from percentiles a load generator measured itself (wrk), in seconds."""
    figure = Figure(
        name,
        answered / seconds,
        "bids/s",
        baseline,
        baseline_name,
        extra={"accepted_per_s": accepted / seconds, "p50_ms": p50 * 1000, "p99_ms": p99 * 1000},
    )
    # With its baseline still to come (measured after it), the goal waits for the report.
    head = figure.line() if baseline is not None else f"{name}: {figure.measured()}"
    print(
        f"  {head}  accepted {figure.extra['accepted_per_s']:.0f}/s, "
        f"p50 {figure.extra['p50_ms']:.1f} ms, p99 {figure.extra['p99_ms']:.1f} ms",
        flush=True,
    )
    return figure


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgres": _cmd(["psql", "--version"]),
        "nginx": _cmd(["nginx", "-v"]),
    }


def _cmd(args: list[str]) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=5)
        return (out.stdout or out.stderr).strip()
    except OSError:
        return "absent"


def report(figures: list[Figure], name: str) -> None:
    for f in figures:
        print(f.line(), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(
        json.dumps(
            {"machine": machine(), "figures": [f.record() for f in figures]},
            ensure_ascii=False,
            indent=2,
        )
    )


@dataclass
class Row:
    """One line of a run's summary: a figure with a goal or a ratio, or a goal not measured."""

    bench: str
    figure: str
    measured: str
    ratio: str
    goal: str
    verdict: str
    met: bool | None


def summary(results: dict[str, list[Figure] | None]) -> list[Row]:
    """Rows for every benchmark run, in run order: each figure that has a goal or a ratio (pure
    baselines are left out), then each of that benchmark's goals that no figure matched
    (`results[name]` is None when the benchmark crashed)."""
    rows = []
    for bench, figures in results.items():
        matched: set[Goal] = set()
        for f in figures or []:
            if f.goal is None and f.ratio is None:
                continue
            if f.goal:
                matched.add(f.goal)
            rows.append(
                Row(
                    bench,
                    f.name,
                    f.measured(),
                    f.ratio_text(),
                    f.goal.text() if f.goal else "",
                    verdict(f.met) if f.goal else "",
                    f.met,
                )
            )
        missing = "crashed" if figures is None else "not measured"
        unmatched = [g for g in GOALS if g.bench == bench and g not in matched]
        rows += [Row(bench, g.label, missing, "", g.text(), missing, None) for g in unmatched]
        if figures is None and not unmatched:
            rows.append(Row(bench, bench, missing, "", "", missing, None))
    return rows


_COLUMNS = ("figure", "measured", "ratio", "goal", "met?")


def _cells(row: Row) -> tuple[str, ...]:
    return (row.figure, row.measured, row.ratio, row.goal, row.verdict)


def summary_text(rows: list[Row]) -> str:
    widths = [max([len(c), *(len(_cells(r)[i]) for r in rows)]) for i, c in enumerate(_COLUMNS)]
    lines = [_COLUMNS, *map(_cells, rows)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def summary_markdown(rows: list[Row], heading: str) -> str:
    def cells(values: tuple[str, ...]) -> str:
        return "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"

    met = sum(r.met is True for r in rows)
    judged = sum(r.met is not None for r in rows)
    unjudged = sum(bool(r.goal) and r.met is None for r in rows)
    return "\n".join(
        [
            heading,
            "",
            cells(_COLUMNS),
            "|" + "---|" * len(_COLUMNS),
            *(cells(_cells(r)) for r in rows),
            "",
            f"{met} of {judged} goals met; {unjudged} not measured or without a baseline.",
            "",
        ]
    )


def write_summary(rows: list[Row], command: str = "make bench") -> None:
    """var/bench/summary.json and summary.md (a table to paste into docs/performance.md)."""
    facts = machine()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.json").write_text(
        json.dumps(
            {"command": command, "at": when, "machine": facts, "rows": [asdict(r) for r in rows]},
            ensure_ascii=False,
            indent=2,
        )
    )
    heading = f"`{command}`, {when}, {facts['cpus']} cores, {facts['postgres']}"
    (RESULTS / "summary.md").write_text(summary_markdown(rows, heading))
