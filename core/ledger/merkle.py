"""RFC 9162 Merkle tree maths: leaf and node hashes, inclusion and consistency proofs, the
compact range the log writer extends. Pure (no IO, no keys)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Final, NamedTuple, TypeAlias

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

# ---------------------------------------------------------------------------------------------
# Merkle tree hashing (RFC 6962 §2.1 / RFC 9162 §2.1.1)
# ---------------------------------------------------------------------------------------------


def leaf_hash(entry: bytes) -> bytes:
    """SHA-256(0x00 || entry): the hash of one log entry."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """MTH over the given leaf *hashes*; the empty tree's root is SHA-256("")."""
    _check_hashes(leaves)
    if not leaves:
        return EMPTY_ROOT
    return _subtree_root(leaves, 0, len(leaves))


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


_Cache: TypeAlias = dict[tuple[int, int], bytes]  # (start, end) -> subtree root


def _subtree_root(
    hashes: Sequence[bytes], start: int, end: int, cache: _Cache | None = None
) -> bytes:
    # Index ranges instead of slices: no copying, recursion depth stays log2(n).
    n = end - start
    if n == 1:
        return hashes[start]
    if cache is not None and (start, end) in cache:
        return cache[start, end]
    k = split_point(n)
    result = node_hash(
        _subtree_root(hashes, start, start + k, cache),
        _subtree_root(hashes, start + k, end, cache),
    )
    if cache is not None:
        cache[start, end] = result
    return result


def _check_hashes(hashes: Iterable[bytes]) -> None:
    for value in hashes:
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise ValueError("leaf hashes must be 32-byte SHA-256 digests")


# ---------------------------------------------------------------------------------------------
# Inclusion proofs (RFC 9162 §2.1.3)
# ---------------------------------------------------------------------------------------------


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Audit path for leaf `index` in the tree of all `leaf_hashes` (RFC 9162 §2.1.3.1)."""
    _check_hashes(leaf_hashes)
    return _inclusion_path(leaf_hashes, index, None)


def inclusion_proofs(leaf_hashes: Sequence[bytes], indices: Iterable[int]) -> list[list[bytes]]:
    """Audit paths for many leaves of one tree, sharing subtree hashes: O(n) total, not O(n·k)."""
    _check_hashes(leaf_hashes)
    cache: _Cache = {}
    return [_inclusion_path(leaf_hashes, index, cache) for index in indices]


def _inclusion_path(leaf_hashes: Sequence[bytes], index: int, cache: _Cache | None) -> list[bytes]:
    if not 0 <= index < len(leaf_hashes):
        raise ValueError(f"index {index} is outside a tree of size {len(leaf_hashes)}")
    proof: list[bytes] = []
    start, end, m = 0, len(leaf_hashes), index
    # Walk top-down, collecting siblings; the RFC lists them bottom-up, hence the reverse.
    while end - start > 1:
        k = split_point(end - start)
        if m < k:
            proof.append(_subtree_root(leaf_hashes, start + k, end, cache))
            end = start + k
        else:
            proof.append(_subtree_root(leaf_hashes, start, start + k, cache))
            start, m = start + k, m - k
    proof.reverse()
    return proof


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True iff `proof` shows `leaf_hash` at `index` in the tree of `tree_size` with `root`."""
    if not is_hash(leaf_hash) or not is_hash(root) or not all(is_hash(p) for p in proof):
        return False
    if not 0 <= index < tree_size:
        return False
    walked = _walk(index, tree_size - 1, leaf_hash, proof)
    return walked is not None and walked.last == 0 and walked.root == root


class _Walked(NamedTuple):
    left: bytes  # folded from the left-hand siblings only: the old tree's root (consistency)
    root: bytes  # folded from every sibling: the tree's root
    last: int  # what remains of the last node's index: 0 when the proof had the right length


def _walk(fn: int, sn: int, start: bytes, proof: Sequence[bytes]) -> _Walked | None:
    """RFC 9162's verification walk (§2.1.3.2, §2.1.4.2) from node `fn` of a tree whose last
    node is `sn`, folding `proof` into `start`; None if the proof is longer than the path."""
    fr = sr = start
    for c in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return _Walked(fr, sr, sn)


# ---------------------------------------------------------------------------------------------
# Consistency proofs (RFC 9162 §2.1.4)
# ---------------------------------------------------------------------------------------------


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Proof that the first `old_size` leaves are a prefix of the first `new_size` leaves.

    Empty when old_size is 0 or equals new_size (nothing to prove, RFC 9162 §2.1.4).
    """
    _check_hashes(leaf_hashes)
    if not 0 <= old_size <= new_size <= len(leaf_hashes):
        raise ValueError(
            f"need 0 <= old_size ({old_size}) <= new_size ({new_size}) <= {len(leaf_hashes)}"
        )
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, end, m = 0, new_size, old_size
    complete = True  # whether the old tree's subtree so far is the one the verifier knows
    # Iterative SUBPROOF(m, D[start:end], complete); siblings are appended bottom-up later.
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            proof.append(_subtree_root(leaf_hashes, start + k, end))
            end = start + k
        else:
            proof.append(_subtree_root(leaf_hashes, start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        proof.append(_subtree_root(leaf_hashes, start, end))
    proof.reverse()
    return proof


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True iff `proof` shows the tree (old_size, old_root) is a prefix of (new_size, new_root)."""
    if not is_hash(old_root) or not is_hash(new_root) or not all(is_hash(p) for p in proof):
        return False
    if not 0 <= old_size <= new_size:
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a complete subtree: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    walked = _walk(fn, sn, path[0], path[1:])
    return (
        walked is not None
        and walked.left == old_root
        and walked.root == new_root
        and walked.last == 0
    )


def is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


# ---------------------------------------------------------------------------------------------
# Compact range: the O(log n) frontier the server keeps to extend the tree
# ---------------------------------------------------------------------------------------------


class CompactRange:
    """Roots of the perfect subtrees covering leaves [0, size), largest (leftmost) first.

    Mutable on purpose: the log writer appends to one instance; persist `size` and
    `hashes` and rebuild with `CompactRange(size, hashes)`.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != size.bit_count():
            raise ValueError("a compact range of size n holds exactly popcount(n) hashes")
        _check_hashes(hashes)
        self._size = size
        self._hashes = list(hashes)

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The frontier: one subtree root per set bit of `size`, most significant first."""
        return tuple(self._hashes)

    def append(self, leaf_hash: bytes) -> int:
        """Add one leaf hash; returns its 0-based index in the log."""
        _check_hashes((leaf_hash,))
        index = self._size
        merged = leaf_hash
        # Each trailing 1-bit of the old size is a same-sized subtree to merge with.
        n = index
        while n & 1:
            merged = node_hash(self._hashes.pop(), merged)
            n >>= 1
        self._hashes.append(merged)
        self._size += 1
        return index

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append several leaf hashes in order."""
        for value in leaf_hashes:
            self.append(value)

    def root(self) -> bytes:
        """The tree head: fold the frontier right to left, as MTH splits off left subtrees."""
        if not self._hashes:
            return EMPTY_ROOT
        result = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            result = node_hash(left, result)
        return result

    def copy(self) -> CompactRange:
        """An independent copy (e.g. to compute a tentative root)."""
        return CompactRange(self._size, self._hashes)

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"
