"""A batch of bid commands on PostgreSQL in four round trips, in plain SQL on asyncpg.

The bid book's hot path: BEGIN; one prepared statement that locks the auction row and then
the ledger head and reads the batch's qualified bidder numbers and recorded answers; the
engine decides in Python; one prepared statement with data-modifying CTEs that inserts the
bids, room events and ledger entries and updates the head and the auction row; COMMIT.
The ORM path (`auction.persist`) does the same in about twelve statements and stays the one
for SQLite and for a batch that ends the auction (the conclusion is ORM work).

The SQL names the tables of `auction.models` and `core.ledger.models`; who may bid is
`listings.registration.may_bid`, compiled here. The integration tests run every bid on
PostgreSQL through here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
from sqlalchemy.dialects import postgresql

from auction import engine
from core.accounts import User
from core.db import table_of
from listings.models import Registration
from listings.registration import may_bid

_R = table_of(Registration).alias("r")
_U = table_of(User).alias("u")
#: Who may bid, as `listings.registration.may_bid` says, compiled for the aliases below.
MAY_BID = str(
    may_bid(_R, _U).compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
)

# Auction row first, then the head: the order every other writer of both takes (the head
# CTE joins the locked auction row, so its lock cannot be taken before that one).
LOCK = f"""
WITH a AS MATERIALIZED (
    SELECT rules::text AS rules, status, seq, round, current_fen, leader, ends_at, price_seq,
           paused_status, paused_remaining_ms
    FROM auctions WHERE listing_id = $1 FOR UPDATE
), h AS (
    SELECT ledger_heads.seq, ledger_heads.hash FROM ledger_heads, a
    WHERE ledger_heads.subject = $2 FOR UPDATE OF ledger_heads
)
SELECT a.*, h.seq AS head_seq, h.hash AS head_hash,
    ARRAY(
        SELECT ROW(r.bidder_id, r.bidder_number)
        FROM {Registration.__tablename__} r JOIN {User.__tablename__} u ON u.id = r.bidder_id
        WHERE r.listing_id = $1 AND r.bidder_id = ANY($3::bigint[]) AND {MAY_BID}
    ) AS numbers,
    ARRAY(
        SELECT ROW(b.bidder_id, b.ref, b.outcome, b.code, b.seq, b.round, b.amount_fen)
        FROM bids b
        WHERE b.listing_id = $1 AND b.bidder_id = ANY($3::bigint[]) AND b.ref = ANY($4::text[])
    ) AS firsts
FROM a LEFT JOIN h ON true
"""

BID_COLUMNS = (
    ("bidder_id", "bigint"),
    ("bidder_number", "text"),
    ("ref", "text"),
    ("kind", "text"),
    ("amount_fen", "bigint"),
    ("based_on_seq", "int"),
    ("outcome", "text"),
    ("code", "text"),
    ("seq", "int"),
    ("round", "int"),
    ("at", "timestamptz"),
    ("channel", "text"),
    ("ip", "text"),
    ("device", "text"),
)
EVENT_COLUMNS = (("seq", "int"), ("type", "text"), ("payload", "jsonb"), ("at", "timestamptz"))
ENTRY_COLUMNS = (
    ("subject_seq", "int"),
    ("type", "text"),
    ("actor", "text"),
    ("payload", "jsonb"),
    ("at", "timestamptz"),
    ("prev_hash", "text"),
    ("hash", "text"),
)
AUCTION_COLUMNS = (
    "status",
    "seq",
    "round",
    "current_fen",
    "leader",
    "ends_at",
    "price_seq",
    "paused_status",
    "paused_remaining_ms",
    "next_deadline",
)


def _insert(
    table: str, fixed: str, param: int, columns: Sequence[tuple[str, str]], first: int
) -> str:
    """INSERT of one row per array element (parameters `first`…), rows in array order; column
    `fixed` takes parameter `param` in every row."""
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"${first + i}::{kind}[]" for i, (_, kind) in enumerate(columns))
    aliases = ", ".join(f"u.{name}" for name, _ in columns)
    return (
        f"INSERT INTO {table} ({fixed}, {names}) SELECT ${param}, {aliases}"
        f" FROM unnest({arrays}) WITH ORDINALITY AS u({names}, n) ORDER BY n"
    )


def _write_sql() -> str:
    bids = 3
    events = bids + len(BID_COLUMNS)
    entries = events + len(EVENT_COLUMNS)
    head = entries + len(ENTRY_COLUMNS)
    auction = head + 2
    sets = ", ".join(f"{name} = ${auction + i}" for i, name in enumerate(AUCTION_COLUMNS))
    return (
        f"WITH b AS ({_insert('bids', 'listing_id', 1, BID_COLUMNS, bids)}),"
        f" e AS ({_insert('auction_events', 'listing_id', 1, EVENT_COLUMNS, events)}),"
        f" l AS ({_insert('ledger_entries', 'subject', 2, ENTRY_COLUMNS, entries)}),"
        f" h AS (UPDATE ledger_heads SET seq = ${head}, hash = ${head + 1} WHERE subject = $2)"
        f" UPDATE auctions SET {sets} WHERE listing_id = $1"
    )


#: $1 listing, $2 subject, then the bid, event and entry arrays, the head, the auction row.
WRITE = _write_sql()


@dataclass(frozen=True, slots=True)
class Locked:
    """What the batch's first statement read, under the auction's and the head's locks."""

    #: The auction row's columns (`rules` decoded), to build the row the book works on.
    auction: dict[str, Any]
    head_seq: int
    head_hash: str
    #: bidder id → bidder number, for the batch's qualified bidders
    numbers: dict[int, str]
    #: (bidder id, ref, outcome, code, seq, round, amount_fen) already recorded
    firsts: list[tuple[int, str, str, str | None, int | None, int | None, int | None]]


async def lock(
    conn: asyncpg.Connection,
    listing_id: int,
    subject: str,
    bidder_ids: Sequence[int],
    refs: Sequence[str],
) -> Locked | None:
    """Lock the auction and its ledger head; None when either is missing (the ORM path then
    answers, creating the head or reporting the missing auction)."""
    row = await conn.fetchrow(LOCK, listing_id, subject, list(bidder_ids), list(refs))
    if row is None or row["head_seq"] is None:
        return None
    auction = {name: row[name] for name in AUCTION_COLUMNS if name != "next_deadline"}
    auction["rules"] = msgspec.json.decode(row["rules"], type=engine.Rules)
    return Locked(
        auction=auction,
        head_seq=row["head_seq"],
        head_hash=row["head_hash"],
        numbers={bidder_id: number for bidder_id, number in row["numbers"]},
        firsts=[tuple(r) for r in row["firsts"]],
    )


def _columns(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> list[list[Any]]:
    return [
        [_json(row[name]) if kind == "jsonb" else row[name] for row in rows]
        for name, kind in columns
    ]


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


async def write(
    conn: asyncpg.Connection,
    listing_id: int,
    subject: str,
    *,
    bids: Sequence[dict[str, Any]],
    events: Sequence[dict[str, Any]],
    entries: Sequence[dict[str, Any]],
    head: tuple[int, str],
    auction: Sequence[Any],
) -> None:
    """Write the batch's rows and the new head and auction state in one statement.

    `auction` holds the values of AUCTION_COLUMNS in that order.
    """
    await conn.execute(
        WRITE,
        listing_id,
        subject,
        *_columns(bids, BID_COLUMNS),
        *_columns(events, EVENT_COLUMNS),
        *_columns(entries, ENTRY_COLUMNS),
        *head,
        *auction,
    )
