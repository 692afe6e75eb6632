"""Warnings (预警): anomalies found by set-based queries, stored once with their evidence.

Each detector is one SQL query over a set of listings (all of them in the periodic scan, the
few the log shows changed in between). A finding has a stable `key`, so finding it again
only refreshes the evidence of a still-open warning; (kind, key) is UNIQUE, so two workers
can never store it twice. Raising, re-evidencing and acknowledging are ledgered (subject
`warnings`), so a warning cannot be quietly removed or its acknowledgement back-dated.

A shared **bank account** is found from the `payer_account` the bank's callback (or a
reviewer's manual confirmation) reports with each accepted deposit.

Not computable from the data we hold:
* **contract not signed**: computed only once the `contracts` table exists (the contracts
  package is built alongside and found by reflection); until then it reports itself skipped.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import (
    and_,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Bid, Deal
from contracts.models import Contract
from core.accounts import Actor, Region, User
from core.clock import CHINA_TZ, local_date
from core.db import table_of
from core.errors import Conflict, NotFound
from core.ledger.bulk import append_many
from core.ledger.models import LedgerEntry
from core.settings import ExchangeSettings
from listings import Listing, Payment, Registration, policy
from listings.policy import LINKING_KEYS, Facet
from oversight.models import ListingFact, WarningRow

log = logging.getLogger("ruralx.oversight.warnings")

SUBJECT: Final = "warnings"
EXPIRY_DAYS: Final = 90
KIND_NAMES_ZH: Final = {
    "single_bidder": "仅一名合格竞买人",
    "shared_phone": "竞买人手机号相同",
    "shared_ip": "竞买人IP地址相同",
    "shared_device": "竞买人设备（浏览器标识）相同",
    "shared_bank_account": "竞买人银行账户相同",
    "zero_premium": "零溢价成交",
    "failed_twice": "多次流拍",
    "term_too_long": "流转期限超过规定",
    "contract_unsigned": "逾期未签订合同",
    "lease_expiring": "租期即将届满（90日内）",
}
_CHUNK: Final = 500


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    key: str
    listing_id: int | None
    evidence: dict[str, Any]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def _chunks(ids: Sequence[int] | None) -> Iterable[Sequence[int] | None]:
    if ids is None:
        yield None
        return
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _only(column: Any, ids: Sequence[int] | None) -> list[Any]:
    return [] if ids is None else [column.in_(ids)]


# ---------------------------------------------------------------------------------------------
# Detectors
# ---------------------------------------------------------------------------------------------


async def _ledger_refs(
    session: AsyncSession, listing_ids: Sequence[int], types: Sequence[str]
) -> dict[tuple[int, str], dict[str, Any]]:
    """The latest entry of each type per listing, as evidence anyone can check in a bundle."""
    out: dict[tuple[int, str], dict[str, Any]] = {}
    for chunk in _chunks(list(listing_ids)):
        assert chunk is not None
        rows = await session.execute(
            select(
                LedgerEntry.subject,
                LedgerEntry.type,
                LedgerEntry.subject_seq,
                LedgerEntry.hash,
                LedgerEntry.leaf_index,
            )
            .where(
                LedgerEntry.subject.in_([f"listing:{i}" for i in chunk]),
                LedgerEntry.type.in_(types),
            )
            .order_by(LedgerEntry.subject_seq)
        )
        for subject, type_, seq, digest, leaf in rows:
            out[int(subject.split(":")[1]), type_] = {
                "subject": subject,
                "seq": seq,
                "type": type_,
                "hash": digest,
                "index": leaf,
            }
    return out


async def single_bidder(session: AsyncSession, ids: Sequence[int] | None) -> list[Finding]:
    found: list[Finding] = []
    for chunk in _chunks(ids):
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
                *_only(Registration.listing_id, chunk),
            )
            .group_by(Registration.listing_id, Listing.state, Listing.outcome)
            .having(func.count() == 1)
        )
        rows = list(await session.execute(query))
        refs = await _ledger_refs(session, [r[0] for r in rows], ["registration.closed"])
        for listing_id, registration_id, number, state, outcome in rows:
            found.append(
                Finding(
                    "single_bidder",
                    f"listing:{listing_id}",
                    listing_id,
                    {
                        "qualified": 1,
                        "registration_id": registration_id,
                        "bidder_number": number,
                        "listing_state": state,
                        "outcome": outcome,
                        "ledger": [r for r in [refs.get((listing_id, "registration.closed"))] if r],
                    },
                )
            )
    return found


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
                *_only(Registration.listing_id, ids),
            )
        )
    if kind == "phone":
        return (
            select(*reg, User.phone.label("value"), literal_column("'account'").label("source"))
            .join(User, User.id == Registration.bidder_id)
            .where(User.phone.is_not(None), *_only(Registration.listing_id, ids))
        )
    reg_column = Registration.ip if kind == "ip" else Registration.user_agent
    bid_column = Bid.ip if kind == "ip" else Bid.device
    from_registrations = select(
        *reg, reg_column.label("value"), literal_column("'registration'").label("source")
    ).where(reg_column.is_not(None), *_only(Registration.listing_id, ids))
    from_bids = (
        select(*reg, bid_column.label("value"), literal_column("'bid'").label("source"))
        .join(
            Bid,
            and_(
                Bid.listing_id == Registration.listing_id, Bid.bidder_id == Registration.bidder_id
            ),
        )
        .where(bid_column.is_not(None), *_only(Registration.listing_id, ids))
        .distinct()
    )
    return union_all(from_registrations, from_bids)


async def shared_attribute(
    session: AsyncSession, kind: str, ids: Sequence[int] | None
) -> list[Finding]:
    """Bidders of one listing sharing a phone, an IP address or a device (user agent)."""
    found: list[Finding] = []
    for chunk in _chunks(ids):
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
                    f"listing:{listing_id}:{_digest(value)}",
                    listing_id,
                    {kind: value, "bidders": list(bidders.values())},
                )
            )
    return found


async def zero_premium(session: AsyncSession, ids: Sequence[int] | None) -> list[Finding]:
    found: list[Finding] = []
    for chunk in _chunks(ids):
        rows = list(
            await session.execute(
                select(
                    Deal.listing_id,
                    Deal.kind,
                    Deal.listing_fen,
                    Deal.final_fen,
                    Deal.rounds,
                    Deal.winner_number,
                ).where(Deal.final_fen <= Deal.listing_fen, *_only(Deal.listing_id, chunk))
            )
        )
        refs = await _ledger_refs(session, [r[0] for r in rows], ["deal.recorded"])
        for listing_id, kind, listing_fen, final_fen, rounds, winner in rows:
            found.append(
                Finding(
                    "zero_premium",
                    f"listing:{listing_id}",
                    listing_id,
                    {
                        "deal_kind": kind,
                        "listing_fen": listing_fen,
                        "final_fen": final_fen,
                        "rounds": rounds,
                        "winner_number": winner,
                        "ledger": [r for r in [refs.get((listing_id, "deal.recorded"))] if r],
                    },
                )
            )
    return found


async def failed_twice(session: AsyncSession, ids: Sequence[int] | None) -> list[Finding]:
    """A failed listing that relists an earlier failed one (流拍两次及以上)."""
    found: list[Finding] = []
    previous = Listing.__table__.alias("previous")
    for chunk in _chunks(ids):
        rows = list(
            await session.execute(
                select(Listing.id, Listing.relist_of)
                .join(previous, previous.c.id == Listing.relist_of)
                .where(
                    Listing.state == "failed",
                    previous.c.state == "failed",
                    *_only(Listing.id, chunk),
                )
            )
        )
        for listing_id, _ in rows:
            chain = await _relist_chain(session, listing_id)
            failures = [c for c in chain if c["state"] == "failed"]
            found.append(
                Finding(
                    "failed_twice",
                    f"listing:{listing_id}",
                    listing_id,
                    {"failures": len(failures), "chain": chain},
                )
            )
    return found


async def _relist_chain(session: AsyncSession, listing_id: int) -> list[dict[str, Any]]:
    chain: list[dict[str, Any]] = []
    current: int | None = listing_id
    while current is not None and len(chain) < 50:
        row = (
            await session.execute(
                select(
                    Listing.id,
                    Listing.state,
                    Listing.outcome,
                    Listing.relist_of,
                    Listing.announced_at,
                ).where(Listing.id == current)
            )
        ).first()
        if row is None:
            break
        chain.append(
            {
                "listing_id": row[0],
                "state": row[1],
                "outcome": row[2],
                "announced_at": row[4].isoformat() if row[4] else None,
            }
        )
        current = row[3]
    return chain


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
    for chunk in _chunks(ids):
        rows = await session.execute(
            select(ListingFact.listing_id, ListingFact.category, ListingFact.term_years).where(
                rule, *_only(ListingFact.listing_id, chunk)
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


async def lease_expiring(
    session: AsyncSession, ids: Sequence[int] | None, today: date
) -> list[Finding]:
    found: list[Finding] = []
    horizon = today + timedelta(days=EXPIRY_DAYS)
    for chunk in _chunks(ids):
        rows: Any = await session.execute(
            select(
                ListingFact.listing_id,
                ListingFact.decided_on,
                ListingFact.term_years,
                ListingFact.lease_ends_on,
                ListingFact.village_path,
                ListingFact.category,
            ).where(
                ListingFact.is_sold == 1,
                ListingFact.lease_ends_on >= today,
                ListingFact.lease_ends_on <= horizon,
                *_only(ListingFact.listing_id, chunk),
            )
        )
        for listing_id, decided, years, ends, village, category in rows:
            found.append(
                Finding(
                    "lease_expiring",
                    f"listing:{listing_id}:{ends.isoformat()}",
                    listing_id,
                    {
                        "decided_on": decided.isoformat(),
                        "term_years": years,
                        "lease_ends_on": ends.isoformat(),
                        "days_left": (ends - today).days,
                        "village": village,
                        "category": category,
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
    for chunk in _chunks(ids):
        rows: Any = await session.execute(
            select(
                Deal.listing_id,
                Deal.decided_at,
                Contract.id,
                Contract.state,
                Contract.sign_deadline,
            )
            .join(Contract, Contract.listing_id == Deal.listing_id)
            .where(Contract.signed_at.is_(None), *_only(Deal.listing_id, chunk))
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
    for kind in ("phone", "ip", "device", "bank_account"):
        findings += await shared_attribute(session, kind, ids)
    findings += await zero_premium(session, ids)
    findings += await failed_twice(session, ids)
    findings += await term_too_long(session, ids, settings)
    findings += await lease_expiring(session, ids, local_date(now))
    findings += await contract_unsigned(session, ids, settings, now)
    return Detection(findings, [])


# ---------------------------------------------------------------------------------------------
# Storage and acknowledgement
# ---------------------------------------------------------------------------------------------


async def store(session: AsyncSession, findings: Sequence[Finding], now: datetime) -> int:
    """Insert new findings and refresh the evidence of open ones; returns how many were new."""
    if not findings:
        return 0
    existing: dict[tuple[str, str], WarningRow] = {}
    keys = sorted({f.key for f in findings})
    for start in range(0, len(keys), _CHUNK):
        rows = await session.scalars(
            select(WarningRow).where(WarningRow.key.in_(keys[start : start + _CHUNK]))
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


async def acknowledge(
    session: AsyncSession, actor: Actor, warning_id: int, note: str, now: datetime
) -> WarningRow:
    row = await session.scalar(
        select(WarningRow).where(WarningRow.id == warning_id).with_for_update()
    )
    if row is None or not await _visible(session, actor, row):
        raise NotFound("warning.not_found", "预警不存在")
    if row.state != "open":
        raise Conflict("warning.already_acknowledged", "该预警已处理")
    row.state, row.acknowledged_by, row.acknowledged_at = "acknowledged", actor.id, now
    row.note, row.updated_at = note, now
    await append_many(
        session,
        subject=SUBJECT,
        items=[
            (
                "warning.acknowledged",
                {
                    "warning_id": row.id,
                    "kind": row.kind,
                    "key": row.key,
                    "listing_id": row.listing_id,
                    "note": note,
                },
            )
        ],
        actor=actor.name,
        at=now,
    )
    return row


async def _visible(session: AsyncSession, actor: Actor, row: WarningRow) -> bool:
    village = (
        await session.scalar(
            select(Region)
            .join(Listing, Listing.village_id == Region.id)
            .where(Listing.id == row.listing_id)
        )
        if row.listing_id is not None
        else None
    )
    return policy.is_inside(actor, village)


async def search(
    session: AsyncSession,
    actor: Actor,
    *,
    kind: str | None,
    state: str | None,
    listing_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[WarningRow], int]:
    query = select(WarningRow)
    if kind:
        query = query.where(WarningRow.kind == kind)
    if state:
        query = query.where(WarningRow.state == state)
    if listing_id is not None:
        query = query.where(WarningRow.listing_id == listing_id)
    if actor.region is not None:  # policy.is_inside, as a query
        path = actor.region.path
        query = (
            query.join(Listing, Listing.id == WarningRow.listing_id)
            .join(Region, Region.id == Listing.village_id)
            .where(or_(Region.path == path, Region.path.startswith(path + "/", autoescape=True)))
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(WarningRow.id.desc()).limit(limit).offset(offset))
    return list(rows), int(total or 0)


#: Evidence keys that lead from a bidder number to a person: the ids that link, and the shared
#: values themselves (a full phone number against the masked ones listed).
_PERSONAL_KEYS: Final = LINKING_KEYS | {"phone", "ip", "device", "bank_account"}


def _sealed(evidence: Any) -> Any:
    """Evidence without the keys that tie a bidder number to a person."""
    if isinstance(evidence, dict):
        return {k: _sealed(v) for k, v in evidence.items() if k not in _PERSONAL_KEYS}
    if isinstance(evidence, list):
        return [_sealed(v) for v in evidence]
    return evidence


async def views(
    session: AsyncSession, actor: Actor, rows: Sequence[WarningRow]
) -> list[dict[str, Any]]:
    """Warnings as `actor` may see them: until a listing's auction ends its evidence shows
    bidder numbers, never whose they are (the policy's identities facet)."""
    ids = {r.listing_id for r in rows if r.listing_id is not None}
    facts = (
        {
            listing.id: (listing.state, region)
            for listing, region in await session.execute(
                select(Listing, Region)
                .join(Region, Region.id == Listing.village_id)
                .where(Listing.id.in_(ids))
            )
        }
        if ids
        else {}
    )
    out = []
    for row in rows:
        shown = view(row)
        fact = facts.get(row.listing_id) if row.listing_id is not None else None
        if fact is not None and not policy.may_see(actor, Facet.IDENTITIES, *fact):
            shown["evidence"] = _sealed(shown["evidence"])
        out.append(shown)
    return out


def view(row: WarningRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "kind_name": KIND_NAMES_ZH.get(row.kind, row.kind),
        "listing_id": row.listing_id,
        "state": row.state,
        "evidence": row.evidence,
        "detected_at": row.detected_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "acknowledged_by": row.acknowledged_by,
        "acknowledged_at": row.acknowledged_at.isoformat() if row.acknowledged_at else None,
        "note": row.note,
    }
