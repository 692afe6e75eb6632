"""Rent as receivables (pure): what a rent item owes on a given day, and how late it is.

A stored item is `pending` (its contract not signed), `open`, `paid`, `waived`, `settled`
(covered by the deposit) or `void`; an open item's status on a day follows from its due date
and what it has received (the deposit credit and `rent_payments`). docs/domain.md §7.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol


class Status(StrEnum):
    PENDING = "pending"  # 待签约: the contract is not signed yet
    NOT_DUE = "not_due"  # 未到期
    PARTLY_PAID = "partly_paid"  # 部分支付 (not yet late)
    PAID = "paid"  # 已付清 (by payments, by the deposit, or both)
    OVERDUE = "overdue"  # 逾期
    WAIVED = "waived"  # 已减免 (with a reason)
    VOID = "void"  # 作废 (the contract was voided)


STATUS_NAMES_ZH = {
    Status.PENDING: "待签约",
    Status.NOT_DUE: "未到期",
    Status.PARTLY_PAID: "部分支付",
    Status.PAID: "已付清",
    Status.OVERDUE: "逾期",
    Status.WAIVED: "已减免",
    Status.VOID: "作废",
}


@dataclass(frozen=True, slots=True)
class Owed:
    """One item's money on a day: what is outstanding and, when late, since how many days."""

    status: Status
    outstanding_fen: int
    days_overdue: int


def owed(
    *, state: str, due: date, amount_fen: int, credited_fen: int, paid_fen: int, today: date
) -> Owed:
    """The item's status on `today`: outstanding is the amount less the deposit credit and
    the payments; it is overdue from the day after its due date while anything is owed."""
    if state == "pending":
        return Owed(Status.PENDING, amount_fen - credited_fen, 0)
    if state == "void":
        return Owed(Status.VOID, 0, 0)
    if state == "waived":
        return Owed(Status.WAIVED, 0, 0)
    outstanding = max(amount_fen - credited_fen - paid_fen, 0)
    if outstanding == 0:
        return Owed(Status.PAID, 0, 0)
    if today > due:
        return Owed(Status.OVERDUE, outstanding, (today - due).days)
    partly = credited_fen + paid_fen > 0
    return Owed(Status.PARTLY_PAID if partly else Status.NOT_DUE, outstanding, 0)


def arrears_level(days_overdue: int, yellow_days: int, red_days: int) -> str | None:
    """红黄预警: `red` from `red_days` overdue, `yellow` from `yellow_days`, else None."""
    if days_overdue >= red_days:
        return "red"
    if days_overdue >= yellow_days:
        return "yellow"
    return None


class Item(Protocol):
    """What `owed_by` reads of a rent item (a `RentItem`, or a row of its columns)."""

    state: str
    due_date: date
    amount_fen: int
    credited_fen: int
    paid_fen: int


def owed_by(item: Item, today: date) -> Owed:
    """`owed` for a stored rent item."""
    return owed(
        state=item.state,
        due=item.due_date,
        amount_fen=item.amount_fen,
        credited_fen=item.credited_fen,
        paid_fen=item.paid_fen,
        today=today,
    )
