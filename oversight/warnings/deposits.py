"""Deposits not paid back by their due date (退还保证金逾期): docs/oversight.md."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from listings import Registration
from listings.registration import DepositState
from oversight.warnings.findings import Finding, chunks, only


async def refund_late(
    session: AsyncSession, ids: Sequence[int] | None, now: datetime
) -> list[Finding]:
    """A refundable deposit still in the exchange's account after its `refund_due_at` (the
    refund period the announcement fixed, counted in working days): one finding per listing,
    with every late deposit as evidence."""
    late: dict[int, list[dict[str, Any]]] = {}
    for chunk in chunks(ids):
        rows: Any = await session.execute(
            select(
                Registration.listing_id,
                Registration.id,
                Registration.deposit_fen,
                Registration.refund_due_at,
            )
            .where(
                Registration.deposit_state == DepositState.REFUNDABLE,
                Registration.refund_due_at < now,
                *only(Registration.listing_id, chunk),
            )
            .order_by(Registration.listing_id, Registration.id)
        )
        for listing_id, registration_id, amount, due in rows:
            due = due if due.tzinfo is not None else due.replace(tzinfo=UTC)
            late.setdefault(listing_id, []).append(
                {
                    "registration_id": registration_id,
                    "amount_fen": amount,
                    "refund_due_at": due.isoformat(),
                    "days_late": (now - due).days,
                }
            )
    return [
        Finding(
            "refund_late",
            f"listing:{listing_id}",
            listing_id,
            {
                "deposits": deposits,
                "count": len(deposits),
                "amount_fen": sum(d["amount_fen"] for d in deposits),
            },
        )
        for listing_id, deposits in late.items()
    ]
