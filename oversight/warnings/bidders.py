"""Detectors about who bid: one qualified bidder only, and bidders of one listing sharing a
phone, an IP address, a device (user agent) or the bank account their deposit came from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Bid
from core.accounts import User
from listings import Listing, Payment, Registration
from oversight.warnings.findings import Finding, chunks, cited, digest, only


async def single_bidder(session: AsyncSession, ids: Sequence[int] | None) -> list[Finding]:
    found: list[Finding] = []
    for chunk in chunks(ids):
        query = (
            select(
                Registration.listing_id,
                func.min(Registration.id),
                func.min(Registration.bidder_number),
                Listing.state,
                Listing.outcome,
            )
            .join(Listing, Listing.id == Registration.listing_id)
            .where(
                Registration.state == "qualified",
                Listing.state.in_(["auction", "sold", "failed"]),
                *only(Registration.listing_id, chunk),
            )
            .group_by(Registration.listing_id, Listing.state, Listing.outcome)
            .having(func.count() == 1)
        )
        rows = await session.execute(query)
        found += await cited(
            session,
            "single_bidder",
            "registration.closed",
            [
                (
                    listing_id,
                    {
                        "qualified": 1,
                        "registration_id": registration_id,
                        "bidder_number": number,
                        "listing_state": state,
                        "outcome": outcome,
                    },
                )
                for listing_id, registration_id, number, state, outcome in rows
            ],
        )
    return found


#: What bidders of one listing may be found sharing (warning kinds `shared_<kind>`).
SHARED_KINDS = ("phone", "ip", "device", "bank_account")


def _bidder_values(kind: str, ids: Sequence[int] | None) -> Any:
    """(listing, bidder, registration, number, value, source) rows for one shared attribute."""
    reg = [
        Registration.listing_id,
        Registration.bidder_id,
        Registration.id,
        Registration.bidder_number,
    ]
    if kind == "bank_account":
        return (
            select(
                *reg,
                Payment.payer_account.label("value"),
                literal_column("'payment'").label("source"),
            )
            .join(Payment, Payment.registration_id == Registration.id)
            .where(
                Payment.outcome == "accepted",
                Payment.payer_account.is_not(None),
                *only(Registration.listing_id, ids),
            )
        )
    if kind == "phone":
        return (
            select(*reg, User.phone.label("value"), literal_column("'account'").label("source"))
            .join(User, User.id == Registration.bidder_id)
            .where(User.phone.is_not(None), *only(Registration.listing_id, ids))
        )
    reg_column = Registration.ip if kind == "ip" else Registration.user_agent
    bid_column = Bid.ip if kind == "ip" else Bid.device
    from_registrations = select(
        *reg, reg_column.label("value"), literal_column("'registration'").label("source")
    ).where(reg_column.is_not(None), *only(Registration.listing_id, ids))
    from_bids = (
        select(*reg, bid_column.label("value"), literal_column("'bid'").label("source"))
        .join(
            Bid,
            and_(
                Bid.listing_id == Registration.listing_id, Bid.bidder_id == Registration.bidder_id
            ),
        )
        .where(bid_column.is_not(None), *only(Registration.listing_id, ids))
        .distinct()
    )
    return union_all(from_registrations, from_bids)


async def shared_attribute(
    session: AsyncSession, kind: str, ids: Sequence[int] | None
) -> list[Finding]:
    """Bidders of one listing sharing a phone, an IP address or a device (user agent)."""
    found: list[Finding] = []
    for chunk in chunks(ids):
        values = _bidder_values(kind, chunk).subquery()
        shared = (
            select(values.c.listing_id, values.c.value)
            .group_by(values.c.listing_id, values.c.value)
            .having(func.count(func.distinct(values.c.bidder_id)) > 1)
            .subquery()
        )
        rows: Any = await session.execute(
            select(values)
            .join(
                shared,
                and_(shared.c.listing_id == values.c.listing_id, shared.c.value == values.c.value),
            )
            .order_by(values.c.listing_id, values.c.value, values.c.bidder_id)
        )
        groups: dict[tuple[int, str], dict[int, dict[str, Any]]] = {}
        for listing_id, bidder_id, registration_id, number, value, source in rows:
            bidders = groups.setdefault((listing_id, value), {})
            entry = bidders.setdefault(
                bidder_id,
                {
                    "bidder_id": bidder_id,
                    "registration_id": registration_id,
                    "bidder_number": number,
                    "seen_in": [],
                },
            )
            if source not in entry["seen_in"]:
                entry["seen_in"].append(source)
        for (listing_id, value), bidders in groups.items():
            found.append(
                Finding(
                    f"shared_{kind}",
                    f"listing:{listing_id}:{digest(value)}",
                    listing_id,
                    {kind: value, "bidders": list(bidders.values())},
                )
            )
    return found


async def registrations_sharing(session: AsyncSession, listing_id: int) -> dict[int, list[str]]:
    """The applications of one listing whose bidder shares a phone, an IP address, a device or
    a paying account with another applicant, each with the warning kinds found now (the same
    detectors as the scan, so a reviewer need not wait for it)."""
    out: dict[int, list[str]] = {}
    for kind in SHARED_KINDS:
        for finding in await shared_attribute(session, kind, [listing_id]):
            for bidder in finding.evidence["bidders"]:
                kinds = out.setdefault(bidder["registration_id"], [])
                if finding.kind not in kinds:
                    kinds.append(finding.kind)
    return out
