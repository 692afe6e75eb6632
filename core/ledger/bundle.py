"""Exports of the log: a subject's entries with inclusion proofs, consistency proofs.

A bundle is `{checkpoint, entries: [{index, entry, inclusion_proof}]}` (docs/api.md §3.6): the
signed checkpoint note, each entry's document (the object whose canonical JSON is both
hashed into its chain and, with the 0x00 prefix, the Merkle leaf) with its 0-based leaf
index and the hex audit path against that checkpoint. `core.ledger.verify` checks one
offline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput, NotFound
from core.ledger.chain import GENESIS, document_of
from core.ledger.keys import CheckpointSigner
from core.ledger.models import LedgerEntry
from core.ledger.notes import make_signer, sign_note
from core.ledger.tables import LedgerCheckpoint, LedgerNode, LedgerTree
from core.ledger.tree import (
    Node,
    consistency_ranges,
    inclusion_ranges,
    nodes_for,
    proof_from,
)
from core.ledger.verify import head_text

FORMAT: Final = "ruralx-ledger-bundle/1"
_CHUNK: Final = 500


class MissingNodes(RuntimeError):
    """The stored tree lacks a node a proof needs: the log tables are damaged."""


async def fetch_nodes(session: AsyncSession, needed: Iterable[Node]) -> dict[Node, bytes]:
    wanted = set(needed)
    by_level: dict[int, list[int]] = defaultdict(list)
    for level, idx in wanted:
        by_level[level].append(idx)
    found: dict[Node, bytes] = {}
    for level, indices in by_level.items():
        indices.sort()
        for start in range(0, len(indices), _CHUNK):
            chunk = indices[start : start + _CHUNK]
            rows = await session.execute(
                select(LedgerNode.idx, LedgerNode.hash).where(
                    LedgerNode.level == level, LedgerNode.idx.in_(chunk)
                )
            )
            for idx, value in rows:
                found[level, idx] = bytes(value)
    missing = wanted - found.keys()
    if missing:
        raise MissingNodes(f"stored Merkle tree lacks nodes {sorted(missing)[:5]}")
    return found


async def tree_size(session: AsyncSession) -> int:
    size = await session.scalar(select(LedgerTree.size).where(LedgerTree.id == 1))
    return int(size or 0)


async def checkpoint_of_size(session: AsyncSession, size: int | None) -> LedgerCheckpoint:
    query = select(LedgerCheckpoint)
    if size is None:
        query = query.order_by(LedgerCheckpoint.size.desc()).limit(1)
    else:
        query = query.where(LedgerCheckpoint.size == size)
    checkpoint = await session.scalar(query)
    if checkpoint is None:
        raise NotFound(
            "ledger.no_checkpoint",
            "没有该大小的已签名检查点" if size is not None else "日志尚无已签名的检查点",
        )
    return checkpoint


async def consistency(session: AsyncSession, first: int, second: int) -> list[bytes]:
    """RFC 9162 consistency proof between two sizes of the (sequenced) log."""
    size = await tree_size(session)
    if not 0 <= first <= second <= size:
        raise InvalidInput(
            "ledger.bad_sizes", f"需要 0 ≤ first ≤ second ≤ {size}（当前日志大小）", tree_size=size
        )
    ranges = consistency_ranges(first, second)
    return proof_from(ranges, await fetch_nodes(session, nodes_for(ranges)))


async def bundle(
    session: AsyncSession,
    subject: str,
    *,
    size: int | None = None,
    known_size: int | None = None,
    signer: CheckpointSigner | None = None,
) -> dict[str, Any]:
    """Every entry of `subject` in the checkpoint of `size` (latest if None), with proofs.

    With `known_size` (the size of a checkpoint the recipient already trusts) the bundle
    also carries the consistency proof between it and the bundle's checkpoint. With a
    `signer`, it carries a signed subject-head note, so a bundle cut short is detected.
    """
    checkpoint = await checkpoint_of_size(session, size)
    n = checkpoint.size
    entries = list(
        await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.subject == subject)
            .order_by(LedgerEntry.subject_seq)
        )
    )
    covered = []
    for entry in entries:
        if entry.leaf_index is None or entry.leaf_index >= n:
            break  # a subject's entries enter the log in chain order: the rest come later
        covered.append(entry)
    paths = [inclusion_ranges(e.leaf_index, n) for e in covered]  # type: ignore[arg-type]
    extra: dict[str, Any] = {}
    consistency_paths = []
    if known_size is not None and known_size != n:
        old, new = sorted((known_size, n))
        if old < 0 or new > await tree_size(session):
            raise InvalidInput("ledger.bad_sizes", "known_size 超出日志范围")
        consistency_paths = consistency_ranges(old, new)
        extra["consistency"] = {"old_size": old, "new_size": new}
    nodes = await fetch_nodes(
        session, nodes_for([r for path in paths for r in path] + consistency_paths)
    )
    if "consistency" in extra:
        extra["consistency"]["proof"] = [h.hex() for h in proof_from(consistency_paths, nodes)]
    if signer is not None:
        last_seq, last_hash = (
            (covered[-1].subject_seq, covered[-1].hash) if covered else (0, GENESIS)
        )
        extra["head"] = sign_note(
            head_text(signer.name, subject, last_seq, last_hash, n),
            make_signer(signer.name, signer.private_key),
        )
    return {
        "format": FORMAT,
        "subject": subject,
        "checkpoint": checkpoint.note,
        "key": checkpoint.key,
        "tree_size": n,
        "entries": [
            {
                "index": entry.leaf_index,
                "entry": document_of(entry),
                "inclusion_proof": [h.hex() for h in proof_from(path, nodes)],
            }
            for entry, path in zip(covered, paths, strict=True)
        ],
        "pending": len(entries) - len(covered),
        **extra,
    }
