"""One formatter for deadlines (core.clock.deadline_zh): a deadline at 00:00 of a day is the
24:00 of the day before, and the contract PDF, the notices and the pages write the same
words for the same moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from app.pages.labels import bj_end, deadline
from contracts import content, document
from core.clock import CHINA_TZ, deadline_zh, end_of_day, period_end
from tests.unit.test_contract_documents import AT, pdftotext, sample_data


def test_midnight_is_the_end_of_the_day_before() -> None:
    # 00:00 on 22 December, Beijing: the signing period's last day is the 21st.
    moment = datetime(2026, 12, 22, 0, 0, tzinfo=CHINA_TZ)
    assert deadline_zh(moment) == "2026年12月21日24:00"
    assert deadline_zh(moment.astimezone(UTC)) == "2026年12月21日24:00"
    assert period_end(moment) == (date(2026, 12, 21), "24:00")


def test_a_deadline_at_close_of_business_keeps_its_day_and_time() -> None:
    assert deadline_zh(datetime(2026, 12, 21, 17, 0, tzinfo=CHINA_TZ)) == "2026年12月21日17:00"
    # One second past midnight is already the new day's.
    assert deadline_zh(datetime(2026, 12, 22, 0, 0, 1, tzinfo=CHINA_TZ)) == "2026年12月22日00:00"


def test_the_end_of_a_day_is_written_as_that_day() -> None:
    assert end_of_day(date(2026, 12, 21)) == datetime(2026, 12, 21, 16, 0, tzinfo=UTC)
    assert deadline_zh(end_of_day(date(2026, 12, 21))) == "2026年12月21日24:00"


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_every_day_ends_on_itself(day: date) -> None:
    assert period_end(end_of_day(day)) == (day, "24:00")
    assert deadline_zh(end_of_day(day)) == f"{day.year}年{day.month}月{day.day}日24:00"


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_the_pages_two_forms_name_the_same_day_and_time(naive: datetime) -> None:
    moment = naive.replace(tzinfo=UTC)
    day, closing = period_end(moment)
    assert bj_end(moment) == f"{day:%Y-%m-%d} {closing}"
    assert deadline(moment) == deadline_zh(moment)
    assert deadline(None) == "—"
    # Never a later day than the moment's own, and never more than a day before it.
    local = moment.astimezone(CHINA_TZ).date()
    assert local - timedelta(days=1) <= day <= local


def test_the_contract_and_the_page_write_the_signing_deadline_alike(tmp_path: Path) -> None:
    """The contract's data (what the PDF prints) is the formatter's text for the deadline the
    pages read (`Contract.sign_deadline`, the end of the last day)."""
    data = sample_data()  # signing deadline: 28 December 2026
    moment = end_of_day(date(2026, 12, 28))
    assert data["dates"]["sign_deadline"] == deadline_zh(moment) == "2026年12月28日24:00"
    assert deadline(moment) == data["dates"]["sign_deadline"]
    for kind in ("contract", "confirmation"):
        text = pdftotext(document.render(kind, data, at=AT).pdf, tmp_path)
        if text is not None:
            assert "2026年12月28日24:00" in "".join(text.split()), kind
    assert content.TEMPLATE_VERSION == "4"
