"""The listing's life as a pure state machine, and the rules that decide between branches.

No IO, no clock: callers pass the facts (qualified bidder count, settings, dates) in and
get the next state or a `Conflict`/`RuleViolation` with a stable code out.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum

from core.clock import CHINA_TZ
from core.errors import Conflict, InvalidInput, RuleViolation
from core.settings import ExchangeSettings
from core.workdays import WorkingDayCalendar, deadline_day, period_end


class ListingState(StrEnum):
    DRAFT = "draft"  # 草稿: the village is still editing
    SUBMITTED = "submitted"  # 已提交: waiting for a reviewer
    RETURNED = "returned"  # 已退回: back to the village with reasons
    ACCEPTED = "accepted"  # 已受理: accepted, not yet announced
    ANNOUNCED = "announced"  # 公告中: registration open
    AUCTION = "auction"  # 竞价: enough qualified bidders; the auction is scheduled or running
    SOLD = "sold"  # 成交: by auction or by agreement with the single bidder
    FAILED = "failed"  # 流拍: no deal; the village may relist
    WITHDRAWN = "withdrawn"  # 已撤回: the village withdrew it before announcement


class Action(StrEnum):
    SUBMIT = "submit"
    ACCEPT = "accept"
    RETURN = "return"
    ANNOUNCE = "announce"
    WITHDRAW = "withdraw"
    OPEN_AUCTION = "open_auction"
    SELL = "sell"
    FAIL = "fail"
    EXTEND = "extend"
    VOID = "void"


S, A = ListingState, Action
TRANSITIONS: dict[tuple[ListingState, Action], ListingState] = {
    (S.DRAFT, A.SUBMIT): S.SUBMITTED,
    (S.RETURNED, A.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, A.ACCEPT): S.ACCEPTED,
    (S.SUBMITTED, A.RETURN): S.RETURNED,
    (S.ACCEPTED, A.ANNOUNCE): S.ANNOUNCED,
    (S.DRAFT, A.WITHDRAW): S.WITHDRAWN,
    (S.RETURNED, A.WITHDRAW): S.WITHDRAWN,
    (S.ANNOUNCED, A.OPEN_AUCTION): S.AUCTION,
    (S.ANNOUNCED, A.SELL): S.SOLD,  # single qualified bidder, agreement at the listing price
    (S.ANNOUNCED, A.FAIL): S.FAILED,
    (S.ANNOUNCED, A.EXTEND): S.ANNOUNCED,  # single bidder, registration extended once
    (S.AUCTION, A.SELL): S.SOLD,
    (S.AUCTION, A.FAIL): S.FAILED,
    (S.SOLD, A.VOID): S.FAILED,  # the deal voided (objection upheld, default): relist it
}

STATE_NAMES_ZH = {
    S.DRAFT: "草稿",
    S.SUBMITTED: "待审核",
    S.RETURNED: "已退回",
    S.ACCEPTED: "已受理",
    S.ANNOUNCED: "公告中",
    S.AUCTION: "竞价中",
    S.SOLD: "已成交",
    S.FAILED: "流拍",
    S.WITHDRAWN: "已撤回",
}

#: States in which the entrustment (asset and terms) may still be edited; terms freeze after.
EDITABLE = frozenset({S.DRAFT, S.RETURNED})
#: States the public may see: from the announcement on.
PUBLIC = frozenset({S.ANNOUNCED, S.AUCTION, S.SOLD, S.FAILED})


def transition(state: ListingState, action: Action) -> ListingState:
    """The next state, or Conflict `listing.illegal_transition` naming both."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise Conflict(
            "listing.illegal_transition",
            f"当前状态“{STATE_NAMES_ZH[state]}”不能执行此操作（{action.value}）",
            state=state.value,
            action=action.value,
        ) from None


def ensure_editable(state: ListingState) -> None:
    if state not in EDITABLE:
        raise Conflict(
            "listing.terms_frozen",
            f"挂牌项目处于“{STATE_NAMES_ZH[state]}”状态，委托内容已锁定，不能修改",
        )


def refund_due(
    at: datetime, working_days: int, calendar: WorkingDayCalendar, day_ends: time | None
) -> datetime:
    """A deposit that became refundable at `at` is due back within `working_days` working
    days, counted as the Civil Code counts periods (core.workdays.period_end)."""
    return period_end(at, working_days, calendar, day_ends=day_ends)


def check_announcement(
    *,
    now: datetime,
    registration_closes_at: datetime,
    auction_starts_at: datetime,
    notice_working_days: int,
    calendar: WorkingDayCalendar,
    day_ends: time | None = None,
    qualification_window: timedelta = timedelta(0),
) -> None:
    """The announcement's timetable (docs/domain.md §3): the notice period runs in working days
    from the day after the announcement to 24:00 (or the close of business) of its last day
    (core.workdays.period_end); registration closes after it, on a working day (when there is
    a notice period); the auction starts after the qualification window."""
    if registration_closes_at <= now:
        raise RuleViolation("announce.closes_in_past", "报名截止时间必须晚于当前时间")
    earliest = period_end(now, notice_working_days, calendar, day_ends=day_ends)
    if registration_closes_at < earliest:
        last = deadline_day(earliest)
        raise RuleViolation(
            "announce.notice_too_short",
            f"公告期不得少于 {notice_working_days} 个工作日（自公告次日起算，"
            f"至 {last.isoformat()} {_clock(earliest)} 止），"
            f"报名截止时间最早为 {_local(earliest)}",
            earliest=earliest.isoformat(),
            last_day=last.isoformat(),
        )
    closing_day = deadline_day(registration_closes_at)
    # Without a notice period (a demonstration, a test setup) no day is counted at all.
    if notice_working_days and not calendar.is_working_day(closing_day):
        raise RuleViolation(
            "announce.closes_on_rest_day",
            f"报名截止日 {closing_day.isoformat()} 不是工作日，请改在工作日截止",
            day=closing_day.isoformat(),
        )
    if auction_starts_at < registration_closes_at + qualification_window:
        minutes = qualification_window // timedelta(minutes=1)
        raise RuleViolation(
            "announce.auction_before_close",
            f"竞价开始时间须在报名截止后至少 {minutes} 分钟（资格确认期）",
            qualification_window_minutes=minutes,
        )


def first_timetable(
    now: datetime,
    notice_working_days: int,
    calendar: WorkingDayCalendar,
    *,
    day_ends: time | None = None,
    qualification_window: timedelta = timedelta(0),
) -> tuple[datetime, datetime]:
    """The earliest timetable `check_announcement` accepts, at office hours: registration
    closes at 17:00 (or the close of business) of the first working day it may; the auction
    starts at 09:30 of the next working day, or later if the qualification window is longer."""
    end = period_end(now, notice_working_days, calendar, day_ends=day_ends)
    closes_at = day_ends or time(17, 0)
    day = deadline_day(end) if end > now else end.astimezone(CHINA_TZ).date()
    close = datetime.combine(day, closes_at, CHINA_TZ)
    while close < end or close <= now or not calendar.is_working_day(day):
        day = calendar.add_working_days(day, 1)
        close = datetime.combine(day, closes_at, CHINA_TZ)
    morning = datetime.combine(calendar.add_working_days(day, 1), time(9, 30), CHINA_TZ)
    return close, max(morning, close + qualification_window)


#: How far ahead of the day it is submitted (or accepted) a fixed lease start may lie.
LEASE_START_HORIZON_YEARS = 5


def earliest_lease_start(
    auction_starts_at: datetime,
    sign_deadline_working_days: int,
    calendar: WorkingDayCalendar,
    *,
    publicity_working_days: int = 0,
) -> date:
    """The first day a fixed lease start may be for an auction starting then: the day after
    the contract's signing deadline for a deal on the auction's day, so that a contract signed
    in time is signed before the lease starts. Signing begins when the deal is confirmed, at
    the end of its result publicity (counted here as the day after the publicity's last
    working day, never earlier than contracts.publicity confirms); the deadline is
    `sign_deadline_working_days` working days after that, as contracts.drafting counts it."""
    day = auction_starts_at.astimezone(CHINA_TZ).date()
    if publicity_working_days:
        day = calendar.add_working_days(day, publicity_working_days) + timedelta(days=1)
    return calendar.add_working_days(day, sign_deadline_working_days) + timedelta(days=1)


def check_lease_start(lease_start: date, *, now: datetime, settings: ExchangeSettings) -> None:
    """A fixed lease start when the entrustment is submitted or accepted: not in the past
    (the server's date in China), not before the `earliest_lease_start` of the earliest
    auction `first_timetable` allows now (an accepted listing can only be announced), and at
    most LEASE_START_HORIZON_YEARS ahead."""
    today = now.astimezone(CHINA_TZ).date()
    if lease_start < today:
        raise RuleViolation(
            "terms.lease_start_past",
            f"起租日 {lease_start.isoformat()} 已过，请改为今后的日期",
            lease_start=lease_start.isoformat(),
            today=today.isoformat(),
        )
    calendar = settings.calendar()
    _, auction = first_timetable(
        now,
        settings.notice_period_working_days,
        calendar,
        day_ends=settings.business_day_ends,
        qualification_window=timedelta(minutes=settings.qualification_window_minutes),
    )
    earliest = earliest_lease_start(
        auction,
        settings.contract_sign_deadline_working_days,
        calendar,
        publicity_working_days=settings.result_publicity_working_days,
    )
    if lease_start < earliest:
        raise RuleViolation(
            "terms.lease_start_too_early",
            f"起租日 {lease_start.isoformat()} 过早：按最早的公告期、竞价时间和合同签订期限，"
            f"起租日最早为 {earliest.isoformat()}",
            lease_start=lease_start.isoformat(),
            earliest=earliest.isoformat(),
        )
    latest = _years_after(today, LEASE_START_HORIZON_YEARS)
    if lease_start > latest:
        raise RuleViolation(
            "terms.lease_start_too_far",
            f"起租日不得晚于 {latest.isoformat()}（{LEASE_START_HORIZON_YEARS} 年以内）",
            lease_start=lease_start.isoformat(),
            latest=latest.isoformat(),
        )


def check_announced_lease_start(
    lease_start: date,
    *,
    auction_starts_at: datetime,
    sign_deadline_working_days: int,
    calendar: WorkingDayCalendar,
    publicity_working_days: int = 0,
) -> None:
    """At announcement: a fixed lease start is no earlier than the day after the signing
    deadline of a deal on the auction's day (`earliest_lease_start`)."""
    earliest = earliest_lease_start(
        auction_starts_at,
        sign_deadline_working_days,
        calendar,
        publicity_working_days=publicity_working_days,
    )
    if lease_start < earliest:
        day = auction_starts_at.astimezone(CHINA_TZ).date()
        raise RuleViolation(
            "announce.lease_start_before_signing",
            f"约定起租日 {lease_start.isoformat()} 早于合同签订期满次日 {earliest.isoformat()}"
            f"（竞价日 {day.isoformat()} 后经 {publicity_working_days} 个工作日成交公示，"
            f"再 {sign_deadline_working_days} 个工作日内签约），请提前竞价时间",
            lease_start=lease_start.isoformat(),
            earliest=earliest.isoformat(),
        )


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def _local(moment: datetime) -> str:
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def _clock(moment: datetime) -> str:
    """The time of day a period ends, 00:00 written as the 24:00 of the day before."""
    local = moment.astimezone(CHINA_TZ)
    return "24:00" if local.time() == time(0) else local.strftime("%H:%M")


def unexplained_price(
    listing_price_fen: int,
    *,
    appraisal_fen: int | None,
    previous_price_fen: int | None,
    floor_percent: int,
    reason: str | None,
) -> None:
    """A listing price below the appraisal, or a relisting below `floor_percent` % of the
    previous listing's price, must state its reason (and regulators are warned of it:
    oversight.warnings.terms.low_prices)."""
    if reason and reason.strip():
        return
    if appraisal_fen is not None and listing_price_fen < appraisal_fen:
        raise RuleViolation(
            "terms.below_appraisal",
            "挂牌价低于评估价，须说明理由（如村民代表会议的决议）",
            appraisal_fen=appraisal_fen,
        )
    if previous_price_fen is not None and listing_price_fen * 100 < (
        previous_price_fen * floor_percent
    ):
        raise RuleViolation(
            "terms.deep_relist_cut",
            f"重新挂牌价低于上次挂牌价的 {floor_percent}%，须说明理由（如新的村民代表会议决议）",
            previous_price_fen=previous_price_fen,
            floor_percent=floor_percent,
        )


def check_term_length(term_years: int, category: str, settings: ExchangeSettings) -> None:
    """The lease is no longer than the settings allow for its category of asset."""
    limit = settings.max_term_for(category)
    if term_years > limit:
        raise InvalidInput(
            "terms.term_too_long", f"该类资产流转期限不得超过 {limit} 年", max_years=limit
        )


def check_reserve(reserve_fen: int | None, listing_price_fen: int) -> None:
    """A reserve price, where there is one, is not below the starting price."""
    if reserve_fen is not None and reserve_fen < listing_price_fen:
        raise InvalidInput("terms.reserve_below_start", "保留价不得低于挂牌价")


def check_auction_variant(
    mode: str,
    *,
    duration_minutes: int | None,
    extension_seconds: int | None,
    hard_cap_minutes: int | None,
    free_bidding_minutes: int | None,
    countdown_seconds: int | None,
) -> None:
    """The terms of the chosen 竞价方式 (docs/domain.md §5): a `fixed_end` auction needs its
    bidding period and extension, a cap not before the scheduled end, and none of the
    countdown's fields; a `countdown` auction none of the fixed end's."""
    if mode == "countdown":
        if (duration_minutes, extension_seconds, hard_cap_minutes) != (None, None, None):
            raise InvalidInput(
                "terms.countdown.fixed_end_fields",
                "自由竞价＋倒计时方式不设竞价期、延时周期和最长延时",
            )
        return
    if free_bidding_minutes is not None or countdown_seconds is not None:
        raise InvalidInput(
            "terms.fixed_end.countdown_fields", "限时竞价方式不设自由竞价时长和倒计时"
        )
    if duration_minutes is None:
        raise InvalidInput("terms.fixed_end.duration_required", "限时竞价须填写竞价期（分钟）")
    if extension_seconds is None:
        raise InvalidInput("terms.fixed_end.extension_required", "限时竞价须填写延时周期（秒）")
    if extension_seconds > duration_minutes * 60:
        raise InvalidInput(
            "terms.fixed_end.extension_too_long",
            "延时周期不得长于竞价期",
            duration_minutes=duration_minutes,
        )
    if hard_cap_minutes is not None and hard_cap_minutes < duration_minutes:
        raise InvalidInput(
            "terms.fixed_end.cap_before_end",
            f"最长延时不得早于竞价期结束（至少 {duration_minutes} 分钟）",
            duration_minutes=duration_minutes,
        )


class Outcome(StrEnum):
    AUCTION = "auction"
    AGREEMENT = "agreement"  # 协议成交 with the single qualified bidder
    FAILED = "failed"
    EXTEND = "extend"


def registration_outcome(
    qualified: int, *, min_bidders: int, single_policy: str, already_extended: bool
) -> Outcome:
    """What registration close leads to, by the number of qualified bidders (docs/domain.md §4).

    0 → failed; 1 → the single-bidder policy; at least the minimum (never fewer than two:
    one bidder cannot compete) → auction; between two and the minimum → failed.
    """
    if qualified == 1:
        return _single(single_policy, already_extended)
    if qualified >= max(min_bidders, 2):
        return Outcome.AUCTION
    return Outcome.FAILED


def _single(policy: str, already_extended: bool) -> Outcome:
    """One qualified bidder: `agreement` → 协议成交 at the listing price; `extend` → the
    registration period once more, then failed; `extend_then_agreement` → the period once
    more (再次公告), then 协商 with the one bidder at the listing price; `fail` → failed."""
    if policy == "agreement":
        return Outcome.AGREEMENT
    if policy in ("extend", "extend_then_agreement") and not already_extended:
        return Outcome.EXTEND
    if policy == "extend_then_agreement":
        return Outcome.AGREEMENT
    return Outcome.FAILED


def action_for(outcome: Outcome) -> Action:
    return {
        Outcome.AUCTION: A.OPEN_AUCTION,
        Outcome.AGREEMENT: A.SELL,
        Outcome.FAILED: A.FAIL,
        Outcome.EXTEND: A.EXTEND,
    }[outcome]
