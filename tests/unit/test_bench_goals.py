"""The goals of `make bench` (bench/goals.py): which figure each bounds, when it is met, and the
run's summary (bench/harness.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import harness
from bench.goals import GOALS, goal_for
from bench.harness import Figure, summary, summary_markdown, summary_text


def hot_lot(channel: str, bidders: int, workers: int = 1) -> str:
    # The name bench/hot_lot.py gives its figures.
    return (
        f"bid acks, one hot lot, {channel}, {bidders} bidders, "
        f"{workers} worker{'s' if workers > 1 else ''}"
    )


@pytest.mark.parametrize(
    ("name", "bound"),
    [
        (hot_lot("ws", 1), 0.6),
        (hot_lot("ws", 16), 1.5),
        (hot_lot("ws", 64), 3.0),
        (hot_lot("http", 1), 0.5),
        (hot_lot("http", 16), 0.8),
        (hot_lot("http", 64), 1.0),
        ("bid acks, 200 lots × 5 bidders, ws, 1 worker", 0.6),
        ("auction snapshot GET", 0.9),
        ("fan-out completion p50, 1000 watchers, 2 workers + Redis", 1.1),
        ("fan-out completion p50, 5000 watchers, 2 workers + Redis", 1.2),
        ("fan-out at 10 bids/s, 5000 watchers: completion p99", 2.0),
        ("fan-out messages lost, 5000 watchers", 0),
        ("stats", 10),
        ("stats[town,category]", 10),
        ("stats[village, partial months, jurisdiction]", 10),
        ("disclosure[county] (goal: within 20× count(*))", 20),
        ("disclosure[town] (goal: within 20× count(*))", 20),
        ("dashboard collection rate (goal: within 20× count(*))", 20),
        ("contract PDF + two signatures + timestamps", 500),
    ],
)
def test_each_figure_of_the_goal_table_finds_its_goal(name: str, bound: float) -> None:
    goal = goal_for(name)
    assert goal is not None, name
    assert goal.bound == bound


@pytest.mark.parametrize(
    "name",
    [
        hot_lot("ws", 16, workers=2),  # more workers: reported, no goal
        hot_lot("ws", 160),
        "bid acks, 200 lots × 5 bidders, ws, 2 workers",
        "pgbench hot row, 16 clients",
        "fan-out at 10 bids/s, 1000 watchers: completion p99",
        "count(*) over 100000 listings",
        "stats over something else",
    ],
)
def test_figures_outside_the_goal_table_have_no_goal(name: str) -> None:
    assert goal_for(name) is None


def test_ratio_goals_compare_the_ratio_in_their_direction() -> None:
    at_least = Figure(hot_lot("ws", 16), 1500, "bids/s", 1000, "pgbench 16 clients")
    assert at_least.ratio == 1.5 and at_least.met is True
    at_least.value = 1499
    assert at_least.met is False
    at_most = Figure("stats", 40, "ms", 4, "count(*)", higher_is_better=False)
    assert at_most.met is True
    at_most.value = 41
    assert at_most.met is False
    assert "goal ≤ 10× count(*): not met" in at_most.line()


def test_a_ratio_goal_without_a_baseline_is_neither_met_nor_failed() -> None:
    figure = Figure("fan-out at 10 bids/s, 5000 watchers: completion p99", 700, "ms")
    assert figure.met is None
    assert "no baseline" in figure.line()


def test_value_goals_read_the_figures_unit() -> None:
    contract = "contract PDF + two signatures + timestamps"
    assert Figure(contract, 499, "ms").met is True
    assert Figure(contract, 0.49, "s").met is True
    assert Figure(contract, 0.51, "s").met is False
    assert Figure(contract, 0.4, "furlongs").met is None
    assert Figure("fan-out messages lost, 1000 watchers", 0, "messages").met is True
    assert Figure("fan-out messages lost, 1000 watchers", 1, "messages").met is False


def test_the_summary_keeps_goals_and_ratios_and_names_what_was_not_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results: dict[str, list[Figure] | None] = {
        "hot_lot": [
            Figure("pgbench hot row, 16 clients", 1000, "tps"),  # a baseline alone: left out
            Figure(hot_lot("ws", 16), 900, "bids/s", 1000, "pgbench 16 clients"),
            Figure(hot_lot("ws", 16, workers=2), 1800, "bids/s", 1000, "pgbench 16 clients"),
        ],
        "contract": None,  # crashed
        "scale": None,  # crashed, and has no goal
    }
    rows = summary(results)
    figures = [r.figure for r in rows]
    assert "pgbench hot row, 16 clients" not in figures
    assert rows[0].figure == hot_lot("ws", 16) and rows[0].verdict == "not met"
    assert (
        rows[0].ratio == "0.90× pgbench 16 clients" and rows[0].goal == "≥ 1.5× pgbench 16 clients"
    )
    assert rows[1].goal == "" and rows[1].ratio.startswith("1.80×")  # reported without a goal
    # Every other hot-lot goal is listed as not measured, the crashed contract's as crashed.
    unmeasured = [r for r in rows if r.verdict == "not measured"]
    assert len(unmeasured) == sum(g.bench == "hot_lot" for g in GOALS) - 1
    assert [r.verdict for r in rows if r.bench == "contract"] == ["crashed"]
    assert [(r.figure, r.verdict) for r in rows if r.bench == "scale"] == [("scale", "crashed")]
    assert hot_lot("http", 64) in figures

    text = summary_text(rows)
    assert len(text.splitlines()) == len(rows) + 1
    markdown = summary_markdown(rows, "run")
    assert markdown.count("\n| ") == len(rows) + 1
    judged = sum(r.verdict in ("met", "not met") for r in rows)
    assert f"0 of {judged} goals met; {sum(bool(r.goal) for r in rows) - judged} not" in markdown

    monkeypatch.setattr(harness, "RESULTS", tmp_path)
    monkeypatch.setattr(harness, "machine", lambda: {"cpus": 2, "postgres": "pg"})
    harness.write_summary(rows)
    written = json.loads((tmp_path / "summary.json").read_text())
    assert [r["figure"] for r in written["rows"]] == figures
    assert (tmp_path / "summary.md").read_text().startswith("`make bench`")
