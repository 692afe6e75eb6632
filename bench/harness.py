"""Shared bench plumbing: results as `name: value unit (ratio× baseline)` lines and JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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

    def line(self) -> str:
        ratio = f" ({self.ratio:.2f}× {self.baseline_name})" if self.ratio is not None else ""
        return f"{self.name}: {self.value:,.1f} {self.unit}{ratio}"


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
    baseline: float,
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
    print(
        f"  {figure.line()}  accepted {figure.extra['accepted_per_s']:.0f}/s, "
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
            {"machine": machine(), "figures": [asdict(f) | {"ratio": f.ratio} for f in figures]},
            ensure_ascii=False,
            indent=2,
        )
    )
