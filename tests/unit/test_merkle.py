"""Specification of the transparency-log primitives against RFC 6962/9162 and C2SP vectors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, given
from hypothesis import strategies as st

from core.ledger.canonical import JSONValue, canonical_json, canonical_json_reference
from core.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    consistency_proof,
    inclusion_proof,
    inclusion_proofs,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from core.ledger.notes import (
    Checkpoint,
    NoteVerificationError,
    checkpoint_text,
    key_id,
    make_signer,
    open_note,
    parse_checkpoint,
    sign_checkpoint,
    sign_note,
    verifier_key_text,
    verify_note,
)


def h(hex_digest: str) -> bytes:
    return bytes.fromhex(hex_digest)


# --- RFC 6962 reference vectors (transparency-dev/merkle testonly, ex certificate-transparency) ---

LEAF_INPUTS = [
    h(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
LEAF_HASHES = [leaf_hash(x) for x in LEAF_INPUTS]

# NODE[level][i]: complete subtrees over the inputs above; level 0 are the leaf hashes.
NODE = [
    [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]

# ROOTS[n]: the tree head over the first n inputs.
ROOTS = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# (0-based leaf index, tree size, audit path)
INCLUSION_VECTORS: list[tuple[int, int, list[bytes]]] = [
    (0, 1, []),
    (0, 8, [NODE[0][1], NODE[1][1], NODE[2][1]]),
    (5, 8, [NODE[0][4], NODE[1][3], NODE[2][0]]),
    (2, 3, [NODE[1][0]]),
    (1, 5, [NODE[0][0], NODE[1][1], NODE[0][4]]),
]

# (old size, new size, consistency proof)
CONSISTENCY_VECTORS: list[tuple[int, int, list[bytes]]] = [
    (1, 1, []),
    (1, 8, [NODE[0][1], NODE[1][1], NODE[2][1]]),
    (6, 8, [NODE[1][2], NODE[1][3], NODE[2][0]]),
    (2, 5, [NODE[1][1], NODE[0][4]]),
    (6, 7, [NODE[1][2], NODE[0][6], NODE[2][0]]),
]

# The compact range (frontier) after n leaves.
COMPACT_RANGES: list[list[bytes]] = [
    [],
    [NODE[0][0]],
    [NODE[1][0]],
    [NODE[1][0], NODE[0][2]],
    [NODE[2][0]],
    [NODE[2][0], NODE[0][4]],
    [NODE[2][0], NODE[1][2]],
    [NODE[2][0], NODE[1][2], NODE[0][6]],
    [NODE[3][0]],
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def test_leaf_and_node_hashes_use_rfc6962_domain_separation() -> None:
    assert [leaf_hash(x) for x in LEAF_INPUTS] == NODE[0]
    assert node_hash(NODE[0][0], NODE[0][1]) == NODE[1][0]


@pytest.mark.parametrize("size", range(9))
def test_root_hash_matches_the_reference_roots(size: int) -> None:
    assert root_hash(LEAF_HASHES[:size]) == ROOTS[size]


def test_empty_tree_root_is_the_hash_of_nothing() -> None:
    assert root_hash([]) == EMPTY_ROOT == ROOTS[0]


def test_root_hash_refuses_entries_instead_of_leaf_hashes() -> None:
    with pytest.raises(ValueError):
        root_hash([b"raw entry"])


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_inclusion_proof_matches_the_reference_vectors(
    index: int, size: int, proof: list[bytes]
) -> None:
    assert inclusion_proof(LEAF_HASHES[:size], index) == proof
    assert verify_inclusion(LEAF_HASHES[index], index, size, proof, ROOTS[size])


def _corrupted_inclusions(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[str, bytes, int, int, list[bytes], bytes]]:
    probes = [
        ("index - 1", leaf, index - 1, size, proof, root),
        ("index + 1", leaf, index + 1, size, proof, root),
        ("index ^ 2", leaf, index ^ 2, size, proof, root),
        ("size * 2", leaf, index, size * 2, proof, root),
        ("size // 2", leaf, index, size // 2, proof, root),
        ("wrong leaf", leaf_hash(b"WrongLeaf"), index, size, proof, root),
        ("empty root", leaf, index, size, proof, EMPTY_ROOT),
        ("random root", leaf, index, size, proof, SOME_HASH),
        ("trailing garbage", leaf, index, size, [*proof, b""], root),
        ("trailing root", leaf, index, size, [*proof, root], root),
        ("preceding garbage", leaf, index, size, [b"", *proof], root),
        ("preceding root", leaf, index, size, [root, *proof], root),
    ]
    for i in range(len(proof)):
        flipped = bytes([proof[i][0] ^ 8]) + proof[i][1:]
        probes.append(
            (f"flipped proof[{i}]", leaf, index, size, [*proof[:i], flipped, *proof[i + 1 :]], root)
        )
    if proof:
        probes.append(("removed component", leaf, index, size, proof[:-1], root))
    if len(proof) > 1:
        probes.append(
            ("inserted component", leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root)
        )
    return probes


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_corrupted_inclusion_proofs_are_rejected(index: int, size: int, proof: list[bytes]) -> None:
    probes = _corrupted_inclusions(index, size, proof, ROOTS[size], LEAF_HASHES[index])
    accepted = [
        desc
        for desc, leaf, probe_index, probe_size, probe_proof, root in probes
        if verify_inclusion(leaf, probe_index, probe_size, probe_proof, root)
    ]
    assert accepted == []


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (2, 1), (-1, 1)])
def test_inclusion_outside_the_tree_never_verifies(index: int, size: int) -> None:
    assert not verify_inclusion(SOME_HASH, index, size, [], SOME_HASH)
    assert not verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)


def test_single_leaf_tree_has_an_empty_proof_and_checks_hash_sizes() -> None:
    leaf = leaf_hash(b"data")
    assert verify_inclusion(leaf, 0, 1, [], leaf)
    assert not verify_inclusion(leaf, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], leaf)
    assert not verify_inclusion(b"", 0, 1, [], b"")


def test_inclusion_proof_index_must_be_inside_the_tree() -> None:
    with pytest.raises(ValueError):
        inclusion_proof(LEAF_HASHES, 8)
    with pytest.raises(ValueError):
        inclusion_proof([], 0)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_VECTORS)
def test_consistency_proof_matches_the_reference_vectors(
    old: int, new: int, proof: list[bytes]
) -> None:
    assert consistency_proof(LEAF_HASHES, old, new) == proof
    assert verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


@pytest.mark.parametrize(("old", "new", "proof"), [v for v in CONSISTENCY_VECTORS if v[2]])
def test_corrupted_consistency_proofs_are_rejected(old: int, new: int, proof: list[bytes]) -> None:
    r1, r2 = ROOTS[old], ROOTS[new]
    probes: list[tuple[str, int, int, bytes, bytes, list[bytes]]] = [
        ("old - 1", old - 1, new, r1, r2, proof),
        ("old + 1", old + 1, new, r1, r2, proof),
        ("old ^ 2", old ^ 2, new, r1, r2, proof),
        ("new * 2", old, new * 2, r1, r2, proof),
        ("new // 2", old, new // 2, r1, r2, proof),
        ("wrong old root", old, new, SOME_HASH, r2, proof),
        ("wrong new root", old, new, r1, SOME_HASH, proof),
        ("swapped roots", old, new, r2, r1, proof),
        ("empty proof", old, new, r1, r2, []),
        ("trailing garbage", old, new, r1, r2, [*proof, b""]),
        ("trailing old root", old, new, r1, r2, [*proof, r1]),
        ("trailing new root", old, new, r1, r2, [*proof, r2]),
        ("preceding garbage", old, new, r1, r2, [b"", *proof]),
        ("preceding old root", old, new, r1, r2, [r1, *proof]),
        ("preceding new root", old, new, r1, r2, [r2, *proof]),
        ("preceding proof[0]", old, new, r1, r2, [proof[0], *proof]),
        ("truncated", old, new, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        flipped = bytes([proof[i][0] ^ 16]) + proof[i][1:]
        probes.append(
            (f"flipped proof[{i}]", old, new, r1, r2, [*proof[:i], flipped, *proof[i + 1 :]])
        )
    accepted = [
        desc
        for desc, size1, size2, root1, root2, probe_proof in probes
        if verify_consistency(size1, size2, root1, root2, probe_proof)
    ]
    assert accepted == []


def test_trivial_consistency_cases() -> None:
    # From the empty tree everything is consistent, with an empty proof.
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    assert not verify_consistency(0, 5, SOME_HASH, ROOTS[5], [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [EMPTY_ROOT])
    # Same size: the roots must be equal and the proof empty.
    assert verify_consistency(3, 3, ROOTS[3], ROOTS[3], [])
    assert not verify_consistency(3, 3, ROOTS[3], ROOTS[4], [])
    assert not verify_consistency(3, 3, ROOTS[3], ROOTS[3], [EMPTY_ROOT])
    # No time travel; a growing tree needs a proof.
    assert not verify_consistency(2, 1, ROOTS[2], ROOTS[1], [])
    assert not verify_consistency(1, 2, ROOTS[1], ROOTS[2], [])
    assert consistency_proof(LEAF_HASHES, 0, 8) == []
    assert consistency_proof(LEAF_HASHES, 8, 8) == []
    with pytest.raises(ValueError):
        consistency_proof(LEAF_HASHES, 5, 4)
    with pytest.raises(ValueError):
        consistency_proof(LEAF_HASHES, 1, 9)


@pytest.mark.parametrize("size", range(9))
def test_compact_range_matches_the_reference_frontier(size: int) -> None:
    compact = CompactRange()
    compact.extend(LEAF_HASHES[:size])
    assert compact.size == size
    assert list(compact.hashes) == COMPACT_RANGES[size]
    assert compact.root() == ROOTS[size]


def test_compact_range_append_returns_the_leaf_index_and_restores_from_its_state() -> None:
    compact = CompactRange()
    assert [compact.append(x) for x in LEAF_HASHES[:5]] == [0, 1, 2, 3, 4]
    restored = CompactRange(compact.size, compact.hashes)
    restored.append(LEAF_HASHES[5])
    assert restored.root() == ROOTS[6]
    assert compact.root() == ROOTS[5]  # the original is untouched
    with pytest.raises(ValueError):
        CompactRange(3, [NODE[1][0]])  # size 3 needs two subtree roots


# --- properties ---

leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=70).map(
    lambda entries: [leaf_hash(e) for e in entries]
)


@given(leaf_lists, st.data())
def test_every_inclusion_proof_verifies_and_binds_leaf_index_and_root(
    leaves: list[bytes], data: st.DataObject
) -> None:
    size = len(leaves)
    index = data.draw(st.integers(0, size - 1))
    root = root_hash(leaves)
    proof = inclusion_proof(leaves, index)
    assert verify_inclusion(leaves[index], index, size, proof, root)
    assert not verify_inclusion(leaf_hash(b"not in the log"), index, size, proof, root)
    assert not verify_inclusion(leaves[index], index, size, proof, SOME_HASH)
    other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index)) if size > 1 else None
    if other is not None and leaves[other] != leaves[index]:
        assert not verify_inclusion(leaves[index], other, size, proof, root)
        assert not verify_inclusion(leaves[other], index, size, proof, root)


@given(leaf_lists, st.data())
def test_batch_inclusion_proofs_equal_single_ones(leaves: list[bytes], data: st.DataObject) -> None:
    indices = data.draw(st.lists(st.integers(0, len(leaves) - 1), max_size=10))
    assert inclusion_proofs(leaves, indices) == [inclusion_proof(leaves, i) for i in indices]


@given(leaf_lists, st.data())
def test_every_consistency_proof_verifies_and_fails_when_an_old_leaf_changes(
    leaves: list[bytes], data: st.DataObject
) -> None:
    new = data.draw(st.integers(1, len(leaves)))
    old = data.draw(st.integers(1, new))
    proof = consistency_proof(leaves, old, new)
    old_root, new_root = root_hash(leaves[:old]), root_hash(leaves[:new])
    assert verify_consistency(old, new, old_root, new_root, proof)
    # A rewritten history: one old leaf differs, so its old root cannot be a prefix.
    changed = data.draw(st.integers(0, old - 1))
    rewritten = [*leaves[:old]]
    rewritten[changed] = leaf_hash(b"rewritten" + rewritten[changed])
    assert not verify_consistency(old, new, root_hash(rewritten), new_root, proof)
    if old < new:
        assert not verify_consistency(
            old, new, old_root, root_hash(rewritten + leaves[old:new]), proof
        )


@given(st.lists(st.binary(max_size=4), max_size=70))
def test_compact_range_root_equals_the_full_root_at_every_size(entries: list[bytes]) -> None:
    leaves = [leaf_hash(e) for e in entries]
    compact = CompactRange()
    assert compact.root() == root_hash([])
    for size, leaf in enumerate(leaves, start=1):
        compact.append(leaf)
        assert compact.root() == root_hash(leaves[:size])
        assert len(compact.hashes) == size.bit_count()  # O(log n) state


# --- canonical JSON (RFC 8785 restricted to integers) ---


def test_canonical_json_sorts_keys_and_drops_whitespace() -> None:
    value: JSONValue = {"b": [1, True, None], "a": {"z": "x", "y": -5}, "c": False}
    assert canonical_json(value) == b'{"a":{"y":-5,"z":"x"},"b":[1,true,null],"c":false}'


def test_canonical_json_sorts_keys_by_utf16_code_units_like_rfc8785() -> None:
    # The RFC 8785 §3.2.3 sorting example: the emoji (a surrogate pair) sorts before U+FB33.
    value: JSONValue = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = list(json.loads(canonical_json(value)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_canonical_json_escapes_like_ecmascript_and_keeps_non_ascii_as_utf8() -> None:
    value: JSONValue = '"\\\b\f\n\r\t\u0000\u001f\u007f é 杏田村 \u2028'
    expected = '"\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\u007f é 杏田村 \u2028"'.encode()
    assert canonical_json(value) == expected


def test_canonical_json_refuses_floats_and_foreign_types() -> None:
    with pytest.raises(TypeError):
        canonical_json(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        canonical_json({"price": [1, 2.5]})  # type: ignore[list-item]
    with pytest.raises(TypeError):
        canonical_json({1: "non-string key"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        canonical_json(b"bytes")  # bytes type-checks as Sequence[int]


def test_canonical_json_refuses_values_other_verifiers_would_read_differently() -> None:
    assert canonical_json(2**53 - 1) == b"9007199254740991"
    with pytest.raises(ValueError):
        canonical_json(2**53)
    with pytest.raises(ValueError):
        canonical_json("\ud800")  # a lone surrogate is not Unicode


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_round_trips_and_is_idempotent(value: JSONValue) -> None:
    encoded = canonical_json(value)
    assert json.loads(encoded) == value
    assert canonical_json(json.loads(encoded)) == encoded
    assert b"\n" not in encoded


any_text = st.text(st.characters(codec=None, exclude_categories=()))  # lone surrogates too
ascii_keys = st.text(st.characters(max_codepoint=127))
# Keys where code-point order and RFC 8785's UTF-16 order part: BMP above U+E000 vs astral.
tricky_keys = st.text(st.sampled_from("a\r\u00f6\ue000\ufb33\uffff\U0001f600"), max_size=2)
edge_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) - 2, 2**53 + 2)  # a few beyond the safe range
    | any_text,
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(ascii_keys | tricky_keys | any_text, children, max_size=4)
    ),
    max_leaves=20,
)


def _outcome(encode: Any, value: JSONValue) -> bytes | type[Exception]:
    try:
        return encode(value)
    except (TypeError, ValueError) as exc:
        return type(exc)


@given(edge_values)
def test_canonical_json_equals_the_hand_written_reference(value: JSONValue) -> None:
    # The C encoder serves the common case; every byte must be the reference's, and every
    # refusal the reference's refusal.
    assert _outcome(canonical_json, value) == _outcome(canonical_json_reference, value)


@given(st.dictionaries(tricky_keys, st.integers(0, 9), min_size=2, max_size=6))
def test_canonical_json_orders_keys_as_the_reference_does(value: dict[str, int]) -> None:
    assert canonical_json(value) == canonical_json_reference(value)


# --- signed notes and checkpoints (c2sp.org/signed-note, c2sp.org/tlog-checkpoint) ---

# The reference key and note from golang.org/x/mod/sumdb/note (note_test.go).
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_PRIVATE_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

LOG = "ruralx.example/log"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
LOG_VKEY = verifier_key_text(LOG, LOG_KEY.public_key())


def test_key_id_verifier_key_and_signature_match_the_go_reference_byte_for_byte() -> None:
    private_key = Ed25519PrivateKey.from_private_bytes(GO_PRIVATE_SEED)
    assert key_id("PeterNeumann", private_key.public_key()) == h("c74f20a3")
    assert verifier_key_text("PeterNeumann", private_key.public_key()) == GO_VERIFIER_KEY
    # Ed25519 is deterministic, so our note must equal the published one exactly.
    assert sign_note(GO_TEXT, make_signer("PeterNeumann", private_key)) == GO_NOTE
    assert open_note(GO_NOTE, GO_VERIFIER_KEY) == GO_TEXT


def test_checkpoint_text_follows_tlog_checkpoint() -> None:
    text = checkpoint_text(Checkpoint(LOG, 8, ROOTS[8], ("time 1700000000",)))
    assert text == (
        "ruralx.example/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntime 1700000000\n"
    )


def test_signed_checkpoint_verifies_and_parses() -> None:
    note = sign_checkpoint(LOG, 8, ROOTS[8], LOG, LOG_KEY)
    body, signatures = note.split("\n\n")
    assert body == f"{LOG}\n8\n{base64.b64encode(ROOTS[8]).decode()}"
    assert signatures.startswith(f"— {LOG} ")
    assert verify_note(note, LOG_VKEY) == Checkpoint(LOG, 8, ROOTS[8], ())


def test_the_empty_log_has_a_checkpoint_too() -> None:
    note = sign_checkpoint(LOG, 0, EMPTY_ROOT, LOG, LOG_KEY)
    assert verify_note(note, LOG_VKEY) == Checkpoint(LOG, 0, EMPTY_ROOT)


origins = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30)
extension_lines = st.lists(
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20), max_size=3
)


@given(origins, st.integers(0, 2**63), st.binary(min_size=32, max_size=32), extension_lines)
def test_signed_checkpoint_round_trips(
    origin: str, size: int, root: bytes, extensions: list[str]
) -> None:
    note = sign_checkpoint(origin, size, root, LOG, LOG_KEY, extensions)
    assert verify_note(note, LOG_VKEY) == Checkpoint(origin, size, root, tuple(extensions))


def test_every_changed_character_of_the_body_is_detected() -> None:
    note = sign_checkpoint(LOG, 8, ROOTS[8], LOG, LOG_KEY, ["time 1700000000"])
    body_length = note.index("\n\n")
    for position in range(body_length):
        replacement = "0" if note[position] != "0" else "1"
        tampered = note[:position] + replacement + note[position + 1 :]
        with pytest.raises(NoteVerificationError):
            verify_note(tampered, LOG_VKEY)


@given(st.data())
def test_any_changed_byte_of_the_signature_line_is_detected(data: st.DataObject) -> None:
    note = sign_checkpoint(LOG, 8, ROOTS[8], LOG, LOG_KEY)
    start = note.index("\n\n") + 2
    position = data.draw(st.integers(start, len(note) - 2))
    replacement = data.draw(st.sampled_from("A/+=x 0\n"))
    assume(note[position] != replacement)
    tampered = note[:position] + replacement + note[position + 1 :]
    with pytest.raises(NoteVerificationError):
        verify_note(tampered, LOG_VKEY)


def test_a_wrong_key_is_refused() -> None:
    note = sign_checkpoint(LOG, 8, ROOTS[8], LOG, LOG_KEY)
    other = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    with pytest.raises(NoteVerificationError):
        verify_note(note, verifier_key_text(LOG, other.public_key()))  # same name, other key
    with pytest.raises(NoteVerificationError):
        verify_note(note, verifier_key_text("other.example/log", LOG_KEY.public_key()))


def test_a_forged_signature_under_the_trusted_key_id_is_refused() -> None:
    note = sign_checkpoint(LOG, 8, ROOTS[8], LOG, LOG_KEY)
    forger = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    signed_body = note[: note.index("\n\n") + 1]
    forged_signature = forger.sign(signed_body.encode())
    trusted_id = key_id(LOG, LOG_KEY.public_key())
    blob = base64.b64encode(trusted_id + forged_signature).decode()
    with pytest.raises(NoteVerificationError):
        verify_note(f"{signed_body}\n— {LOG} {blob}\n", LOG_VKEY)


@pytest.mark.parametrize("cut", [1, 4, 8, 40])
def test_a_truncated_signature_is_refused(cut: int) -> None:
    note = sign_checkpoint(LOG, 8, ROOTS[8], LOG, LOG_KEY)
    with pytest.raises(NoteVerificationError):
        verify_note(note[: -1 - cut] + "\n", LOG_VKEY)


def test_signatures_by_unknown_keys_are_ignored_but_one_trusted_signature_is_required() -> None:
    note = sign_checkpoint(LOG, 8, ROOTS[8], LOG, LOG_KEY)
    witness = make_signer("witness.example", Ed25519PrivateKey.from_private_bytes(bytes(32)))
    witnessed = sign_note(note[: note.index("\n\n") + 1], witness)
    cosigned = note + witnessed[witnessed.index("\n\n") + 2 :]
    assert verify_note(cosigned, LOG_VKEY).size == 8
    with pytest.raises(NoteVerificationError):
        verify_note(witnessed, LOG_VKEY)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda n: n.replace("\n\n", "\n"),  # no blank line before the signatures
        lambda n: n[:-1],  # no final newline
        lambda n: n.replace("— ", "-- "),  # not an em dash
        lambda n: n.replace("\n8\n", "\n8\r\n"),  # control character
        lambda n: n + "\n",  # an empty signature line
    ],
)
def test_malformed_notes_are_refused(mangle: Callable[[str], str]) -> None:
    note = sign_checkpoint(LOG, 8, ROOTS[8], LOG, LOG_KEY)
    with pytest.raises(NoteVerificationError):
        verify_note(mangle(note), LOG_VKEY)


def test_a_signed_note_that_is_not_a_checkpoint_is_refused() -> None:
    note = sign_note("hello\n", make_signer(LOG, LOG_KEY))
    assert open_note(note, LOG_VKEY) == "hello\n"
    with pytest.raises(NoteVerificationError):
        verify_note(note, LOG_VKEY)


@pytest.mark.parametrize(
    "bad_key",
    [
        GO_VERIFIER_KEY.replace("c74f20a3", "c74f20a4"),  # key ID does not match
        GO_VERIFIER_KEY.replace("+ARpc", "+AhpC"),  # other algorithm byte
        GO_VERIFIER_KEY[:-4],  # truncated key
        "PeterNeumann+c74f20a3",  # no key
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # space in name
    ],
)
def test_malformed_verifier_keys_are_refused(bad_key: str) -> None:
    with pytest.raises(NoteVerificationError):
        open_note(GO_NOTE, bad_key)


ROOT8_B64 = base64.b64encode(ROOTS[8]).decode()


@pytest.mark.parametrize(
    "text",
    [
        "log\n8\n",  # no root line
        f"\n8\n{ROOT8_B64}\n",  # empty origin
        f"log\n08\n{ROOT8_B64}\n",  # leading zero
        f"log\n+8\n{ROOT8_B64}\n",  # sign
        f"log\n\u0668\n{ROOT8_B64}\n",  # ARABIC-INDIC DIGIT EIGHT is not ASCII decimal
        f"log\n8\n{base64.b64encode(ROOTS[8][:31]).decode()}\n",  # 31 bytes
        f"log\n8\n{ROOT8_B64.rstrip('=')}\n",  # unpadded base64
        f"log\n8\n{ROOT8_B64}\n\n",  # empty extension line
        f"log\n8\n{ROOT8_B64}",  # no final newline
        f"log\n8\n{ROOT8_B64}\ntime\t1\n",  # control character
    ],
)
def test_parse_checkpoint_is_strict(text: str) -> None:
    with pytest.raises(ValueError):
        parse_checkpoint(text)


def test_sign_checkpoint_refuses_what_it_could_not_parse_back() -> None:
    with pytest.raises(ValueError):
        sign_checkpoint("", 8, ROOTS[8], LOG, LOG_KEY)
    with pytest.raises(ValueError):
        sign_checkpoint("two\nlines", 8, ROOTS[8], LOG, LOG_KEY)
    with pytest.raises(ValueError):
        sign_checkpoint(LOG, -1, ROOTS[8], LOG, LOG_KEY)
    with pytest.raises(ValueError):
        sign_checkpoint(LOG, 8, ROOTS[8][:31], LOG, LOG_KEY)
    with pytest.raises(ValueError):
        sign_checkpoint(LOG, 8, ROOTS[8], LOG, LOG_KEY, [""])
    with pytest.raises(ValueError):
        sign_checkpoint(LOG, 8, ROOTS[8], "bad+name", LOG_KEY)
