"""Files of the entrustment form kept between its submissions.

A form that comes back with errors keeps the files it accepted: each is stored (the document
store is content-addressed, so keeping it twice costs nothing) and the form carries a signed
note of it — whose, which input, which content — instead of the file. The note is worth
nothing to anyone else: it names the user it was made for, and only the server can sign one.
Nothing is written to the database until the whole form is right (no partial write).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

import msgspec

from listings.documents import CheckedFile, DocumentStore

_LABEL = b"ruralx draft file\x00"


class _Note(msgspec.Struct, array_like=True, frozen=True):
    user_id: int
    field: str
    sha256: str
    content_type: str
    filename: str
    size: int


@dataclass(frozen=True, slots=True)
class KeptFile:
    """An accepted file of the form, stored and not yet attached to any listing."""

    field: str
    filename: str
    content_type: str
    sha256: str
    size: int
    #: What the form sends back in the hidden input `kept_<field>`.
    token: str

    def checked(self, store: DocumentStore) -> CheckedFile:
        """The file again, as the upload check passed it."""
        return CheckedFile(self.filename, self.content_type, store.get(self.sha256))


def _mac(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), _LABEL + payload.encode(), hashlib.sha256).hexdigest()


def keep(
    secret: str, store: DocumentStore, user_id: int, field: str, file: CheckedFile
) -> KeptFile:
    """Store an accepted file and sign the note that brings it back with the next submit."""
    digest = store.put(file.content)
    note = _Note(user_id, field, digest, file.content_type, file.filename, len(file.content))
    payload = base64.urlsafe_b64encode(msgspec.json.encode(note)).decode().rstrip("=")
    return KeptFile(
        field,
        file.filename,
        file.content_type,
        digest,
        note.size,
        f"{payload}.{_mac(secret, payload)}",
    )


def kept(
    secret: str, store: DocumentStore, user_id: int, field: str, token: object
) -> KeptFile | None:
    """The file a form's note names, if the note is genuine, this user's, for this input, and
    the file is still stored; None otherwise (the input then simply has no file)."""
    if not isinstance(token, str) or token.count(".") != 1:
        return None
    payload, mac = token.split(".")
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        note = msgspec.json.decode(raw, type=_Note)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        return None
    if note.user_id != user_id or note.field != field:
        return None
    if not store.path_for(note.sha256).is_file():
        return None
    return KeptFile(field, note.filename, note.content_type, note.sha256, note.size, token)
