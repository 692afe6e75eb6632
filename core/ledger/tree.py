"""The stored Merkle tree: which perfect subtrees a proof needs, and how appends create them.

Pure (no IO). The sequencer stores the root of every *perfect* subtree once it is complete,
as node (level, index): the root over leaves [index·2^level, (index+1)·2^level). Every range
that RFC 9162's recursive definitions ever look at (MTH(D[start:end])) is a run of such
perfect subtrees, largest first, so any inclusion or consistency proof against any earlier
tree size can be assembled from stored nodes in O(log n) look-ups, without the leaves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from core.ledger.merkle import EMPTY_ROOT, node_hash, split_point

Node = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # leaves [start, end)


def perfect_nodes(start: int, end: int) -> list[Node]:
    """The perfect subtrees making up the MTH range [start, end), left (largest) first."""
    if not 0 <= start < end:
        raise ValueError(f"empty or negative range [{start}, {end})")
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start % (1 << level):
            raise ValueError(f"[{start}, {end}) is not a Merkle tree range")
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def range_root(start: int, end: int, nodes: Mapping[Node, bytes]) -> bytes:
    """MTH(D[start:end]) from the stored perfect subtrees: fold them right to left."""
    parts = [nodes[node] for node in perfect_nodes(start, end)]
    result = parts[-1]
    for left in reversed(parts[:-1]):
        result = node_hash(left, result)
    return result


def root_from_nodes(size: int, nodes: Mapping[Node, bytes]) -> bytes:
    return EMPTY_ROOT if size == 0 else range_root(0, size, nodes)


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose roots form the audit path of leaf `index` (bottom-up, RFC 9162)."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}")
    ranges: list[Range] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = split_point(end - start)
        if m < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m = start + k, m - k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """The subtrees whose roots form the consistency proof old_size → new_size (RFC 9162)."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"need 0 <= old_size ({old_size}) <= new_size ({new_size})")
    if old_size in (0, new_size):
        return []
    ranges: list[Range] = []
    start, end, m = 0, new_size, old_size
    complete = True
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def nodes_for(ranges: Iterable[Range]) -> set[Node]:
    """Every stored node needed to compute the roots of these ranges."""
    needed: set[Node] = set()
    for start, end in ranges:
        needed.update(perfect_nodes(start, end))
    return needed


def proof_from(ranges: Sequence[Range], nodes: Mapping[Node, bytes]) -> list[bytes]:
    return [range_root(start, end, nodes) for start, end in ranges]


def append_leaf(size: int, frontier: list[bytes], leaf: bytes) -> list[tuple[int, int, bytes]]:
    """Append one leaf hash to a compact range in place; return the nodes it completes.

    `frontier` holds one subtree root per set bit of `size`, largest first (as
    `merkle.CompactRange`). Leaf `size` completes node (0, size) and, for every trailing
    1-bit of `size`, the node one level up that merges with its left sibling.
    """
    if len(frontier) != size.bit_count():
        raise ValueError("frontier does not match the tree size")
    completed = [(0, size, leaf)]
    merged, n, level = leaf, size, 0
    while n & 1:
        merged = node_hash(frontier.pop(), merged)
        n >>= 1
        level += 1
        completed.append((level, size >> level, merged))
    frontier.append(merged)
    return completed


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    if not frontier:
        return EMPTY_ROOT
    result = frontier[-1]
    for left in reversed(frontier[:-1]):
        result = node_hash(left, result)
    return result
