"""Exchange rules (docs/domain.md §8): stored in the database, edited by an administrator.

Every rule that differs between localities is a setting here, never a constant in code.
A listing may override some of them in its terms.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy import Integer, String, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core import ledger
from core.categories import Category
from core.db import Base, StructJson, UTCDateTime
from core.errors import InvalidInput
from core.workdays import WorkingDayCalendar, published_calendar

NonNeg = Annotated[int, msgspec.Meta(ge=0)]
Positive = Annotated[int, msgspec.Meta(ge=1)]

SETTINGS_SUBJECT = "settings"


class DepositRule(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Default deposit when the entrustment names none: a fixed sum or a share of the total."""

    kind: Literal["fixed", "percent_of_total"] = "percent_of_total"
    fixed_fen: NonNeg = 0
    #: Percent of the listing total over the term, in hundredths of a percent (500 = 5 %).
    basis_points: Annotated[int, msgspec.Meta(ge=0, le=10000)] = 500


class ExchangeSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    #: The announcement period, in working days counted from the day after the announcement
    #: (core.workdays.period_end); registration closes no earlier than its end.
    notice_period_working_days: Annotated[int, msgspec.Meta(ge=0, le=60)] = 7
    #: Close of business, where the exchange keeps business hours: a period counted in days
    #: then ends at this time of its last day instead of at 24:00 (民法典 art. 203).
    business_day_ends: time | None = None
    #: Between registration close and the auction start: the qualification window, for the
    #: last decisions and for bidders to receive their numbers.
    qualification_window_minutes: Annotated[int, msgspec.Meta(ge=0, le=7 * 24 * 60)] = 30
    min_qualified_bidders: Annotated[int, msgspec.Meta(ge=1, le=20)] = 2
    #: What happens when exactly one bidder is qualified at registration close.
    single_bidder_policy: Literal["agreement", "fail", "extend", "extend_then_agreement"] = (
        "agreement"
    )
    single_bidder_extension_working_days: Annotated[int, msgspec.Meta(ge=1, le=30)] = 5
    deposit_rule: DepositRule = DepositRule()
    free_bidding_minutes: Annotated[int, msgspec.Meta(ge=0, le=24 * 60)] = 60
    countdown_seconds: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 300
    max_steps: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    self_outbid_allowed: bool = False
    first_bid_may_equal_start: bool = True
    reserve_used: bool = True
    result_publicity_working_days: Annotated[int, msgspec.Meta(ge=0, le=30)] = 5
    refund_deadline_working_days: Annotated[int, msgspec.Meta(ge=0, le=30)] = 5
    contract_sign_deadline_working_days: Annotated[int, msgspec.Meta(ge=1, le=60)] = 10
    #: Rent overdue this many days raises a yellow arrears warning (黄色预警), this many a red.
    arrears_yellow_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 30
    arrears_red_days: Annotated[int, msgspec.Meta(ge=1, le=730)] = 90
    #: How long the runner-up (候补) has to accept a deal offered after a default.
    runner_up_answer_working_days: Annotated[int, msgspec.Meta(ge=1, le=30)] = 3
    #: Longest lease term allowed, in years, per asset category ("*" for the rest).
    max_term_years: dict[str, Positive] = msgspec.field(
        default_factory=lambda: {"*": 30, "collective_construction_land": 20}
    )
    #: Categories whose entrustments may be submitted without the village's resolution
    #: (its facts and its document); every other category needs both (四议两公开).
    resolution_optional_categories: tuple[Category, ...] = ()
    #: A relisting below this share (%) of the previous listing price must state its reason.
    relist_price_floor_percent: Annotated[int, msgspec.Meta(ge=0, le=100)] = 70
    #: The exchange as its documents name it (the contract's 鉴证方, the certificate's signer).
    exchange_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = (
        "农村产权流转交易中心"
    )
    exchange_address: Annotated[str, msgspec.Meta(max_length=200)] = ""
    #: The arbitration commission named in leases of assets other than rural land (those go to
    #: the 农村土地承包仲裁委员会); empty: disputes go to the people's court.
    arbitration_commission: Annotated[str, msgspec.Meta(max_length=100)] = ""
    #: The words of the exchange's electronic seal under the certificate and the confirmation
    #: (e.g. "××农村产权交易中心交易鉴证专用章"); empty: the exchange's name with "（电子签章）".
    seal_text: Annotated[str, msgspec.Meta(max_length=100)] = ""
    #: The exchange's deposit account (保证金专户) bidders pay into, shown on the deposit page;
    #: empty: the page says to use the account in the listing's announcement.
    deposit_bank_name: Annotated[str, msgspec.Meta(max_length=100)] = ""
    deposit_account_name: Annotated[str, msgspec.Meta(max_length=100)] = ""
    deposit_account_number: Annotated[str, msgspec.Meta(max_length=40)] = ""
    #: The exchange's enquiry telephone (咨询电话), printed on announcements and bidder pages.
    service_phone: Annotated[str, msgspec.Meta(max_length=40)] = ""
    #: Public holidays and weekend days worked in exchange (调休) of the years not shipped with
    #: the exchange (core/holidays: the State Council's notices for 2025 and 2026).
    holidays: tuple[date, ...] = ()
    makeup_workdays: tuple[date, ...] = ()

    def calendar(self) -> WorkingDayCalendar:
        return published_calendar(self.holidays, self.makeup_workdays)

    def max_term_for(self, category: str) -> int:
        return self.max_term_years.get(category, self.max_term_years.get("*", 30))

    def resolution_required(self, category: str) -> bool:
        return category not in self.resolution_optional_categories


class SettingsRow(Base):
    __tablename__ = "exchange_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[ExchangeSettings] = mapped_column(StructJson(ExchangeSettings))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


def to_builtins(settings: ExchangeSettings) -> dict[str, Any]:
    return msgspec.to_builtins(settings)


async def load(session: AsyncSession) -> ExchangeSettings:
    row = await session.get(SettingsRow, 1)
    return ExchangeSettings() if row is None else row.data


def merge(current: ExchangeSettings, patch: dict[str, Any]) -> ExchangeSettings:
    """Apply a partial update; the result is validated as a whole."""
    data = to_builtins(current)
    data.update(patch)
    try:
        new = msgspec.convert(data, ExchangeSettings)
        new.calendar()  # the calendar refuses a day both holiday and makeup, or a weekday makeup
        if new.arrears_red_days <= new.arrears_yellow_days:
            raise ValueError("arrears_red_days must be more than arrears_yellow_days")
    except (msgspec.ValidationError, ValueError) as exc:
        raise InvalidInput("settings.invalid", f"交易规则设置无效：{exc}") from exc
    return new


async def update(
    session: AsyncSession, patch: dict[str, Any], *, actor: str, now: datetime
) -> ExchangeSettings:
    # Lock first, then read: two concurrent partial updates must not lose one another's
    # change, and the very first two must not both insert the row.
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(SettingsRow)
        .values(
            id=1,
            data=ExchangeSettings(),
            updated_at=now,
            updated_by=actor,
        )
        .on_conflict_do_nothing()
    )
    row = await session.scalar(
        select(SettingsRow)
        .where(SettingsRow.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    current = row.data
    new = merge(current, patch)
    row.data, row.updated_at, row.updated_by = new, now, actor
    before, data = to_builtins(current), to_builtins(new)
    changed = {k: v for k, v in data.items() if before.get(k) != v}
    await ledger.append(
        session,
        subject=SETTINGS_SUBJECT,
        type="settings.updated",
        actor=actor,
        payload={"changed": changed},
        at=now,
    )
    return new
