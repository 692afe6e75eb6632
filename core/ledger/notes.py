"""Signed notes (c2sp.org/signed-note) and checkpoints (c2sp.org/tlog-checkpoint), Ed25519:
how the log's tree head is signed, and how a verifier opens a note with one trusted key."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from core.ledger.merkle import HASH_SIZE, is_hash

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
    if not is_hash(checkpoint.root_hash):
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
