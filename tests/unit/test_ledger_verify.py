"""Offline bundle verification: every kind of tampering is caught and the entry is named."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ledger.canonical import canonical_json
from core.ledger.chain import GENESIS, entry_document, entry_hash
from core.ledger.keys import ORIGIN
from core.ledger.merkle import consistency_proof, inclusion_proof, leaf_hash, root_hash
from core.ledger.notes import make_signer, sign_checkpoint, sign_note, verifier_key_text
from core.ledger.verify import head_text, verify_bundle

KEY = Ed25519PrivateKey.generate()
VKEY = verifier_key_text(ORIGIN, KEY.public_key())
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
SUBJECT = "listing:7"


def make_log() -> list[dict[str, Any]]:
    """Entries of two subjects interleaved, as the log would hold them."""
    heads: dict[str, tuple[int, str]] = {}
    documents = []
    plan = [
        SUBJECT,
        "user:1",
        SUBJECT,
        SUBJECT,
        "payments",
        SUBJECT,
        "user:1",
        SUBJECT,
        SUBJECT,
        SUBJECT,
        "settings",
        SUBJECT,
    ]
    for n, subject in enumerate(plan):
        seq, prev = heads.get(subject, (0, GENESIS))
        doc = entry_document(
            subject=subject,
            seq=seq + 1,
            type=["listing.created", "auction.bid", "deposit.paid"][n % 3],
            actor="user:3" if n % 2 else "system",
            payload={"amount_fen": 1_200_000 + 24_000 * n, "reason": "材料齐全", "n": n},
            at=T0 + timedelta(seconds=n),
            prev=prev,
        )
        heads[subject] = (seq + 1, entry_hash(doc))
        documents.append(doc)
    return documents


LOG = make_log()
LEAVES = [leaf_hash(canonical_json(d)) for d in LOG]


def checkpoint(size: int, key: Ed25519PrivateKey = KEY) -> str:
    return sign_checkpoint(
        ORIGIN,
        size,
        root_hash(LEAVES[:size]),
        ORIGIN,
        key,
        extensions=["time 2026-12-01T01:00:00.000000Z"],
    )


def make_bundle(size: int = len(LOG), subject: str = SUBJECT, head: bool = True) -> dict[str, Any]:
    entries = [
        {
            "index": i,
            "entry": copy.deepcopy(d),
            "inclusion_proof": [h.hex() for h in inclusion_proof(LEAVES[:size], i)],
        }
        for i, d in enumerate(LOG[:size])
        if d["subject"] == subject
    ]
    bundle: dict[str, Any] = {"checkpoint": checkpoint(size), "entries": entries}
    if head:
        last = entries[-1]["entry"]
        bundle["head"] = sign_note(
            head_text(ORIGIN, subject, last["seq"], entry_hash(last), size),
            make_signer(ORIGIN, KEY),
        )
    return bundle


def failure_position(bundle: dict[str, Any], **kw: Any) -> int | None:
    report = verify_bundle(bundle, VKEY, **kw)
    assert not report.ok, "tampering went unnoticed"
    assert report.failure is not None
    return report.failure.position


def test_a_genuine_bundle_verifies() -> None:
    report = verify_bundle(make_bundle(), VKEY)
    assert report.ok, report.failure
    assert report.entries == 8 and report.subjects == {SUBJECT: 8}
    assert report.checkpoint is not None and report.checkpoint.size == len(LOG)
    assert report.notes == []
    # Survives a JSON round trip (what the regulator's file is).
    assert verify_bundle(json.loads(json.dumps(make_bundle(), ensure_ascii=False)), VKEY).ok


def _mutations(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1]
    if isinstance(value, str):
        return [value[:-1] + chr(ord(value[-1]) ^ 1), value + " "] if value else ["x"]
    if isinstance(value, dict):
        out = [{**value, "extra": 1}]
        for k, v in value.items():
            out.extend({**value, k: m} for m in _mutations(v))
        return out
    return [None]


@pytest.mark.parametrize("position", range(8))
def test_a_changed_field_in_any_entry_is_named(position: int) -> None:
    original = make_bundle()
    for field, value in original["entries"][position]["entry"].items():
        for mutated in _mutations(value):
            bundle = copy.deepcopy(original)
            bundle["entries"][position]["entry"][field] = mutated
            assert failure_position(bundle) == position, (field, mutated)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_flipped_bit_anywhere_in_the_entries_is_detected(data: st.DataObject) -> None:
    bundle = make_bundle()
    text = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode()
    start = text.index(b'"entries"')
    end = text.index(b'"head"')
    offset = data.draw(st.integers(start, end - 1))
    bit = data.draw(st.integers(0, 7))
    flipped = bytearray(text)
    flipped[offset] ^= 1 << bit
    try:
        tampered = json.loads(flipped.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return  # not even a bundle any more: the command refuses the file
    if _lower_hex(tampered) == bundle:
        return  # e.g. a hex digit of a proof changed case: the same hash
    assert not verify_bundle(tampered, VKEY).ok


def _lower_hex(bundle: Any) -> Any:
    try:
        for item in bundle["entries"]:
            item["inclusion_proof"] = [h.lower() for h in item["inclusion_proof"]]
    except (TypeError, KeyError, AttributeError):
        pass
    return bundle


@pytest.mark.parametrize("position", range(8))
def test_a_removed_entry_is_detected_wherever_it_was(position: int) -> None:
    bundle = make_bundle()
    del bundle["entries"][position]
    report = verify_bundle(bundle, VKEY)
    assert not report.ok and report.failure is not None
    if position < 7:
        assert report.failure.position == position  # the entry after the gap is named
        assert "缺少" in report.failure.message
    else:
        assert "记录不完整" in report.failure.message  # the signed head catches a cut-off end


def test_without_the_signed_head_a_cut_off_end_is_only_a_prefix() -> None:
    bundle = make_bundle(head=False)
    del bundle["entries"][-1]
    report = verify_bundle(bundle, VKEY)
    assert report.ok and report.notes  # and says it cannot tell


@pytest.mark.parametrize("position", range(7))
def test_reordered_entries_are_detected(position: int) -> None:
    bundle = make_bundle()
    entries = bundle["entries"]
    entries[position], entries[position + 1] = entries[position + 1], entries[position]
    assert failure_position(bundle) == position


def test_reordering_with_swapped_indices_is_detected() -> None:
    bundle = make_bundle()
    a, b = bundle["entries"][2], bundle["entries"][3]
    a["index"], b["index"] = b["index"], a["index"]
    a["inclusion_proof"], b["inclusion_proof"] = b["inclusion_proof"], a["inclusion_proof"]
    assert failure_position(bundle) == 2


def test_an_entry_of_a_rewritten_chain_is_detected_even_with_consistent_hashes() -> None:
    # Rewrite entry 3 and re-link the chain after it: the chain is consistent again, but
    # the leaves no longer match the signed root.
    bundle = make_bundle()
    docs = [e["entry"] for e in bundle["entries"]]
    docs[3]["payload"] = {**docs[3]["payload"], "amount_fen": 1}
    for i in range(4, len(docs)):
        docs[i]["prev"] = entry_hash(docs[i - 1])
    assert failure_position(bundle) == 3


@pytest.mark.parametrize("forge", ["other_key", "size", "root", "origin", "unsigned", "old"])
def test_a_forged_checkpoint_is_refused(forge: str) -> None:
    bundle = make_bundle()
    note = bundle["checkpoint"]
    if forge == "other_key":
        bundle["checkpoint"] = checkpoint(len(LOG), Ed25519PrivateKey.generate())
    elif forge == "size":
        bundle["checkpoint"] = note.replace(f"\n{len(LOG)}\n", f"\n{len(LOG) + 1}\n", 1)
    elif forge == "root":
        lines = note.split("\n")
        lines[2] = root_hash(LEAVES[:5]).hex()[:44]
        bundle["checkpoint"] = "\n".join(lines)
    elif forge == "origin":
        bundle["checkpoint"] = note.replace(ORIGIN, "evil.example/log", 1)
    elif forge == "unsigned":
        bundle["checkpoint"] = note.split("\n\n")[0] + "\n"
    else:  # a genuine but older checkpoint: the proofs do not lead to its root
        bundle["checkpoint"] = checkpoint(len(LOG) - 1)
    report = verify_bundle(bundle, VKEY)
    assert not report.ok and report.failure is not None
    if forge == "old":
        assert report.failure.position is not None
    else:
        assert report.failure.position is None and "检查点" in report.failure.message


def test_a_forged_head_is_refused() -> None:
    bundle = make_bundle()
    bundle["head"] = sign_note(
        head_text(ORIGIN, SUBJECT, 9, "0" * 64, len(LOG)),
        make_signer(ORIGIN, Ed25519PrivateKey.generate()),
    )
    assert failure_position(bundle) is None


def test_a_trusted_older_checkpoint_is_checked_by_consistency_proof() -> None:
    bundle = make_bundle()
    old = checkpoint(5)
    report = verify_bundle(bundle, VKEY, trusted_checkpoint=old)
    assert not report.ok and report.failure is not None and "一致性证明" in report.failure.message
    bundle["consistency"] = {
        "old_size": 5,
        "new_size": len(LOG),
        "proof": [h.hex() for h in consistency_proof(LEAVES, 5, len(LOG))],
    }
    assert verify_bundle(bundle, VKEY, trusted_checkpoint=old).ok
    assert verify_bundle(bundle, VKEY, trusted_checkpoint=bundle["checkpoint"]).ok
    # A checkpoint of a different history (leaf 2 changed) cannot be made consistent.
    leaves = list(LEAVES)
    leaves[2] = leaf_hash(b"rewritten")
    fork = sign_checkpoint(ORIGIN, 5, root_hash(leaves[:5]), ORIGIN, KEY)
    report = verify_bundle(bundle, VKEY, trusted_checkpoint=fork)
    assert not report.ok


def test_a_wrong_proof_or_index_is_named() -> None:
    bundle = make_bundle()
    bundle["entries"][4]["inclusion_proof"][0] = "00" * 32
    assert failure_position(bundle) == 4
    bundle = make_bundle()
    bundle["entries"][5]["index"] += 1
    assert failure_position(bundle) == 5
    bundle = make_bundle()
    bundle["entries"][1]["inclusion_proof"] = "not hex"
    assert failure_position(bundle) == 1


def test_floats_and_garbage_are_refused() -> None:
    bundle = make_bundle()
    bundle["entries"][0]["entry"]["payload"]["amount_fen"] = 1.5
    assert failure_position(bundle) == 0
    assert not verify_bundle({"entries": []}, VKEY).ok
    assert not verify_bundle([], VKEY).ok  # type: ignore[arg-type]
