"""The income board's pure parts: sums and rollups, the lease year and its rent, the bar
chart geometry (oversight.disclosure.rules, app.pages.charts)."""

from __future__ import annotations

from datetime import date

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from app.pages.charts import BAR_STEP, ROW_GAP, hbars
from listings import economics
from listings.schemas import Terms
from oversight.demo.leases import schedule
from oversight.disclosure.rules import (
    Sums,
    Tally,
    lease_year,
    parent,
    rent_in_year,
    rollup,
    yearly_rents,
)


def terms(**extra: object) -> Terms:
    base = {
        "listing_price_fen": 1_200_000,
        "price_unit": "per_year",
        "term_years": 10,
        "payment": "annual",
        "increment_fen": 24_000,
        "max_steps": 10,
        "deposit_fen": 200_000,
    }
    return msgspec.convert(base | extra, Terms)


def test_collection_rate_is_exact_half_up_and_absent_when_nothing_is_due() -> None:
    assert Sums(7_200_000, 5_800_000).collection_rate() == "80.56"
    assert Sums(3, 1).collection_rate() == "33.33"
    assert Sums(2_400_000, 2_400_000).collection_rate() == "100.00"
    assert Sums().collection_rate() is None


def test_rollup_sums_villages_into_towns_and_counties() -> None:
    a = Tally(1, {2027: Sums(100, 100), 2028: Sums(100, 40, 60)}, {2: Sums(100, 40, 60)})
    b = Tally(2, {2028: Sums(50, 50, 0, 10)}, {})
    c = Tally(0, {}, {})
    villages = {"省/市/县/甲镇/一村": a, "省/市/县/甲镇/二村": b, "省/市/县/乙镇/三村": c}
    towns = rollup(villages, {p: parent(p) for p in villages})
    assert set(towns) == {"省/市/县/甲镇", "省/市/县/乙镇"}
    town = towns["省/市/县/甲镇"]
    assert town.leases_in_force == 3
    assert town.years == {2027: Sums(100, 100), 2028: Sums(150, 90, 60, 10)}
    assert town.months == {2: Sums(100, 40, 60)}
    assert town.total() == Sums(250, 190, 60, 10)
    (county,) = rollup(towns, {t: parent(t) for t in towns}).values()
    assert county.total() == town.total() and county.leases_in_force == 3
    # The parts are not changed by adding them up.
    assert a.years[2028] == Sums(100, 40, 60)


sums = st.builds(Sums, *(st.integers(0, 10**12) for _ in range(4)))
tallies = st.builds(
    Tally,
    st.integers(0, 50),
    st.dictionaries(st.integers(2020, 2035), sums, max_size=5),
    st.dictionaries(st.integers(1, 12), sums, max_size=5),
)


@given(st.lists(st.tuples(st.sampled_from("甲乙丙"), tallies), max_size=8))
def test_rollup_totals_equal_the_sum_of_the_parts(parts: list[tuple[str, Tally]]) -> None:
    villages = {f"县/{town}镇/{i}村": t for i, (town, t) in enumerate(parts)}
    expected = Sums()
    for tally in villages.values():
        expected.add(tally.total())
    towns = rollup(villages, {p: parent(p) for p in villages})
    whole = Sums()
    for tally in towns.values():
        whole.add(tally.total())
    assert whole == expected
    assert sum(t.leases_in_force for t in towns.values()) == sum(
        t.leases_in_force for _, t in parts
    )


def test_lease_year_counts_from_the_start_day() -> None:
    start = date(2027, 2, 1)
    assert lease_year(start, date(2026, 12, 1)) == 1  # not begun: still shown as year 1
    assert lease_year(start, start) == 1
    assert lease_year(start, date(2028, 1, 31)) == 1
    assert lease_year(start, date(2028, 2, 1)) == 2
    assert lease_year(start, date(2029, 3, 15)) == 3
    assert lease_year(date(2024, 2, 29), date(2025, 2, 28)) == 1
    assert lease_year(date(2024, 2, 29), date(2025, 3, 1)) == 2


def test_yearly_rent_with_and_without_escalation() -> None:
    flat = yearly_rents(terms(), 2_400_000)
    assert flat == (2_400_000,) * 10 and rent_in_year(flat, 3) == 2_400_000
    rising = yearly_rents(terms(escalation={"every_years": 3, "percent": "5"}), 2_400_000)
    assert rising[:4] == (2_400_000, 2_400_000, 2_400_000, 2_520_000)
    assert rising[6] == 2_646_000  # compound: 2,520,000 × 1.05
    assert rent_in_year(rising, 4) == 2_520_000
    assert rent_in_year(rising, 99) == rising[-1] and rent_in_year(rising, 0) == rising[0]
    per_mu = yearly_rents(
        terms(price_unit="per_mu_year", area="12.5", term_years=2, term_months=6), 80_000
    )
    assert per_mu == (1_000_000,) * 3  # a last part-year counts as a year


def test_bars_scale_to_the_largest_value_with_one_bar_per_series() -> None:
    chart = hbars([("2027年", (200, 100), ("a", "b")), ("2028年", (0, 1), ("c", "d"))], 300)
    step = 2 * BAR_STEP + ROW_GAP
    assert chart["height"] == 2 * step + 8
    first, second = chart["rows"]
    assert [(b["y"], b["w"], b["cls"], b["note"]) for b in first["bars"]] == [
        (0, 300, "bar", "a"),
        (BAR_STEP, 150, "bar alt", "b"),
    ]
    assert second["y"] == step
    assert [b["w"] for b in second["bars"]] == [0, 2]  # zero draws nothing; tiny shows
    assert hbars([]) == {"rows": [], "height": 8}
    assert [b["w"] for b in hbars([("x", (0,), ("",))])["rows"][0]["bars"]] == [0]


# --- the demo's integer schedule is the drafting's -----------------------------------------

schedule_terms = st.builds(
    lambda unit, years, months, payment, free, escalate, every, percent, area: terms(
        price_unit=unit,
        term_years=years,
        term_months=months,
        payment=payment,
        rent_free_months=min(free, years * 12 + months - 1),
        escalation={"every_years": every, "percent": str(percent)} if escalate else None,
        area=area if unit == "per_mu_year" else None,
    ),
    st.sampled_from(["per_year", "per_mu_year", "per_month"]),
    st.integers(1, 30),
    st.integers(0, 11),
    st.sampled_from(["annual", "semiannual", "quarterly", "monthly", "lump_sum"]),
    st.integers(0, 14),
    st.booleans(),
    st.integers(1, 5),
    st.sampled_from([3, 5, "2.5"]),
    st.sampled_from(["1", "12.5", "7.25", "333"]),
)


@given(schedule_terms, st.integers(1, 10**9))
def test_the_demo_schedule_equals_the_contracts(t: Terms, final_fen: int) -> None:
    expected = [
        (i.months[0], i.months[1], i.amount_fen) for i in economics.schedule_of(t, final_fen)
    ]
    assert schedule(t, final_fen) == expected
