"""Running every detector over a set of listings, and storing what they found: new findings
raised, open ones re-evidenced, each change ledgered under the subject `warnings`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import local_date
from core.db import table_of
from core.ledger.bulk import append_many
from core.settings import ExchangeSettings
from oversight.models import WarningRow
from oversight.warnings.arrears import arrears
from oversight.warnings.bidders import SHARED_KINDS, shared_attribute, single_bidder
from oversight.warnings.deposits import refund_late
from oversight.warnings.findings import CHUNK, SUBJECT, Finding
from oversight.warnings.outcomes import failed_twice, zero_premium
from oversight.warnings.terms import (
    contract_unsigned,
    lease_expiring,
    low_prices,
    term_too_long,
)


@dataclass
class Detection:
    findings: list[Finding]
    skipped: list[str]


async def detect(
    session: AsyncSession,
    settings: ExchangeSettings,
    now: datetime,
    listing_ids: Iterable[int] | None = None,
) -> Detection:
    """Run every detector over these listings (all listings if None)."""
    ids = None if listing_ids is None else sorted(set(listing_ids))
    if ids is not None and not ids:
        return Detection([], [])
    findings: list[Finding] = []
    findings += await single_bidder(session, ids)
    for kind in SHARED_KINDS:
        findings += await shared_attribute(session, kind, ids)
    findings += await zero_premium(session, ids)
    findings += await failed_twice(session, ids)
    findings += await term_too_long(session, ids, settings)
    findings += await low_prices(session, ids, settings)
    findings += await lease_expiring(session, ids, local_date(now))
    findings += await contract_unsigned(session, ids, settings, now)
    findings += await refund_late(session, ids, now)
    findings += await arrears(session, ids, settings, local_date(now))
    return Detection(findings, [])


async def store(session: AsyncSession, findings: Sequence[Finding], now: datetime) -> int:
    """Insert new findings and refresh the evidence of open ones; returns how many were new."""
    if not findings:
        return 0
    existing: dict[tuple[str, str], WarningRow] = {}
    keys = sorted({f.key for f in findings})
    for start in range(0, len(keys), CHUNK):
        rows = await session.scalars(
            select(WarningRow).where(WarningRow.key.in_(keys[start : start + CHUNK]))
        )
        existing.update({(w.kind, w.key): w for w in rows})
    ins = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    new = [f for f in findings if (f.kind, f.key) not in existing]
    ledgered: list[tuple[str, dict[str, Any]]] = []
    if new:
        statement = (
            ins(table_of(WarningRow))
            .on_conflict_do_nothing()
            .returning(
                table_of(WarningRow).c.id, table_of(WarningRow).c.kind, table_of(WarningRow).c.key
            )
        )
        connection = await session.connection()
        evidence = {(f.kind, f.key): f.evidence for f in new}
        result: Any = await connection.execute(
            statement,
            [
                {
                    "kind": f.kind,
                    "key": f.key,
                    "listing_id": f.listing_id,
                    "state": "open",
                    "evidence": f.evidence,
                    "detected_at": now,
                    "updated_at": now,
                    "acknowledged_by": None,
                    "acknowledged_at": None,
                    "note": None,
                }
                for f in new
            ],
        )
        for warning_id, kind, key in sorted(result, key=lambda r: r[0]):
            ledgered.append(
                (
                    "warning.raised",
                    {
                        "warning_id": warning_id,
                        "kind": kind,
                        "key": key,
                        "evidence": evidence[kind, key],
                    },
                )
            )
    for f in findings:
        row = existing.get((f.kind, f.key))
        if row is not None and row.state == "open" and row.evidence != f.evidence:
            row.evidence, row.updated_at = f.evidence, now
            ledgered.append(
                (
                    "warning.updated",
                    {"warning_id": row.id, "kind": f.kind, "key": f.key, "evidence": f.evidence},
                )
            )
    await append_many(session, subject=SUBJECT, items=ledgered, actor="system", at=now)
    return sum(1 for type_, _ in ledgered if type_ == "warning.raised")
