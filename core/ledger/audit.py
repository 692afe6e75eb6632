"""`ruralx ledger audit`: re-verify the whole log against the database, page by page.

1. The Merkle log: leaf indices 0…n−1 without gaps, every leaf recomputed from its entry,
   every stored subtree node and the tree head equal to the recomputation, every stored
   checkpoint's root equal to the recomputed root at its size and signed by the trusted key.
2. Checkpoints: each is consistent with the next (an RFC 9162 proof built from the stored
   nodes, as served to the public, verifies).
3. Chains: every subject's entries recomputed in seq order — hashes, prev links, no gaps —
   leaf indices rising with seq, unsequenced entries only at a chain's end, the head row
   equal to the last entry.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database
from core.ledger.bundle import MissingNodes, fetch_nodes
from core.ledger.chain import GENESIS, document_of, entry_hash
from core.ledger.merkle import EMPTY_ROOT, verify_consistency
from core.ledger.models import LedgerEntry, LedgerHead
from core.ledger.notes import NoteVerificationError, verify_note
from core.ledger.sequencer import leaf_of
from core.ledger.tables import LedgerCheckpoint, LedgerTree
from core.ledger.tree import append_leaf, consistency_ranges, frontier_root, nodes_for, proof_from

PAGE: Final = 5000


@dataclass
class AuditReport:
    entries: int = 0
    sequenced: int = 0
    unsequenced: int = 0
    subjects: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    max_problems: int = 50

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, message: str) -> None:
        if len(self.problems) < self.max_problems:
            self.problems.append(message)


def _where(entry: LedgerEntry) -> str:
    return f"{entry.subject} 第 {entry.subject_seq} 号（id={entry.id}，{entry.type}）"


async def audit(db: Database, verifier_key: str | None) -> AuditReport:
    report = AuditReport()
    async with db.read() as session:
        checkpoints = list(
            await session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size))
        )
        report.checkpoints = len(checkpoints)
        await _audit_log(session, checkpoints, verifier_key, report)
        await _audit_consistency(session, checkpoints, report)
        await _audit_chains(session, report)
    return report


async def _audit_log(
    session: AsyncSession,
    checkpoints: list[LedgerCheckpoint],
    key: str | None,
    report: AuditReport,
) -> None:
    for row in checkpoints:
        try:
            parsed = verify_note(row.note, key or row.key)
        except NoteVerificationError as exc:
            report.problem(f"检查点（大小 {row.size}）签名无效：{exc}")
            continue
        if parsed.size != row.size or parsed.root_hash.hex() != row.root:
            report.problem(f"检查点（大小 {row.size}）的签名内容与表中记录不符")
    pending = iter(checkpoints)
    next_checkpoint = next(pending, None)
    size, frontier = 0, list[bytes]()
    while next_checkpoint is not None and next_checkpoint.size == 0:
        if next_checkpoint.root != EMPTY_ROOT.hex():
            report.problem("大小为 0 的检查点根哈希错误")
        next_checkpoint = next(pending, None)
    broken = False
    while not broken:
        rows = list(
            await session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.leaf_index >= size)
                .order_by(LedgerEntry.leaf_index)
                .limit(PAGE)
            )
        )
        if not rows:
            break
        computed: dict[tuple[int, int], bytes] = {}
        for entry in rows:
            if entry.leaf_index != size:
                report.problem(
                    f"日志序号不连续：期望 {size}，实为 {entry.leaf_index}（{_where(entry)}）"
                )
                broken = True
                break
            for level, idx, value in append_leaf(size, frontier, leaf_of(entry)):
                computed[level, idx] = value
            size += 1
            while next_checkpoint is not None and next_checkpoint.size == size:
                if frontier_root(frontier).hex() != next_checkpoint.root:
                    report.problem(
                        f"检查点（大小 {size}）的根哈希与按记录重算的结果不符：记录被改动"
                    )
                next_checkpoint = next(pending, None)
        try:
            stored = await fetch_nodes(session, computed.keys())
        except MissingNodes as exc:
            report.problem(f"存储的默克尔树节点缺失：{exc}")
            stored = {}
        for node, value in computed.items():
            if node in stored and stored[node] != value:
                report.problem(f"存储的默克尔树节点 {node} 与重算结果不符")
                break
    report.sequenced = size
    if next_checkpoint is not None:
        report.problem(f"检查点大小 {next_checkpoint.size} 超出日志实际大小 {size}")
    tree = await session.get(LedgerTree, 1)
    if (
        tree is not None
        and not broken
        and (
            tree.size != size
            or tree.root != frontier_root(frontier).hex()
            or tree.frontier != [h.hex() for h in frontier]
        )
    ):
        report.problem(f"日志头（大小 {tree.size}）与重算结果（大小 {size}）不符")


async def _audit_consistency(
    session: AsyncSession, checkpoints: list[LedgerCheckpoint], report: AuditReport
) -> None:
    for old, new in itertools.pairwise(checkpoints):
        ranges = consistency_ranges(old.size, new.size)
        try:
            proof = proof_from(ranges, await fetch_nodes(session, nodes_for(ranges)))
        except MissingNodes as exc:
            report.problem(f"无法构造 {old.size}→{new.size} 的一致性证明：{exc}")
            continue
        if not verify_consistency(
            old.size, new.size, bytes.fromhex(old.root), bytes.fromhex(new.root), proof
        ):
            report.problem(f"检查点 {old.size} 与 {new.size} 不一致：日志被改写")


async def _audit_chains(session: AsyncSession, report: AuditReport) -> None:
    heads = {h.subject: (h.seq, h.hash) for h in await session.scalars(select(LedgerHead))}
    subject: str | None = None
    seq, prev, last_index, unsequenced_seen = 0, GENESIS, -1, False

    def close() -> None:
        if subject is None:
            return
        head = heads.pop(subject, None)
        if head != (seq, prev):
            report.problem(f"{subject} 的链头与最后一条记录不符（链头 {head}，记录 {seq}）")

    cursor: tuple[str, int] = ("", 0)
    while True:
        rows = list(
            await session.scalars(
                select(LedgerEntry)
                .where(tuple_(LedgerEntry.subject, LedgerEntry.subject_seq) > tuple_(*cursor))
                .order_by(LedgerEntry.subject, LedgerEntry.subject_seq)
                .limit(PAGE)
            )
        )
        if not rows:
            break
        for entry in rows:
            report.entries += 1
            if entry.subject != subject:
                close()
                report.subjects += 1
                subject, seq, prev, last_index, unsequenced_seen = (
                    entry.subject,
                    0,
                    GENESIS,
                    -1,
                    False,
                )
            if entry.subject_seq != seq + 1:
                report.problem(f"{_where(entry)}：序号不连续（前一条为第 {seq} 号）")
            if entry.prev_hash != prev:
                report.problem(f"{_where(entry)}：prev 与前一条记录的哈希不符")
            if entry_hash(document_of(entry)) != entry.hash:
                report.problem(f"{_where(entry)}：内容与其哈希不符（记录被改动）")
            if entry.leaf_index is None:
                report.unsequenced += 1
                unsequenced_seen = True
            else:
                if unsequenced_seen or entry.leaf_index <= last_index:
                    report.problem(f"{_where(entry)}：日志顺序与链顺序不一致")
                last_index = entry.leaf_index
            seq, prev = entry.subject_seq, entry.hash
        cursor = (rows[-1].subject, rows[-1].subject_seq)
    close()
    for orphan in sorted(heads):
        report.problem(f"{orphan} 有链头却没有记录")
