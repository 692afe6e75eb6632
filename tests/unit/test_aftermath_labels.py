"""How the pages write what follows the hammer (app.pages.labels, app.pages.timeline): period
ends as the Civil Code counts them, and ledger entries in words, never their codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.pages.labels import LEDGER_TYPES_ZH, bj_end
from app.pages.timeline import _detail
from core.clock import CHINA_TZ
from oversight.views import TYPE_NAMES_ZH


def test_a_period_ending_at_midnight_ends_at_24_00_of_its_last_day() -> None:
    # Friday 18 December, 24:00 Beijing = Saturday 19 December, 00:00 = Friday 16:00 UTC.
    assert bj_end(datetime(2026, 12, 18, 16, 0, tzinfo=UTC)) == "2026-12-18 24:00"
    assert bj_end("2026-12-19T00:00:00+08:00") == "2026-12-18 24:00"
    assert bj_end(datetime(2026, 12, 18, 17, 0, tzinfo=CHINA_TZ)) == "2026-12-18 17:00"
    assert bj_end(None) == "—"


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_the_written_end_names_the_same_moment(local: datetime) -> None:
    moment = local.replace(tzinfo=CHINA_TZ)
    day, clock = bj_end(moment).split(" ")
    if clock == "24:00":
        read = datetime.fromisoformat(day).replace(tzinfo=CHINA_TZ) + timedelta(days=1)
    else:
        read = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=CHINA_TZ)
    assert read == moment.replace(second=0, microsecond=0)


AFTERMATH = (
    "deal.published",
    "deal.confirmed",
    "deal.voided",
    "deal.offered",
    "deal.offer_accepted",
    "deal.offer_declined",
    "deal.defaulted",
    "objection.filed",
    "objection.decided",
    "deposit.held_for_runner_up",
)


def test_every_entry_after_the_hammer_has_a_name_on_the_pages_and_for_regulators() -> None:
    for entry in AFTERMATH:
        assert LEDGER_TYPES_ZH.get(entry), entry
        assert TYPE_NAMES_ZH.get(entry), entry


def test_the_timeline_says_reasons_and_decisions_in_words() -> None:
    assert _detail("deal.voided", {"reason": "objection_upheld"}) == "理由：异议成立"
    assert _detail("listing.concluded", {"reason": "offer_expired", "outcome": "deal_voided"}) == (
        "理由：候补竞买人逾期未答复；成交已撤销"
    )
    assert _detail(
        "deal.defaulted", {"reason": "withdrew", "note": "书面放弃", "forfeited_fen": 200_000}
    ) == ("理由：竞得后放弃（悔拍）；说明：书面放弃；没收保证金 ¥2,000.00")
    assert _detail("objection.decided", {"decision": "dismissed", "reason": "出价记录无误"}) == (
        "结论：已驳回；理由：出价记录无误"
    )
    assert (
        _detail("deal.published", {"publicity_ends_at": "2026-12-19T00:00:00+08:00"})
        == "公示期至 2026-12-18 24:00"
    )
    assert _detail(
        "deal.offered",
        {
            "bidder_number": "4821",
            "final_fen": 1_248_000,
            "offer_expires_at": "2026-12-24T00:00:00+08:00",
        },
    ) == ("竞买号 4821，价格 ¥12,480.00，答复期限 2026-12-23 24:00")
    # A code the pages do not know is left out rather than shown.
    assert _detail("deal.voided", {"reason": "something_new"}) == ""
    # A person's own reason is shown as written.
    assert _detail("listing.returned", {"reason": "补充材料"}) == "理由：补充材料"


def test_the_auction_entries_say_their_codes_in_words() -> None:
    assert _detail("auction.phase", {"status": "countdown"}) == "进入：限时竞价"
    assert _detail("auction.phase", {"status": "something_new"}) == ""
    ended = _detail(
        "auction.ended", {"reason": "sold", "final_fen": 2_400_000, "winner_number": "4821"}
    )
    assert ended == "理由：有效出价达到成交条件；成交价 ¥24,000.00，竞买号 4821"
    assert _detail("auction.ended", {"reason": "no_bids"}) == "理由：无人出价"
    rejected = _detail(
        "bid.rejected", {"bidder_number": "4821", "amount_fen": 1_200_000, "code": "stale"}
    )
    assert "stale" not in rejected and rejected.startswith("竞买号 4821 出价 ¥12,000.00；（")
