"""Offline verification of an exported bundle: no database, no network, only the key.

Checks, in this order, and stops at the first failure, naming the entry:
1. the checkpoint note carries a valid Ed25519 signature of the trusted key (a forged or
   altered checkpoint fails here);
2. optionally, that a checkpoint the verifier already trusts is consistent with it
   (same tree, or a consistency proof carried in the bundle);
3. for every entry in the bundle's order: its leaf (SHA-256(0x00 || canonical JSON of the
   entry)) is included at its index in the checkpoint's tree (any changed byte of an entry,
   index or proof fails here), and it continues its subject's hash chain: seq 1, 2, 3 …
   without gaps, `prev` equal to the hash of the entry before (GENESIS for the first),
   leaf indices rising with seq (a removed, inserted or reordered entry fails here).

4. the signed subject head (a second note by the same key, made at export: "as of this
   checkpoint, subject S ends at seq n with hash h") matches the last entry of its subject,
   so a bundle cut short at its end is caught too. Without it only a prefix is proven.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from core.ledger.canonical import canonical_json
from core.ledger.chain import GENESIS, entry_hash
from core.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from core.ledger.notes import Checkpoint, NoteVerificationError, open_note, verify_note

HEAD_LINE: Final = "subject-head"


def head_text(origin: str, subject: str, seq: int, digest: str, tree_size: int) -> str:
    """The text of a subject-head note; its second line keeps it from parsing as a checkpoint."""
    return f"{origin}\n{HEAD_LINE} {subject}\nseq {seq}\nhash {digest}\ntree-size {tree_size}\n"


@dataclass(frozen=True, slots=True)
class Head:
    origin: str
    subject: str
    seq: int
    hash: str
    tree_size: int


def parse_head(text: str) -> Head:
    lines = text.split("\n")
    if len(lines) != 6 or lines[5] != "":
        raise ValueError("not a subject-head note")
    origin, subject_line, seq_line, hash_line, size_line, _ = lines
    kind, _, subject = subject_line.partition(" ")
    fields = {}
    for line in (seq_line, hash_line, size_line):
        name, _, value = line.partition(" ")
        fields[name] = value
    if kind != HEAD_LINE or not subject or set(fields) != {"seq", "hash", "tree-size"}:
        raise ValueError("not a subject-head note")
    if (
        not fields["seq"].isdigit()
        or not fields["tree-size"].isdigit()
        or len(fields["hash"]) != 64
    ):
        raise ValueError("malformed subject-head note")
    return Head(origin, subject, int(fields["seq"]), fields["hash"], int(fields["tree-size"]))


@dataclass
class Failure:
    message: str
    #: 0-based position in the bundle's entries, when an entry is at fault.
    position: int | None = None
    index: int | None = None
    subject: str | None = None
    seq: int | None = None
    type: str | None = None

    def describe(self) -> str:
        if self.position is None:
            return self.message
        where = f"第 {self.position + 1} 条记录"
        details = []
        if self.index is not None:
            details.append(f"日志序号 {self.index}")
        if self.subject is not None:
            details.append(
                f"{self.subject} 第 {self.seq} 号" if self.seq is not None else self.subject
            )
        if self.type:
            details.append(self.type)
        return (
            f"{where}（{'，'.join(details)}）：{self.message}"
            if details
            else f"{where}：{self.message}"
        )


@dataclass
class Report:
    checkpoint: Checkpoint | None = None
    entries: int = 0
    subjects: dict[str, int] = field(default_factory=dict)
    failure: Failure | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure is None


def _hashes(values: object) -> list[bytes] | None:
    if not isinstance(values, list):
        return None
    out = []
    for value in values:
        if not isinstance(value, str) or len(value) != 64:
            return None
        try:
            out.append(bytes.fromhex(value))
        except ValueError:
            return None
    return out


def verify_bundle(
    bundle: Mapping[str, Any], verifier_key: str, *, trusted_checkpoint: str | None = None
) -> Report:
    """Verify a bundle against a trusted verifier key; see the module docstring."""
    report = Report()
    if (
        not isinstance(bundle, Mapping)
        or not isinstance(bundle.get("checkpoint"), str)
        or not isinstance(bundle.get("entries"), list)
    ):
        report.failure = Failure("文件不是日志导出包（缺少 checkpoint 或 entries）")
        return report
    try:
        checkpoint = verify_note(bundle["checkpoint"], verifier_key)
    except NoteVerificationError as exc:
        report.failure = Failure(f"检查点签名无效或被篡改：{exc}")
        return report
    report.checkpoint = checkpoint

    if trusted_checkpoint is not None:
        failure = _check_trusted(bundle, checkpoint, trusted_checkpoint, verifier_key)
        if failure is not None:
            report.failure = failure
            return report

    chains: dict[str, tuple[int, str, int]] = {}  # subject -> (last seq, last hash, last index)
    seen: set[int] = set()
    for position, item in enumerate(bundle["entries"]):
        failure = _check_entry(position, item, checkpoint, chains, seen)
        if failure is not None:
            report.failure = failure
            return report
        report.entries += 1
    report.subjects = {subject: state[0] for subject, state in chains.items()}
    failure = _check_head(bundle, checkpoint, chains, verifier_key, report)
    if failure is not None:
        report.failure = failure
        return report
    pending = bundle.get("pending")
    if isinstance(pending, int) and pending > 0:
        report.notes.append(f"导出时另有 {pending} 条记录尚未进入该检查点")
    return report


def _check_head(
    bundle: Mapping[str, Any],
    checkpoint: Checkpoint,
    chains: dict[str, tuple[int, str, int]],
    key: str,
    report: Report,
) -> Failure | None:
    note = bundle.get("head")
    if note is None:
        report.notes.append(
            "导出包未附带签名的链头声明：只能证明所含记录是链的前缀，无法排除末尾被截去"
        )
        return None
    if not isinstance(note, str):
        return Failure("链头声明格式错误")
    try:
        head = parse_head(open_note(note, key))
    except (NoteVerificationError, ValueError) as exc:
        return Failure(f"链头声明签名无效或被篡改：{exc}")
    if head.origin != checkpoint.origin or head.tree_size != checkpoint.size:
        return Failure("链头声明与检查点不对应")
    seq, digest, _ = chains.get(head.subject, (0, GENESIS, -1))
    if head.seq != seq or head.hash != digest:
        return Failure(
            f"记录不完整：按交易所签名的链头，{head.subject} 应有 {head.seq} 条记录，"
            f"导出包中只到第 {seq} 号"
            if head.seq > seq
            else f"链头声明（第 {head.seq} 号）与导出包的最后一条记录不符"
        )
    return None


def _check_trusted(
    bundle: Mapping[str, Any], checkpoint: Checkpoint, trusted_text: str, key: str
) -> Failure | None:
    try:
        trusted = verify_note(trusted_text, key)
    except NoteVerificationError as exc:
        return Failure(f"所给的可信检查点签名无效：{exc}")
    if trusted.origin != checkpoint.origin:
        return Failure(f"可信检查点属于另一个日志（{trusted.origin}）")
    if trusted.size == checkpoint.size:
        if trusted.root_hash != checkpoint.root_hash:
            return Failure("同一大小的两个检查点根哈希不同：日志出现分叉")
        return None
    proof = bundle.get("consistency")
    old, new = sorted((trusted, checkpoint), key=lambda c: c.size)
    if (
        not isinstance(proof, Mapping)
        or proof.get("old_size") != old.size
        or proof.get("new_size") != new.size
    ):
        return Failure(
            f"导出包缺少从 {old.size} 到 {new.size} 的一致性证明"
            f"（导出时请带 known_size={trusted.size}）"
        )
    hashes = _hashes(proof.get("proof"))
    if hashes is None or not verify_consistency(
        old.size, new.size, old.root_hash, new.root_hash, hashes
    ):
        return Failure(f"一致性证明不成立：大小 {old.size} 的日志不是大小 {new.size} 的前缀")
    return None


def _check_entry(
    position: int,
    item: object,
    checkpoint: Checkpoint,
    chains: dict[str, tuple[int, str, int]],
    seen: set[int],
) -> Failure | None:
    if not isinstance(item, Mapping) or not isinstance(item.get("entry"), Mapping):
        return Failure("格式错误（缺少 entry）", position)
    document = item["entry"]
    index = item.get("index")
    subject = document.get("subject") if isinstance(document.get("subject"), str) else None
    seq = document.get("seq") if type(document.get("seq")) is int else None
    kind = document.get("type") if isinstance(document.get("type"), str) else None

    def fail(message: str) -> Failure:
        return Failure(message, position, index if type(index) is int else None, subject, seq, kind)

    if type(index) is not int:
        return fail("日志序号（index）缺失或不是整数")
    if index in seen:
        return fail("日志序号重复")
    seen.add(index)
    proof = _hashes(item.get("inclusion_proof"))
    if proof is None:
        return fail("包含证明格式错误")
    try:
        leaf = leaf_hash(canonical_json(document))
        digest = entry_hash(dict(document))
    except (TypeError, ValueError) as exc:
        return fail(f"记录不是规范 JSON：{exc}")
    if not verify_inclusion(leaf, index, checkpoint.size, proof, checkpoint.root_hash):
        return fail("包含证明不成立：记录内容、序号或证明被改动，或不在该检查点的日志中")
    if subject is None or seq is None:
        return fail("记录缺少 subject 或 seq")
    last_seq, last_hash, last_index = chains.get(subject, (0, GENESIS, -1))
    if seq != last_seq + 1:
        if seq > last_seq + 1:
            return fail(
                f"哈希链断裂：缺少 {subject} 第 {last_seq + 1} 号记录（被删除或顺序被打乱）"
            )
        return fail(f"哈希链顺序错误：第 {seq} 号出现在第 {last_seq} 号之后（重复或顺序被打乱）")
    if document.get("prev") != last_hash:
        return fail("哈希链断裂：prev 与前一条记录的哈希不符")
    if index <= last_index:
        return fail("日志顺序与哈希链顺序不一致（记录被重新排序）")
    chains[subject] = (seq, digest, index)
    return None
