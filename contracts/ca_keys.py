"""The platform CA's private keys on disk, sealed with a passphrase from the server secret.

PKCS#8 with `BestAvailableEncryption`, passphrase = HKDF-SHA256(`RURALX_SECRET_KEY`, per-key
label), mode 0600. A changed secret or a damaged file raises `CAKeyError`, never a new CA.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class CAKeyError(RuntimeError):
    """The CA's stored keys cannot be used (wrong RURALX_SECRET_KEY, damaged files)."""


def passphrase(secret_key: str, purpose: str) -> bytes:
    """The encryption passphrase of one stored key, derived from the server secret."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"ruralx-ca-v1", info=f"key:{purpose}".encode()
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived)


def write_private(path: Path, key: PrivateKey, secret: bytes) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(secret),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def write_public(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def read_private(path: Path, secret: bytes) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=secret)
    except (ValueError, TypeError) as exc:
        raise CAKeyError(
            f"无法解密平台 CA 私钥 {path}：RURALX_SECRET_KEY 与创建 CA 时不同，或文件已损坏"
        ) from exc
    except FileNotFoundError as exc:
        raise CAKeyError(f"平台 CA 私钥缺失：{path}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise CAKeyError(f"不支持的私钥类型：{path}")
    return key
