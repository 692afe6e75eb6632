"""Warnings on the reviewer's qualification cards: which registrations a warning names, and
the sentence each card shows — others named only when the reviewer may see who applied, the
shared value and the bidder numbers never."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.pages.review_warnings import card_warnings, listing_warning
from oversight.models import WarningRow
from oversight.warnings import by_registration

AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def warning(id_: int, kind: str, evidence: dict[str, Any], state: str = "open") -> WarningRow:
    return WarningRow(
        id=id_, kind=kind, key=f"k{id_}", state=state, evidence=evidence, detected_at=AT
    )


def bidder(registration_id: int, number: str, *seen: str) -> dict[str, Any]:
    return {
        "bidder_id": registration_id * 10,
        "registration_id": registration_id,
        "bidder_number": number,
        "seen_in": list(seen),
    }


ROWS = [
    warning(
        7,
        "shared_device",
        {
            "device": "Mozilla/5.0 SharedPC",
            "bidders": [bidder(1, "A01", "registration"), bidder(2, "A02", "registration", "bid")],
        },
    ),
    warning(
        8,
        "shared_ip",
        {
            "ip": "10.1.2.3",
            "bidders": [bidder(1, "A01", "bid"), bidder(2, "A02", "bid"), bidder(3, "A03", "bid")],
        },
        state="acknowledged",
    ),
    warning(9, "single_bidder", {"qualified": 1, "registration_id": 3, "bidder_number": "A03"}),
    warning(
        10,
        "refund_late",
        {
            "deposits": [
                {
                    "registration_id": 2,
                    "amount_fen": 200_000,
                    "refund_due_at": "2026-12-18T16:00:00+00:00",
                }
            ],
            "count": 1,
            "amount_fen": 200_000,
        },
    ),
    warning(11, "zero_premium", {"listing_price_fen": 1}),
]


def sentences(registration_id: int, names: dict[int, str] | None) -> list[str]:
    concerns = by_registration(ROWS)[registration_id]
    return [w.text for w in card_warnings(concerns, names)]


def test_each_registration_gets_the_warnings_that_name_it() -> None:
    concerns = by_registration(ROWS)
    assert sorted(concerns) == [1, 2, 3]
    assert [(c.warning_id, c.others) for c in concerns[1]] == [(7, (2,)), (8, (2, 3))]
    assert [c.warning_id for c in concerns[2]] == [7, 8, 10]
    assert [c.warning_id for c in concerns[3]] == [8, 9]
    assert concerns[1][1].open is False  # acknowledged by a regulator


def test_cards_count_the_others_unless_the_reviewer_may_see_who_applied() -> None:
    assert sentences(1, None) == [
        "报名时与另一报名人使用同一设备",
        "出价时与另外 2 名报名人使用同一网络地址（IP）",
    ]
    assert sentences(2, None) == [
        "报名和出价时与另一报名人使用同一设备",
        "出价时与另外 2 名报名人使用同一网络地址（IP）",
        "保证金逾期未退还（应于 2026-12-18 24:00 前退还）",
    ]
    assert sentences(1, {1: "张三", 2: "李四", 3: "王五"}) == [
        "报名时与报名人李四使用同一设备",
        "出价时与报名人李四、王五使用同一网络地址（IP）",
    ]
    assert sentences(3, None)[1] == "本项目仅此一名合格竞买人"


def test_no_shared_value_or_bidder_number_is_written() -> None:
    shown = [
        text
        for names in (None, {1: "张三", 2: "李四", 3: "王五"})
        for r in (1, 2, 3)
        for text in sentences(r, names)
    ] + [listing_warning(row)["text"] for row in ROWS]
    for secret in ("Mozilla", "SharedPC", "10.1.2.3", "A01", "A02", "A03", "shared_", "refund_"):
        assert all(secret not in text for text in shown), secret


def test_the_listing_list_says_each_warning_in_words() -> None:
    assert [listing_warning(row)["text"] for row in ROWS] == [
        "竞买人设备（浏览器标识）相同：2 名报名人使用同一设备",
        "竞买人IP地址相同：3 名报名人使用同一网络地址（IP）",
        "仅一名合格竞买人",
        "保证金逾期未退还：1 笔，共 ¥2,000.00",
        "零溢价成交",
    ]
    assert listing_warning(ROWS[1])["open"] is False
