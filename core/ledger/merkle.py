"""Transparency-log primitives: canonical JSON, RFC 9162 Merkle proofs, C2SP signed checkpoints."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeAlias

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

# ---------------------------------------------------------------------------------------------
# Canonical JSON (RFC 8785 restricted to integers)
# ---------------------------------------------------------------------------------------------

JSONValue: TypeAlias = "bool | int | str | Sequence[JSONValue] | Mapping[str, JSONValue] | None"

# Integers beyond ±(2**53 − 1) are not exactly representable as I-JSON numbers, so a
# JavaScript or RFC 8785 verifier would read a different value than the one we hashed.
MAX_SAFE_INTEGER: Final = 2**53 - 1

_SHORT_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def canonical_json(obj: JSONValue) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of a JSON value made of None/bool/int/str/list/dict.

    Floats raise TypeError (money is integer fen; RFC 8785 number formatting is avoided
    entirely); integers outside ±(2**53 − 1) and strings that are not valid Unicode raise
    ValueError. Object keys are sorted by UTF-16 code units as RFC 8785 §3.2.3 requires,
    which equals code-point order unless keys mix U+E000–U+FFFF with astral characters.
    """
    if _plain(obj):
        # The common case, checked above to be one where msgspec's sorted output is RFC 8785's:
        # exact-type values, safe integers, ASCII keys (code-point order = UTF-16 order).
        try:
            return _encode_sorted(obj)
        except UnicodeEncodeError as exc:  # a lone surrogate
            raise ValueError("string is not valid Unicode (lone surrogate)") from exc
    return canonical_json_reference(obj)


def canonical_json_reference(obj: JSONValue) -> bytes:
    """The same bytes, written out by hand from RFC 8785: the reference the fast path is
    checked against, and the path for values it does not take (e.g. non-ASCII keys)."""
    parts: list[str] = []
    _encode_json(obj, parts)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be UTF-8
        raise ValueError("string is not valid Unicode (lone surrogate)") from exc


def _encode_json(obj: object, out: list[str]) -> None:
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        if not -MAX_SAFE_INTEGER <= obj <= MAX_SAFE_INTEGER:
            raise ValueError(f"integer {obj} is outside the I-JSON safe range; use a string")
        out.append(str(int(obj)))  # int(): an IntEnum's str() would not be its value
    elif isinstance(obj, str):
        out.append(_json_string(obj))
    elif isinstance(obj, Mapping):
        items: list[tuple[str, object]] = []
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"object keys must be str, not {type(key).__name__}")
            items.append((key, value))
        items.sort(key=lambda item: _utf16_sort_key(item[0]))
        out.append("{")
        for position, (key, value) in enumerate(items):
            if position:
                out.append(",")
            out.append(_json_string(key))
            out.append(":")
            _encode_json(value, out)
        out.append("}")
    elif isinstance(obj, list | tuple):
        out.append("[")
        for position, value in enumerate(obj):
            if position:
                out.append(",")
            _encode_json(value, out)
        out.append("]")
    else:
        raise TypeError(f"{type(obj).__name__} is not canonical-JSON serialisable")


_encode_sorted = msgspec.json.Encoder(order="sorted").encode


def _plain(obj: object) -> bool:
    """Whether `obj` is made only of exact None/bool/str/safe int/list/tuple/dict, ASCII keys."""
    kind = type(obj)
    if kind is str or obj is None or kind is bool:
        return True
    if kind is int:
        return -MAX_SAFE_INTEGER <= obj <= MAX_SAFE_INTEGER  # type: ignore[operator]
    if kind is dict:
        return all(
            type(k) is str and k.isascii() and _plain(v)
            for k, v in obj.items()  # type: ignore[attr-defined]
        )
    if kind is list or kind is tuple:
        return all(_plain(v) for v in obj)  # type: ignore[attr-defined]
    return False


def _utf16_sort_key(key: str) -> bytes:
    try:
        return key.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise ValueError("object key is not valid Unicode (lone surrogate)") from exc


def _json_string(value: str) -> str:
    # ECMAScript JSON.stringify escaping (RFC 8785 §3.2.2.2): only '"', '\\' and C0 controls.
    chunks = ['"']
    for ch in value:
        escaped = _SHORT_ESCAPES.get(ch)
        if escaped is not None:
            chunks.append(escaped)
        elif ch < " ":
            chunks.append(f"\\u{ord(ch):04x}")
        else:
            chunks.append(ch)
    chunks.append('"')
    return "".join(chunks)


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


def _split_point(n: int) -> int:
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
    k = _split_point(n)
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
        k = _split_point(end - start)
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
    if not _is_hash(leaf_hash) or not _is_hash(root) or not all(_is_hash(p) for p in proof):
        return False
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


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
        k = _split_point(end - start)
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
    if not _is_hash(old_root) or not _is_hash(new_root) or not all(_is_hash(p) for p in proof):
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
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
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
    return fr == old_root and sr == new_root and sn == 0


def _is_hash(value: object) -> bool:
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


# ---------------------------------------------------------------------------------------------
# Signed notes (c2sp.org/signed-note) and checkpoints (c2sp.org/tlog-checkpoint), Ed25519
# ---------------------------------------------------------------------------------------------

ED25519_SIGNATURE_TYPE: Final = b"\x01"
SIGNATURE_PREFIX: Final = "\N{EM DASH} "
# The spec requires accepting at least 16 signatures; beyond this the note is refused.
MAX_SIGNATURES: Final = 100

_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")
_KEY_ID_HEX = re.compile(r"[0-9a-fA-F]{8}")


class NoteVerificationError(ValueError):
    """A signed note or checkpoint is malformed, unsigned by the trusted key, or forged."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The tree head a checkpoint commits to, plus opaque extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """An Ed25519 note key: its name, 4-byte key ID and private key."""

    name: str
    key_id: bytes
    private_key: Ed25519PrivateKey = field(repr=False)


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4], per signed-note."""
    _check_key_name(name)
    material = name.encode("utf-8") + b"\n" + ED25519_SIGNATURE_TYPE + _raw_public(public_key)
    return hashlib.sha256(material).digest()[:4]


def make_signer(name: str, private_key: Ed25519PrivateKey) -> NoteSigner:
    """Bind a key name to an Ed25519 private key."""
    return NoteSigner(name, key_id(name, private_key.public_key()), private_key)


def verifier_key_text(name: str, public_key: Ed25519PublicKey) -> str:
    """The verifier key "<name>+<hex key ID>+<base64(0x01 || public key)>"."""
    encoded = base64.b64encode(ED25519_SIGNATURE_TYPE + _raw_public(public_key)).decode("ascii")
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def sign_note(text: str, signer: NoteSigner) -> str:
    """Sign note `text` (which must end in a newline): text, blank line, signature line."""
    _check_note_text(text)
    signature = signer.private_key.sign(text.encode("utf-8"))
    encoded = base64.b64encode(signer.key_id + signature).decode("ascii")
    return f"{text}\n{SIGNATURE_PREFIX}{signer.name} {encoded}\n"


def checkpoint_text(checkpoint: Checkpoint) -> str:
    """The tlog-checkpoint note text: origin, size, base64 root, then extension lines."""
    if not checkpoint.origin or not _is_single_line(checkpoint.origin):
        raise ValueError("origin must be a non-empty single line without control characters")
    if isinstance(checkpoint.size, bool) or not isinstance(checkpoint.size, int):
        raise TypeError("size must be an int")
    if checkpoint.size < 0:
        raise ValueError("size must be >= 0")
    if not _is_hash(checkpoint.root_hash):
        raise ValueError("root_hash must be a 32-byte SHA-256 digest")
    for line in checkpoint.extensions:
        if not line or not _is_single_line(line):
            raise ValueError("extension lines must be non-empty single lines")
    lines = [
        checkpoint.origin,
        str(checkpoint.size),
        base64.b64encode(checkpoint.root_hash).decode("ascii"),
        *checkpoint.extensions,
    ]
    return "".join(line + "\n" for line in lines)


def sign_checkpoint(
    origin: str,
    size: int,
    root: bytes,
    signer_name: str,
    private_key: Ed25519PrivateKey,
    extensions: Sequence[str] = (),
) -> str:
    """A signed checkpoint note; by convention signer_name equals the origin.

    Extension lines (e.g. "time 1700000000") are opaque to verifiers; tlog-checkpoint allows
    them but does not recommend them, since monitors cannot audit them.
    """
    text = checkpoint_text(Checkpoint(origin, size, root, tuple(extensions)))
    return sign_note(text, make_signer(signer_name, private_key))


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint note *text* (no signatures); ValueError if it is not one.

    Only call this on text returned by `open_note`: unverified text must be ignored.
    """
    if not text.endswith("\n"):
        raise ValueError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise ValueError("checkpoint text needs origin, tree size and root hash lines")
    if not all(_is_single_line(line) for line in lines):
        raise ValueError("checkpoint text contains control characters")
    origin, size_line, root_line, *extensions = lines
    if not origin:
        raise ValueError("checkpoint origin is empty")
    if not _TREE_SIZE.fullmatch(size_line):
        raise ValueError("tree size must be decimal digits without leading zeroes")
    root = _b64decode(root_line)
    if root is None or len(root) != HASH_SIZE:
        raise ValueError("root hash must be the base64 of 32 bytes")
    if any(not line for line in extensions):
        raise ValueError("checkpoint extension lines must be non-empty")
    return Checkpoint(origin, int(size_line), root, tuple(extensions))


def open_note(note: str, verifier_key: str) -> str:
    """Verify `note` against one trusted verifier key and return its text.

    Signatures by other keys are ignored (they may be witnesses or a rotated key); a bad
    signature by the trusted key, or none at all, raises NoteVerificationError.
    """
    name, expected_id, public_key = _parse_verifier_key(verifier_key)
    if not isinstance(note, str):
        raise NoteVerificationError("a note is text")
    try:
        note.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NoteVerificationError("note is not valid UTF-8") from exc
    if any(ch < " " and ch != "\n" for ch in note):
        raise NoteVerificationError("note contains control characters")
    # The text ends at the last blank line; signature lines can never contain one.
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteVerificationError("note has no blank line before its signatures")
    text, signature_block = note[: split + 1], note[split + 2 :]
    if not signature_block.endswith("\n"):
        raise NoteVerificationError("signature block must end with a newline")
    signature_lines = signature_block[:-1].split("\n")
    if len(signature_lines) > MAX_SIGNATURES:
        raise NoteVerificationError("too many signatures")

    verified = False
    for line in signature_lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteVerificationError("malformed signature line")
        signer_name, space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        blob = _b64decode(encoded)
        if not space or not _is_key_name(signer_name) or blob is None or len(blob) < 5:
            raise NoteVerificationError("malformed signature line")
        if signer_name != name or blob[:4] != expected_id:
            continue  # not our key: MUST be ignored
        try:
            public_key.verify(blob[4:], text.encode("utf-8"))
        except InvalidSignature as exc:
            raise NoteVerificationError(f"invalid signature by {name}") from exc
        verified = True
    if not verified:
        raise NoteVerificationError(f"note is not signed by {name}")
    return text


def verify_note(text: str, verifier_key_text: str) -> Checkpoint:
    """Verify a signed checkpoint note and parse it; NoteVerificationError on any problem."""
    body = open_note(text, verifier_key_text)
    try:
        return parse_checkpoint(body)
    except ValueError as exc:
        raise NoteVerificationError(f"signed note is not a checkpoint: {exc}") from exc


def _parse_verifier_key(text: str) -> tuple[str, bytes, Ed25519PublicKey]:
    if not isinstance(text, str):
        raise NoteVerificationError("verifier key must be text")
    # The base64 part may itself contain '+', so split only twice.
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise NoteVerificationError("verifier key must be name+keyid+key")
    name, id_hex, encoded = parts
    material = _b64decode(encoded)
    if (
        not _is_key_name(name)
        or not _KEY_ID_HEX.fullmatch(id_hex)
        or material is None
        or len(material) != 33
        or material[:1] != ED25519_SIGNATURE_TYPE
    ):
        raise NoteVerificationError("malformed Ed25519 verifier key")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(material[1:])
    except ValueError as exc:
        raise NoteVerificationError("invalid Ed25519 public key") from exc
    expected_id = bytes.fromhex(id_hex)
    if key_id(name, public_key) != expected_id:
        raise NoteVerificationError("verifier key ID does not match its name and key")
    return name, expected_id, public_key


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _b64decode(text: str) -> bytes | None:
    # Strict: the standard alphabet with padding, nothing else (RFC 4648 §4).
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def _is_key_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(ch.isspace() or ch < " " for ch in name)


def _check_key_name(name: str) -> None:
    if not _is_key_name(name):
        raise ValueError("key names must be non-empty, without spaces or '+'")


def _is_single_line(line: str) -> bool:
    return not any(ch < " " for ch in line)


def _check_note_text(text: str) -> None:
    if not text.endswith("\n"):
        raise ValueError("note text must end with a newline")
    if any(ch < " " and ch != "\n" for ch in text):
        raise ValueError("note text must not contain control characters other than newline")
    text.encode("utf-8")  # raises UnicodeEncodeError (a ValueError) on lone surrogates
