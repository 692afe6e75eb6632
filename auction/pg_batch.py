"""A batch of bid commands on PostgreSQL in plain SQL on asyncpg: one round trip or four.

One: the worker remembers what it last wrote for the auction (`Known`: the state columns,
the ledger head, its bidders' numbers); the engine decides from that in Python and one
autocommit statement (`GUARDED`) writes the batch only if the auction row, the head and
the bidders' qualification are still as remembered — all of it or none of it.
Four, when nothing is remembered or the guarded statement wrote nothing: BEGIN; one
statement that locks the auction row and then the ledger head and reads the auction's
qualified bidder numbers and the batch's recorded answers (`LOCK`); the engine decides; one
statement of data-modifying CTEs that inserts the bids, room events and ledger entries and
updates the head and the auction row (`WRITE`); COMMIT. What they wrote is remembered.
The ORM path (`auction.persist`) does the same in about twelve statements and stays the one
for SQLite and for a batch that ends the auction (the conclusion is ORM work).

The SQL names the tables of `auction.models` and `core.ledger.models`; who may bid is
`listings.registration.may_bid`, compiled here. The integration tests run every bid on
PostgreSQL through here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

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
        WHERE r.listing_id = $1 AND {MAY_BID}
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


#: The columns the guarded statement compares with what was remembered (`next_deadline`
#: follows from them and the rules).
STATE_COLUMNS = AUCTION_COLUMNS[:-1]


def _insert(
    table: str,
    fixed: str,
    param: int,
    columns: Sequence[tuple[str, str]],
    rows: int,
    where: str = "",
) -> str:
    """INSERT of one row per element of the JSON array in parameter `rows` (see `_document`),
    in array order; column `fixed` takes parameter `param` in every row; none at all unless
    `where` holds."""
    names = ", ".join(name for name, _ in columns)
    values = ", ".join(
        f"u.r->'{name}'" if kind == "jsonb" else f"(u.r->>'{name}')::{kind}"
        for name, kind in columns
    )
    return (
        f"INSERT INTO {table} ({fixed}, {names}) SELECT ${param}, {values}"
        f" FROM jsonb_array_elements(${rows}::jsonb) WITH ORDINALITY AS u(r, n)"
        f"{f' WHERE {where}' if where else ''} ORDER BY n"
    )


class _Places(NamedTuple):
    """Where `Rows.arguments` puts each part among both statements' parameters."""

    bids: int
    events: int
    entries: int
    head: int
    auction: int
    #: the first parameter after them (the guarded statement's own)
    after: int

    @classmethod
    def of(cls) -> _Places:
        # After $1 listing and $2 subject: the bids, events and entries (a JSON array each),
        # the head (seq, hash), the auction row.
        bids, events, entries, head = 3, 4, 5, 6
        auction = head + 2
        return cls(bids, events, entries, head, auction, auction + len(AUCTION_COLUMNS))

    def sets(self) -> str:
        """The auction row's new values, as an UPDATE's SET list."""
        return ", ".join(f"{name} = ${self.auction + i}" for i, name in enumerate(AUCTION_COLUMNS))


def _write_sql() -> str:
    bids, events, entries, head, _, _ = places = _Places.of()
    sets = places.sets()
    return (
        f"WITH b AS ({_insert('bids', 'listing_id', 1, BID_COLUMNS, bids)}),"
        f" e AS ({_insert('auction_events', 'listing_id', 1, EVENT_COLUMNS, events)}),"
        f" l AS ({_insert('ledger_entries', 'subject', 2, ENTRY_COLUMNS, entries)}),"
        f" h AS (UPDATE ledger_heads SET seq = ${head}, hash = ${head + 1} WHERE subject = $2)"
        f" UPDATE auctions SET {sets} WHERE listing_id = $1"
    )


#: $1 listing, $2 subject, then the bid, event and entry arrays, the head, the auction row.
WRITE = _write_sql()


def _guarded_sql() -> str:
    bids, events, entries, head, _, was_head = places = _Places.of()
    was = was_head + 2
    bidders = was + len(STATE_COLUMNS)
    sets = places.sets()
    unchanged = " AND ".join(
        f"{name} IS NOT DISTINCT FROM ${was + i}" for i, name in enumerate(STATE_COLUMNS)
    )
    written = "EXISTS (SELECT FROM h)"
    return (
        # The auction row first (the lock order of every writer); READ COMMITTED re-checks
        # the guard on the newest version should another writer commit meanwhile.
        f"WITH a AS (UPDATE auctions SET {sets} WHERE listing_id = $1 AND {unchanged}"
        f" AND (SELECT count(*) FROM {Registration.__tablename__} r"
        f" JOIN {User.__tablename__} u ON u.id = r.bidder_id"
        f" JOIN unnest(${bidders}::bigint[], ${bidders + 1}::text[]) AS q(id, number)"
        f" ON q.id = r.bidder_id AND q.number = r.bidder_number"
        f" WHERE r.listing_id = $1 AND {MAY_BID}) = cardinality(${bidders}::bigint[])"
        f" RETURNING 1 AS one),"
        f" h AS (UPDATE ledger_heads SET seq = ${head}, hash = ${head + 1}"
        f" WHERE subject = $2 AND seq = ${was_head} AND hash = ${was_head + 1}"
        f" AND EXISTS (SELECT FROM a) RETURNING 1 AS one),"
        f" b AS ({_insert('bids', 'listing_id', 1, BID_COLUMNS, bids, written)}),"
        f" e AS ({_insert('auction_events', 'listing_id', 1, EVENT_COLUMNS, events, written)}),"
        f" l AS ({_insert('ledger_entries', 'subject', 2, ENTRY_COLUMNS, entries, written)})"
        # The auction row written but not the head (another writer appended to the chain
        # without changing the row, e.g. a rejected bid) divides by zero: the error rolls the
        # whole statement back, the row's update with it.
        f" SELECT count(*) FROM a WHERE a.one / (SELECT count(*) FROM h) = 1"
    )


#: One autocommit statement: the batch written only if the auction row's state and the
#: ledger head are as remembered and every bidder is still qualified under the number
#: remembered. $1 listing, $2 subject, the arrays, the head and auction row as in WRITE, then
#: the remembered head and STATE_COLUMNS, then the bidder ids and their numbers. Its one
#: row says whether anything was written. A ref already recorded (a retry) is a unique
#: violation and a head moved on under an unchanged row a division by zero: either error
#: rolls all of it back, so it writes nothing either.
GUARDED = _guarded_sql()


@dataclass(frozen=True, slots=True)
class Known:
    """What this worker last wrote (or read under lock) for an auction: enough to decide the
    next batch without reading, should nobody else have written since."""

    rules: engine.Rules
    #: The values of STATE_COLUMNS.
    state: tuple[Any, ...]
    head_seq: int
    head_hash: str
    #: bidder id → bidder number of bidders found qualified
    numbers: dict[int, str]


@dataclass(frozen=True, slots=True)
class Locked:
    """What the batch's first statement read, under the auction's and the head's locks."""

    #: The auction row's columns (`rules` decoded), to build the row the book works on.
    auction: dict[str, Any]
    head_seq: int
    head_hash: str
    #: bidder id → bidder number, for every bidder who may bid (all of them: the worker
    #: remembers them for the batches to come)
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


def _document(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """The rows' `columns` as one JSON array of objects: one parameter that asyncpg sends as
    text, where an array per column cost the worker ~2 µs each to encode (25 of them a
    batch). Times must carry their offset: PostgreSQL would read a naive one in the
    session's time zone."""
    for name, kind in columns:
        if kind == "timestamptz":
            for row in rows:
                if (at := row[name]) is not None and at.utcoffset() is None:
                    raise ValueError(f"{name} {at!r} has no time zone")
    return _encode([{name: row[name] for name, _ in columns} for row in rows]).decode()


_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Rows:
    """A decided batch as both statements write it: its rows, the new head and the values
    of AUCTION_COLUMNS in that order."""

    bids: Sequence[dict[str, Any]]
    events: Sequence[dict[str, Any]]
    entries: Sequence[dict[str, Any]]
    head: tuple[int, str]
    auction: Sequence[Any]

    def arguments(self) -> list[Any]:
        """The statements' parameters from $3 on: the row sets, the head, the auction row."""
        return [
            _document(self.bids, BID_COLUMNS),
            _document(self.events, EVENT_COLUMNS),
            _document(self.entries, ENTRY_COLUMNS),
            *self.head,
            *self.auction,
        ]


async def write(conn: asyncpg.Connection, listing_id: int, subject: str, rows: Rows) -> None:
    """Write the batch's rows and the new head and auction state in one statement."""
    await conn.execute(WRITE, listing_id, subject, *rows.arguments())


async def write_guarded(
    conn: asyncpg.Connection,
    listing_id: int,
    subject: str,
    rows: Rows,
    *,
    known: Known,
    bidders: Sequence[int],
) -> bool:
    """Write the batch decided from `known` in one autocommit statement, if the auction row,
    the head and the qualification of `bidders` (under their known numbers) are unchanged;
    whether it was written. Entirely or not at all: a server error means nothing was."""
    written = await conn.fetchval(
        GUARDED,
        listing_id,
        subject,
        *rows.arguments(),
        known.head_seq,
        known.head_hash,
        *known.state,
        list(bidders),
        [known.numbers[b] for b in bidders],
    )
    return bool(written)
