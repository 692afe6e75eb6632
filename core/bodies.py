"""The app's `before_request` hook: what every request body must be before a handler reads it."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException

from core import hygiene
from core.errors import (
    UnsupportedMediaType,
)


async def checked_body(request: Request[Any, Any, Any]) -> None:
    """The app's `before_request` hook: no control characters in any body's text
    (core/hygiene.py), and exact JSON for typed bodies (`strict_json_body`)."""
    await hygiene.check_body(request)
    await strict_json_body(request)


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    """Decode a Struct-typed JSON body strictly before Litestar does.

    Litestar converts request data leniently ("1200000" → 1200000, 1200000.0 → 1200000,
    a unix number → datetime); money and counts on the wire must be exact JSON integers.
    Runs after the guards, so an anonymous caller still gets 401 rather than 400.
    """
    field = request.route_handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return
    expected = getattr(field.kwarg_definition, "media_type", RequestEncodingType.JSON)
    if expected != RequestEncodingType.JSON:
        return  # a multipart upload or a form
    # A JSON endpoint takes JSON only: a cross-site form can send text/plain or form encodings
    # without a preflight, never application/json (login CSRF, docs/security.md §7).
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaType(
            "request.unsupported_media_type", "请以 application/json 格式提交数据"
        )
    target = field.annotation
    if not (isinstance(target, type) and issubclass(target, msgspec.Struct)):
        return
    try:
        msgspec.json.decode(await request.body(), type=target)
    except msgspec.ValidationError as exc:
        raise ValidationException(
            detail="请求数据格式有误", extra=[{"message": str(exc), "source": "body"}]
        ) from None
    except msgspec.DecodeError:
        return  # malformed JSON: Litestar's own decoding answers it
