"""The exchange's Ed25519 checkpoint key: created on first use under DATA_DIR/ledger/.

The private key is stored as encrypted PKCS#8 PEM; the passphrase is derived from
RURALX_SECRET_KEY (HMAC-SHA256 with a fixed label), so a copy of the data directory alone
does not let anyone sign checkpoints. Several workers starting together create it once:
each writes a temporary file and hard-links it into place, which fails for all but one.
The verifier key is also written next to it (`checkpoint.vkey`) for distribution.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
    load_pem_private_key,
)

from core.ledger.notes import verifier_key_text

#: Origin line of every checkpoint and name of the signing key (c2sp.org/tlog-checkpoint).
ORIGIN: Final = "ruralx.exchange/log"
KEY_FILE: Final = "checkpoint-key.pem"
VERIFIER_FILE: Final = "checkpoint.vkey"
_LABEL: Final = b"ruralx ledger checkpoint key v1"


class CheckpointKeyError(RuntimeError):
    """The key file exists but cannot be opened (most likely RURALX_SECRET_KEY changed)."""


@dataclass(frozen=True, slots=True)
class CheckpointSigner:
    name: str
    private_key: Ed25519PrivateKey
    verifier_key: str


_cache: dict[tuple[str, str], CheckpointSigner] = {}
_lock = threading.Lock()


def key_dir(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / "ledger"


def _passphrase(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode("utf-8"), _LABEL, hashlib.sha256).hexdigest().encode()


def load_signer(data_dir: str | os.PathLike[str], secret_key: str) -> CheckpointSigner:
    """The checkpoint signer, creating the key the first time (cached per process)."""
    directory = key_dir(data_dir).resolve()
    cache_key = (str(directory), hashlib.sha256(secret_key.encode()).hexdigest())
    with _lock:
        signer = _cache.get(cache_key)
        if signer is None:
            signer = _cache[cache_key] = _load_or_create(directory, secret_key)
        return signer


def _load_or_create(directory: Path, secret_key: str) -> CheckpointSigner:
    path = directory / KEY_FILE
    passphrase = _passphrase(secret_key)
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(passphrase)
        )
        tmp = directory / f".{KEY_FILE}.{os.getpid()}.{threading.get_ident()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)  # atomic and never replaces: one creator wins
        except FileExistsError:
            pass
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    try:
        private_key = load_pem_private_key(path.read_bytes(), passphrase)
    except (ValueError, TypeError) as exc:
        raise CheckpointKeyError(
            f"cannot open the checkpoint key {path}: was RURALX_SECRET_KEY changed? "
            "Checkpoints stay unsigned until the original secret is configured again."
        ) from exc
    if not isinstance(private_key, Ed25519PrivateKey):
        raise CheckpointKeyError(f"{path} is not an Ed25519 key")
    verifier = verifier_key_text(ORIGIN, private_key.public_key())
    vkey = directory / VERIFIER_FILE
    if not vkey.exists() or vkey.read_text(encoding="utf-8").strip() != verifier:
        tmp_vkey = directory / f".{VERIFIER_FILE}.{os.getpid()}.{threading.get_ident()}"
        tmp_vkey.write_text(verifier + "\n", encoding="utf-8")
        os.replace(tmp_vkey, vkey)
    return CheckpointSigner(ORIGIN, private_key, verifier)
