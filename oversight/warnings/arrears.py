"""Rent in arrears (红黄预警): docs/oversight.md.

A lease whose oldest unpaid rent is overdue `arrears_yellow_days` raises a yellow warning,
`arrears_red_days` a red one: one finding per lease and episode (the key names the first late
item, so once the lessee catches up a later default is a new warning), with every late item's
outstanding amount and days as evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.models import RentItem
from contracts.receivables import Status, arrears_level, owed_by
from core.settings import ExchangeSettings
from oversight.warnings.findings import Finding, chunks, only


async def arrears(
    session: AsyncSession, ids: Sequence[int] | None, settings: ExchangeSettings, today: date
) -> list[Finding]:
    late: dict[int, list[dict[str, Any]]] = {}
    for chunk in chunks(ids):
        rows = await session.scalars(
            select(RentItem)
            .where(
                RentItem.state == "open",
                RentItem.due_date < today,
                *only(RentItem.listing_id, chunk),
            )
            .order_by(RentItem.listing_id, RentItem.number)
        )
        for item in rows:
            o = owed_by(item, today)
            if o.status is not Status.OVERDUE:
                continue
            late.setdefault(item.listing_id, []).append(
                {
                    "contract_id": item.contract_id,
                    "number": item.number,
                    "due_date": item.due_date.isoformat(),
                    "amount_fen": item.amount_fen,
                    "outstanding_fen": o.outstanding_fen,
                    "days_overdue": o.days_overdue,
                }
            )
    found = []
    for listing_id, items in late.items():
        worst = max(i["days_overdue"] for i in items)
        level = arrears_level(worst, settings.arrears_yellow_days, settings.arrears_red_days)
        if level is None:
            continue
        found.append(
            Finding(
                f"arrears_{level}",
                f"listing:{listing_id}:rent:{items[0]['number']}",
                listing_id,
                {
                    "items": items,
                    "count": len(items),
                    "outstanding_fen": sum(i["outstanding_fen"] for i in items),
                    "max_days_overdue": worst,
                    "threshold_days": settings.arrears_red_days
                    if level == "red"
                    else settings.arrears_yellow_days,
                },
            )
        )
    return found
