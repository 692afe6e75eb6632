"""Attachments checked by content (not by name or declared type) and stored by SHA-256."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast, get_args

from core.errors import DomainError, InvalidInput
from listings.schemas import DocumentKind

#: The largest file accepted (the body limits of upload routes allow one such file plus fields).
MAX_UPLOAD = 10 * 1024 * 1024
#: The body of a request carrying one upload: the file and its form fields.
UPLOAD_BODY = MAX_UPLOAD + 64 * 1024


class UploadTooLarge(DomainError):
    """A file over the upload limit: 413 like a body over the limit (docs/api.md §1)."""

    status = 413
    title = "上传内容过大"


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """An upload that passed `checked_file`: a safe name, its real type, its bytes."""

    filename: str
    content_type: str
    content: bytes


def checked_file(
    content: bytes, filename: str, declared: str | None, *, limit: int = MAX_UPLOAD
) -> CheckedFile:
    """An uploaded file checked by size, name and content before anything is written."""
    if len(content) > min(limit, MAX_UPLOAD):
        raise UploadTooLarge("request.too_large", "文件不得超过 10 MB")
    name = safe_filename(filename)
    return CheckedFile(name, check(content, name, declared), content)


#: Photos of the asset, shown on the announcement: images only, and smaller than documents.
MAX_PHOTO = 5 * 1024 * 1024
PHOTO_TYPES = ("image/jpeg", "image/png")


def check_kind(kind: DocumentKind, file: CheckedFile) -> None:
    """What a kind of document must be beyond any upload: a photo is a JPEG or PNG image of
    at most 5 MB (served inline on the announcement, so never a PDF)."""
    if kind != "photo":
        return
    if file.content_type not in PHOTO_TYPES:
        raise InvalidInput("document.photo_type", "现场照片仅支持 JPEG、PNG 格式的图片")
    if len(file.content) > MAX_PHOTO:
        raise UploadTooLarge("request.too_large", "现场照片不得超过 5 MB")


def document_kind(value: object) -> DocumentKind:
    """The kind of a listing document as a form or a multipart body names it."""
    if value not in get_args(DocumentKind):
        raise InvalidInput("document.kind", "材料类型无效")
    return cast(DocumentKind, value)


# Leading bytes of the only formats accepted; the declared content type must agree.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
_EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
}


def detect_type(data: bytes) -> str:
    for magic, content_type in _SIGNATURES:
        if data.startswith(magic):
            return content_type
    raise InvalidInput("document.unsupported_type", "仅支持 PDF、JPEG、PNG 格式的文件")


def check(data: bytes, filename: str, declared: str | None) -> str:
    """The real content type of an upload, or InvalidInput when anything disagrees."""
    if not data:
        raise InvalidInput("document.empty", "文件为空")
    actual = detect_type(data)
    if declared and declared.split(";")[0].strip().lower() not in (
        actual,
        "application/octet-stream",
    ):
        raise InvalidInput("document.type_mismatch", "文件内容与声明的类型不符")
    if not filename.lower().endswith(_EXTENSIONS[actual]):
        raise InvalidInput("document.extension_mismatch", "文件扩展名与文件内容不符")
    if actual == "application/pdf" and b"%%EOF" not in data[-2048:]:
        raise InvalidInput("document.truncated", "PDF 文件不完整")
    return actual


def safe_filename(filename: str) -> str:
    name = os.path.basename(filename.replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"/|?*')
    if not name or name.startswith("."):
        raise InvalidInput("document.filename", "文件名无效")
    return name[:200]


class DocumentStore:
    """Content-addressed files under the data directory; writes are atomic (rename)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root) / "documents"

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
        return digest

    def get(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()
