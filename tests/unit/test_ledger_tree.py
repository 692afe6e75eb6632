"""The stored tree (perfect subtrees) gives the same roots and proofs as RFC 9162's recursion."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.ledger.merkle import (
    CompactRange,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from core.ledger.tree import (
    append_leaf,
    consistency_ranges,
    frontier_root,
    inclusion_ranges,
    nodes_for,
    perfect_nodes,
    proof_from,
    root_from_nodes,
)


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(n)]


def stored_tree(hashes: list[bytes]) -> tuple[dict[tuple[int, int], bytes], list[bytes]]:
    nodes: dict[tuple[int, int], bytes] = {}
    frontier: list[bytes] = []
    for size, value in enumerate(hashes):
        for level, idx, node in append_leaf(size, frontier, value):
            assert (level, idx) not in nodes  # every node is completed exactly once
            nodes[level, idx] = node
    return nodes, frontier


def test_perfect_nodes_decompose_aligned_ranges_and_refuse_others() -> None:
    assert perfect_nodes(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert perfect_nodes(8, 13) == [(2, 2), (0, 12)]
    with pytest.raises(ValueError):
        perfect_nodes(1, 5)
    with pytest.raises(ValueError):
        perfect_nodes(3, 3)


@pytest.mark.parametrize("size", [*range(1, 40), 64, 65, 127, 128, 129, 1000])
def test_stored_nodes_give_every_root_inclusion_and_consistency_proof(size: int) -> None:
    hashes = leaves(size)
    nodes, frontier = stored_tree(hashes)
    reference = CompactRange()
    reference.extend(hashes)
    assert frontier == list(reference.hashes) and frontier_root(frontier) == reference.root()
    for n in sorted({min(k, size) for k in (1, 2, 3, size // 2 or 1, size - 1 or 1, size)}):
        root = root_hash(hashes[:n])
        assert root_from_nodes(n, nodes) == root
        for index in sorted({0, n // 3, n // 2, n - 1}):
            ranges = inclusion_ranges(index, n)
            assert nodes_for(ranges) <= nodes.keys()
            proof = proof_from(ranges, nodes)
            assert proof == inclusion_proof(hashes[:n], index)
            assert verify_inclusion(hashes[index], index, n, proof, root)
        for old in sorted({0, 1, n // 2, n - 1, n}):
            proof = proof_from(consistency_ranges(old, n), nodes)
            assert proof == consistency_proof(hashes, old, n)
            old_root = root_hash(hashes[:old])
            assert verify_consistency(old, n, old_root, root, proof)


@given(st.integers(1, 300), st.data())
def test_any_proof_from_stored_nodes_equals_the_recursive_one(
    size: int, data: st.DataObject
) -> None:
    hashes = leaves(size)
    nodes, _ = stored_tree(hashes)
    n = data.draw(st.integers(1, size))
    index = data.draw(st.integers(0, n - 1))
    assert proof_from(inclusion_ranges(index, n), nodes) == inclusion_proof(hashes[:n], index)
    old = data.draw(st.integers(0, n))
    assert proof_from(consistency_ranges(old, n), nodes) == consistency_proof(hashes, old, n)


def test_the_empty_tree_and_bad_arguments() -> None:
    assert root_from_nodes(0, {}) == hashlib.sha256(b"").digest()
    assert consistency_ranges(0, 5) == [] and consistency_ranges(5, 5) == []
    with pytest.raises(ValueError):
        inclusion_ranges(5, 5)
    with pytest.raises(ValueError):
        consistency_ranges(6, 5)
    with pytest.raises(ValueError):
        append_leaf(3, [], leaves(1)[0])
