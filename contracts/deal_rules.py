"""After the hammer: a deal's life as a pure state machine, and the dates and choices it turns on.

成交公示 (result publicity) → confirmed, unless an objection (异议) is upheld; a confirmed deal
whose winner defaults (违约/悔拍) is voided; a voided deal is offered to the runner-up (候补)
when the listing's rule says so and there is one, else the listing is relisted. No IO, no
clock: docs/domain.md §6.
"""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum
from typing import Literal

from core.errors import Conflict, RuleViolation
from core.workdays import WorkingDayCalendar, period_end


class DealState(StrEnum):
    PUBLICITY = "publicity"  # 公示中: objections may be filed
    CONFIRMED = "confirmed"  # 已确认: the contract is drafted and may be signed
    OFFERED = "offered"  # 候补递补: the runner-up is asked to take the deal
    VOIDED = "voided"  # 已撤销: no deal; the listing is relisted


class DealAction(StrEnum):
    CONFIRM = "confirm"
    VOID = "void"
    OFFER = "offer"
    ACCEPT_OFFER = "accept_offer"
    DECLINE_OFFER = "decline_offer"


D, DA = DealState, DealAction
TRANSITIONS: dict[tuple[DealState, DealAction], DealState] = {
    (D.PUBLICITY, DA.CONFIRM): D.CONFIRMED,
    (D.PUBLICITY, DA.VOID): D.VOIDED,  # an objection upheld
    (D.CONFIRMED, DA.VOID): D.VOIDED,  # the winner defaulted
    (D.VOIDED, DA.OFFER): D.OFFERED,
    (D.OFFERED, DA.ACCEPT_OFFER): D.PUBLICITY,  # the runner-up's deal is published in turn
    (D.OFFERED, DA.DECLINE_OFFER): D.VOIDED,
}

STATE_NAMES_ZH = {
    D.PUBLICITY: "成交公示中",
    D.CONFIRMED: "成交已确认",
    D.OFFERED: "候补递补中",
    D.VOIDED: "成交已撤销",
}

#: Why a deal was voided, in words.
VOID_REASONS_ZH = {
    "objection_upheld": "异议成立",
    "default": "竞得人违约",
    "offer_declined": "候补竞买人放弃递补",
    "offer_expired": "候补竞买人逾期未答复",
}

DefaultReason = Literal["not_signed", "withdrew"]
DEFAULT_REASONS_ZH = {"not_signed": "逾期未签订合同", "withdrew": "竞得后放弃（悔拍）"}

#: What the listing does when its deal is voided (Terms.on_default).
OnVoid = Literal["runner_up", "relist"]


def transition(state: DealState, action: DealAction) -> DealState:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise Conflict(
            "deal.illegal_transition",
            f"成交处于“{STATE_NAMES_ZH[state]}”状态，不能执行此操作",
            state=state.value,
            action=action.value,
        ) from None


def publicity_end(
    decided_at: datetime, working_days: int, calendar: WorkingDayCalendar, day_ends: time | None
) -> datetime:
    """The result is published from the deal for `working_days` working days, counted as the
    Civil Code counts periods (from the next day, to 24:00 or the close of business)."""
    return period_end(decided_at, working_days, calendar, day_ends=day_ends)


def may_confirm(
    state: DealState, now: datetime, publicity_ends_at: datetime, open_objections: int
) -> bool:
    """Publicity over with no objection waiting for a decision."""
    return state is D.PUBLICITY and now >= publicity_ends_at and open_objections == 0


def check_objection(state: DealState, now: datetime, publicity_ends_at: datetime | None) -> None:
    """An objection is filed during the publicity, not after it."""
    if state is not D.PUBLICITY or publicity_ends_at is None or now >= publicity_ends_at:
        raise RuleViolation("objection.window_closed", "成交公示期已结束，不能再提出异议")


def check_default(
    contract_state: str, reason: DefaultReason, now: datetime, sign_deadline: datetime
) -> None:
    """A default is recorded against a confirmed deal whose contract the winner has not
    signed: after the signing deadline, or at once when the winner withdrew in writing."""
    if contract_state not in ("drafted", "signed_by_village"):
        raise Conflict("default.contract_signed", "竞得人已签署合同，不能认定为未签约违约")
    if reason == "not_signed" and now < sign_deadline:
        raise RuleViolation(
            "default.before_deadline",
            "合同签署期限尚未届满，不能以逾期未签约认定违约",
            sign_deadline=sign_deadline.isoformat(),
        )


def after_void(rule: OnVoid, runner_up_available: bool) -> Literal["offer", "relist"]:
    return "offer" if rule == "runner_up" and runner_up_available else "relist"
