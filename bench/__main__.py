"""`make bench`: every benchmark, each measuring its own baseline in the same run.

Prints one line per figure: `name: value unit (ratio× baseline)  [goal …: met]`, the goals
being those of bench/goals.py; JSON with machine facts goes to var/bench/. At the end, a
summary of every figure with a goal or a ratio, printed and written to var/bench/summary.json
and summary.md. Exits non-zero only when a benchmark crashed, not for a goal not met. Loads
are bounded in count and time and stay on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import shutil
import sys
import tempfile
from collections.abc import Iterator

from bench.harness import Figure, report, summary, summary_text, write_summary

BENCHMARKS = [
    "hot_lot",
    "many_lots",
    "snapshot",
    "fanout",
    "scale",
    "stats",
    "disclosure",
    "contract",
]


@contextlib.contextmanager
def _scratch() -> Iterator[None]:
    """A benchmark's temporary files (servers' work directories, scripts, keys) in one
    directory of its own, removed when it ends, crashed or not."""
    before, directory = tempfile.tempdir, tempfile.mkdtemp(prefix="ruralx-bench-")
    tempfile.tempdir = directory
    try:
        yield
    finally:
        tempfile.tempdir = before
        shutil.rmtree(directory, ignore_errors=True)


def main(names: list[str]) -> int:
    results: dict[str, list[Figure] | None] = {}
    for name in names or BENCHMARKS:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            print(f"{name}: not available ({exc})", flush=True)
            continue
        print(f"# {name}", flush=True)
        try:
            with _scratch():
                results[name] = asyncio.run(module.main())
            report(results[name] or [], name)
        except Exception as exc:  # one broken benchmark does not hide the others
            results[name] = None
            print(f"{name}: failed: {exc!r}", flush=True)
    rows = summary(results)
    print("\n# summary\n" + summary_text(rows), flush=True)
    write_summary(rows, f"python -m bench {' '.join(names)}" if names else "make bench")
    return 1 if any(figures is None for figures in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
