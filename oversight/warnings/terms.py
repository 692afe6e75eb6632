"""Detectors about terms and deadlines: a term longer than the settings allow, a price below
the appraisal or far below the previous listing's, a contract not signed by its deadline, a
lease ending within EXPIRY_DAYS."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from auction.models import Deal
from contracts.models import Contract, ContractState
from core.clock import CHINA_TZ, local_date
from core.settings import ExchangeSettings
from listings.models import Listing
from oversight.models import ListingFact
from oversight.warnings.findings import Finding, chunks, only

EXPIRY_DAYS: Final = 90


async def term_too_long(
    session: AsyncSession, ids: Sequence[int] | None, settings: ExchangeSettings
) -> list[Finding]:
    explicit = {c: m for c, m in settings.max_term_years.items() if c != "*"}
    default = settings.max_term_years.get("*", 30)
    rule = or_(
        *[and_(ListingFact.category == c, ListingFact.term_years > m) for c, m in explicit.items()],
        and_(ListingFact.category.not_in(list(explicit) or [""]), ListingFact.term_years > default),
    )
    found: list[Finding] = []
    for chunk in chunks(ids):
        rows = await session.execute(
            select(ListingFact.listing_id, ListingFact.category, ListingFact.term_years).where(
                rule, *only(ListingFact.listing_id, chunk)
            )
        )
        for listing_id, category, years in rows:
            found.append(
                Finding(
                    "term_too_long",
                    f"listing:{listing_id}",
                    listing_id,
                    {
                        "category": category,
                        "term_years": years,
                        "max_term_years": settings.max_term_for(category),
                    },
                )
            )
    return found


async def low_prices(
    session: AsyncSession, ids: Sequence[int] | None, settings: ExchangeSettings
) -> list[Finding]:
    """Listings put to the market below their appraisal, or relisted below
    `relist_price_floor_percent` % of the previous price — allowed with a stated reason
    (listings.rules.unexplained_price), and each shown to regulators with that reason."""
    previous = aliased(Listing)
    found: list[Finding] = []
    for chunk in chunks(ids):
        rows = await session.execute(
            select(Listing.id, Listing.terms, previous.terms)
            .outerjoin(previous, previous.id == Listing.relist_of)
            .where(Listing.state.not_in(("draft", "returned")), *only(Listing.id, chunk))
        )
        for listing_id, terms, before in rows:
            price, reason = terms.listing_price_fen, terms.price_reason
            if terms.appraisal_fen is not None and price < terms.appraisal_fen:
                evidence = {"listing_price_fen": price, "appraisal_fen": terms.appraisal_fen}
                found.append(
                    Finding(
                        "below_appraisal",
                        f"listing:{listing_id}",
                        listing_id,
                        evidence | {"reason": reason},
                    )
                )
            floor = settings.relist_price_floor_percent
            if before is not None and price * 100 < before.listing_price_fen * floor:
                evidence = {
                    "listing_price_fen": price,
                    "previous_price_fen": before.listing_price_fen,
                    "floor_percent": floor,
                }
                found.append(
                    Finding(
                        "deep_relist_cut",
                        f"listing:{listing_id}",
                        listing_id,
                        evidence | {"reason": reason},
                    )
                )
    return found


async def lease_expiring(
    session: AsyncSession, ids: Sequence[int] | None, today: date
) -> list[Finding]:
    found: list[Finding] = []
    horizon = today + timedelta(days=EXPIRY_DAYS)
    for chunk in chunks(ids):
        expiring = await session.scalars(
            select(ListingFact).where(
                ListingFact.is_sold == 1,
                ListingFact.lease_ends_on >= today,
                ListingFact.lease_ends_on <= horizon,
                *only(ListingFact.listing_id, chunk),
            )
        )
        for fact in expiring:
            # Sold facts carry both dates (the deal's day, and the lease end from it).
            assert fact.decided_on is not None and fact.lease_ends_on is not None
            ends = fact.lease_ends_on
            found.append(
                Finding(
                    "lease_expiring",
                    f"listing:{fact.listing_id}:{ends.isoformat()}",
                    fact.listing_id,
                    {
                        "decided_on": fact.decided_on.isoformat(),
                        "term_years": fact.term_years,
                        "lease_ends_on": ends.isoformat(),
                        "days_left": (ends - today).days,
                        "village": fact.village_path,
                        "category": fact.category,
                        "basis": "合同起租日加租期（尚无合同时按成交日起算）",
                    },
                )
            )
    return found


async def contract_unsigned(
    session: AsyncSession, ids: Sequence[int] | None, settings: ExchangeSettings, now: datetime
) -> list[Finding]:
    """Deals whose contract is not signed by the deadline.

    The deadline is the contract's own `sign_deadline` when it has one, else the setting's
    working days counted from the deal. Only drafted contracts are judged: every deal gets
    its contract drafted in the deal's own transaction, so a deal without one predates the
    contracts package (or is demo data) and has no deadline to miss.
    """
    calendar = settings.calendar()
    days = settings.contract_sign_deadline_working_days
    found: list[Finding] = []
    for chunk in chunks(ids):
        rows: Any = await session.execute(
            select(
                Deal.listing_id,
                Deal.decided_at,
                Contract.id,
                Contract.state,
                Contract.sign_deadline,
            )
            .join(Contract, Contract.listing_id == Deal.listing_id)
            .where(
                Contract.signed_at.is_(None),
                Contract.state != ContractState.VOIDED,
                *only(Deal.listing_id, chunk),
            )
        )
        for listing_id, decided_at, contract_id, state, deadline_at in rows:
            if deadline_at is None:
                day = calendar.add_working_days(local_date(decided_at), days)
                deadline_at = datetime.combine(day, time(23, 59, 59), tzinfo=CHINA_TZ)
            elif deadline_at.tzinfo is None:
                deadline_at = deadline_at.replace(tzinfo=UTC)
            if now <= deadline_at:
                continue
            found.append(
                Finding(
                    "contract_unsigned",
                    f"listing:{listing_id}",
                    listing_id,
                    {
                        "decided_at": decided_at.isoformat(),
                        "deadline": deadline_at.isoformat(),
                        "deadline_working_days": days,
                        "contract_id": contract_id,
                        "contract_state": state,
                    },
                )
            )
    return found
