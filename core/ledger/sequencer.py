"""The sequencer: gives every ledger entry its place in the global Merkle log, exactly once.

Every worker runs it each scheduler tick. One transaction at a time holds the `ledger_tree`
row (SELECT … FOR UPDATE; workers that find it taken skip the tick, SKIP LOCKED; SQLite's
single BEGIN IMMEDIATE writer serialises the same way). Holding it, the sequencer takes the
entries whose `leaf_index` is still NULL — in id order — assigns them size, size+1, …,
stores the perfect subtrees they complete and the new compact range, and commits all of it
together. The UNIQUE constraint on `leaf_index` is the last line of defence.

Why this is safe although PostgreSQL ids may commit out of order (id 11 visible before 10):
the sequencer never keeps an id cursor. It selects by `leaf_index IS NULL`, so an entry that
commits late is simply taken by a later run and gets a later index; nothing is skipped and
nothing is sequenced twice (the next holder of the lock sees the committed indices — READ
COMMITTED takes a fresh snapshot per statement, after the lock is granted). The global order
is therefore "order of sequencing", stable once committed. Per subject it is also the chain
order: a subject's entries are appended under its head lock, so seq n+1 commits after seq n
and has a larger id, and the log never shows them reversed (`verify` checks this).

Checkpoints are signed in the same transaction: when an `auction.ended` entry was just
sequenced, when the last checkpoint is a minute old and the tree has grown since, or when a
caller (a regulator's bundle) needs one covering the entries it exports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database, table_of
from core.ledger.canonical import canonical_json
from core.ledger.chain import canonical_hash, document_of, timestamp
from core.ledger.keys import CheckpointSigner
from core.ledger.merkle import EMPTY_ROOT, leaf_hash
from core.ledger.models import LedgerEntry
from core.ledger.notes import sign_checkpoint
from core.ledger.tables import LedgerCheckpoint, LedgerNode, LedgerTree
from core.ledger.tree import append_leaf, frontier_root

CHECKPOINT_INTERVAL: Final = timedelta(seconds=60)
BATCH: Final = 2000
#: Entry types after which a checkpoint is signed at once (domain: "at every auction end").
CHECKPOINT_AFTER: Final = frozenset({"auction.ended"})


class LedgerIntegrityError(RuntimeError):
    """An unsequenced entry no longer matches its own hash: refuse to commit it to the log."""


@dataclass(frozen=True, slots=True)
class Sequenced:
    count: int
    size: int
    checkpoint: LedgerCheckpoint | None


def leaf_of(entry: LedgerEntry) -> bytes:
    """The RFC 6962 leaf hash of an entry: SHA-256(0x00 || canonical JSON of its document)."""
    return leaf_hash(canonical_json(document_of(entry)))


async def _tree(session: AsyncSession, *, wait: bool) -> LedgerTree | None:
    query = select(LedgerTree).where(LedgerTree.id == 1)
    if await session.scalar(query) is None:
        ins = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            ins(LedgerTree)
            .values(
                id=1,
                size=0,
                frontier=[],
                root=EMPTY_ROOT.hex(),
                updated_at=datetime(1970, 1, 1, tzinfo=UTC),
            )
            .on_conflict_do_nothing()
        )
    return await session.scalar(
        query.with_for_update(skip_locked=not wait).execution_options(populate_existing=True)
    )


async def latest_checkpoint(session: AsyncSession) -> LedgerCheckpoint | None:
    return await session.scalar(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1)
    )


async def sequence(
    session: AsyncSession,
    signer: CheckpointSigner,
    now: datetime,
    *,
    wait: bool = False,
    batch: int = BATCH,
    checkpoint: str | None = None,
) -> Sequenced | None:
    """Sequence up to `batch` entries in the caller's transaction; None if another holds the log.

    `checkpoint` forces a signed checkpoint of the resulting tree (with that reason) unless
    one of exactly this size exists already.
    """
    tree = await _tree(session, wait=wait)
    if tree is None:
        return None
    # Plain rows, not ORM objects: at a hot auction's rate, loading and flushing thousands
    # of entries through the unit of work was most of this job's cost.
    e = LedgerEntry
    entries = (
        await session.execute(
            select(
                e.id,
                e.subject,
                e.subject_seq,
                e.type,
                e.actor,
                e.payload,
                e.at,
                e.prev_hash,
                e.hash,
            )
            .where(e.leaf_index.is_(None))
            .order_by(e.id)
            .limit(batch)
        )
    ).all()
    size, frontier = tree.size, [bytes.fromhex(h) for h in tree.frontier]
    nodes: list[dict[str, object]] = []
    placed: list[dict[str, int]] = []
    urgent = False
    for entry in entries:
        canonical = canonical_json(document_of(entry))  # type: ignore[arg-type]  # a Row
        if canonical_hash(canonical) != entry.hash:
            raise LedgerIntegrityError(
                f"ledger entry id={entry.id} ({entry.subject} #{entry.subject_seq}) does not "
                "match its hash; sequencing stopped"
            )
        leaf = leaf_hash(canonical)
        nodes.extend(
            {"level": level, "idx": idx, "hash": value}
            for level, idx, value in append_leaf(size, frontier, leaf)
        )
        placed.append({"entry_id": entry.id, "leaf": size})
        size += 1
        urgent = urgent or entry.type in CHECKPOINT_AFTER
    if entries:
        await _place(session, placed, nodes)
        tree.size, tree.frontier = size, [h.hex() for h in frontier]
        tree.root, tree.updated_at = frontier_root(frontier).hex(), now
    signed = None
    latest = await latest_checkpoint(session)
    latest_size = latest.size if latest is not None else -1
    reason = checkpoint
    if reason is None and size > latest_size:
        if latest is None:
            reason = "first"
        elif urgent:
            reason = "auction_end"
        elif now - latest.created_at >= CHECKPOINT_INTERVAL:
            reason = "interval"
    if reason is not None and size != latest_size:
        signed = await _sign(session, signer, size, bytes.fromhex(tree.root), now, reason)
    await session.flush()
    return Sequenced(len(entries), size, signed)


#: PostgreSQL: the batch's places and nodes as one statement each over arrays, rather than a
#: statement per row (an executemany), which cost the sequencer more than hashing the entries.
_PLACE = text(
    "UPDATE ledger_entries AS e SET leaf_index = p.leaf"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:leaves AS bigint[])) AS p(id, leaf)"
    " WHERE e.id = p.id"
)
_NODES = text(
    "INSERT INTO ledger_nodes (level, idx, hash)"
    " SELECT * FROM unnest(CAST(:levels AS smallint[]), CAST(:idxs AS bigint[]),"
    " CAST(:hashes AS bytea[]))"
)


async def _place(
    session: AsyncSession, placed: list[dict[str, int]], nodes: list[dict[str, object]]
) -> None:
    """Store the entries' leaf indices and the subtrees they complete."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            _PLACE,
            {"ids": [p["entry_id"] for p in placed], "leaves": [p["leaf"] for p in placed]},
        )
        await session.execute(
            _NODES,
            {
                "levels": [n["level"] for n in nodes],
                "idxs": [n["idx"] for n in nodes],
                "hashes": [n["hash"] for n in nodes],
            },
        )
        return
    entries = table_of(LedgerEntry)
    await session.execute(
        update(entries)
        .where(entries.c.id == bindparam("entry_id"))
        .values(leaf_index=bindparam("leaf")),
        placed,
    )
    await session.execute(insert(table_of(LedgerNode)), nodes)


async def _sign(
    session: AsyncSession,
    signer: CheckpointSigner,
    size: int,
    root: bytes,
    now: datetime,
    reason: str,
) -> LedgerCheckpoint:
    note = sign_checkpoint(
        signer.name,
        size,
        root,
        signer.name,
        signer.private_key,
        extensions=[f"time {timestamp(now)}"],
    )
    row = LedgerCheckpoint(
        size=size,
        root=root.hex(),
        note=note,
        key=signer.verifier_key,
        reason=reason,
        created_at=now,
    )
    session.add(row)
    return row


async def run(
    db: Database,
    signer: Callable[[], CheckpointSigner],
    now: Callable[[], datetime],
    *,
    wait: bool = False,
    checkpoint: str | None = None,
    max_batches: int = 50,
) -> int:
    """Sequence everything pending in batches of short transactions; returns the tree size.

    With `checkpoint`, the tree as sequenced is also signed (if no checkpoint of that size
    exists). Returns -1 when another worker holds the log (and `wait` is false).
    """
    size = -1
    for _ in range(max_batches):
        async with db.write() as session:
            done = await sequence(session, signer(), now(), wait=wait, checkpoint=checkpoint)
        if done is None:
            return -1
        size = done.size
        if done.count < BATCH:
            break
    return size
