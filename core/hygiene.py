"""Input an attacker sends on purpose, refused at the door (docs/security.md §7).

Two rules hold for every route, whatever its own validation says:

- **Integers fit in 64 bits.** Ids in the path past a signed 64-bit integer name nothing (404);
  an integer query parameter must be written as a plain integer within that range, and so
  must every integer of a JSON body (400). The database columns are 64-bit, so anything
  larger would otherwise reach them and fail there.
- **Text carries no control characters.** NUL, the other C0/C1 controls (tab, line feed and
  carriage return excepted), the Unicode bidirectional controls and invisible marks that can
  make a name read differently than it is stored are refused (400 `text.control_character`)
  in paths, queries, JSON bodies and form fields. PostgreSQL cannot store NUL at all.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from core.errors import InvalidInput, NotFound

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

#: C0 and C1 controls except tab, LF, CR; the bidi embeddings, overrides, isolates and marks;
#: zero-width characters and the BOM; the interlinear annotation and object replacement marks.
FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffc]"
)
_INTEGER = re.compile(r"[+-]?\d{1,19}")
#: What a number parser would read as a number (1e20, 12.5, 99999999999999999999); other
#: text is left to the route's own validation ("not an integer").
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?", re.IGNORECASE)


def control_character() -> InvalidInput:
    return InvalidInput(
        "text.control_character",
        "文本中含有不允许的控制字符（如空字符、文字方向控制符或零宽字符），请删除后重试",
    )


def check_text(value: str) -> None:
    if FORBIDDEN.search(value):
        raise control_character()


def check_tree(value: Any) -> None:
    """Every string (keys included) and every integer of decoded JSON."""
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, int) and not isinstance(value, bool) and not in_int64(value):
        raise InvalidInput(
            "request.integer_out_of_range", f"数值超出范围：整数不得超过 {INT64_MAX}"
        )
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_tree(item)
    elif isinstance(value, list):
        for item in value:
            check_tree(item)


def in_int64(value: int) -> bool:
    return INT64_MIN <= value <= INT64_MAX


_int_queries: dict[int, frozenset[str]] = {}


def _integer_query_names(handler: Any) -> frozenset[str]:
    """The query parameters a handler declares as integers (cached per handler)."""
    key = id(handler)
    names = _int_queries.get(key)
    if names is None:
        found = set()
        for name, field in handler.parsed_fn_signature.parameters.items():
            if field.is_subclass_of(int) or field.has_inner_subclass_of(int):
                alias = getattr(field.kwarg_definition, "query", None)
                found.add(alias or name)
        names = _int_queries[key] = frozenset(found)
    return names


class InputHygiene(ASGIMiddleware):
    """Paths and query strings of every request and websocket (bodies: `check_body`)."""

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if FORBIDDEN.search(scope["path"]):
            raise NotFound("not_found", "未找到")
        for value in scope.get("path_params", {}).values():
            if isinstance(value, int) and not in_int64(value):
                raise NotFound("not_found", "未找到")
            if isinstance(value, str):
                check_text(value)
        raw = scope.get("query_string", b"")
        if raw:
            handler = scope.get("route_handler")
            integers = _integer_query_names(handler) if handler is not None else frozenset()
            # Raw (unescaped) UTF-8 in a query is decoded as such, not as Latin-1 (whose upper
            # half would look like C1 controls).
            for name, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
                check_text(name)
                check_text(value)
                if name in integers and _NUMBER.fullmatch(value) and not _plain_int64(value):
                    raise InvalidInput(
                        "request.integer_out_of_range",
                        f"参数 {name} 应为不超过 {INT64_MAX} 的整数",
                        parameter=name,
                    )
        await next_app(scope, receive, send)


def _plain_int64(value: str) -> bool:
    return _INTEGER.fullmatch(value) is not None and in_int64(int(value))


async def check_body(request: Request[Any, Any, Any]) -> None:
    """Text in a JSON or form body (a `before_request` step)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        body = await request.body()
        if body:
            try:
                decoded = msgspec.json.decode(body)
                check_tree(decoded)
            except msgspec.DecodeError:
                return  # malformed JSON is answered by the decoding itself
            except RecursionError:
                raise InvalidInput("request.too_deep", "请求数据嵌套层数过多") from None
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        for key, value in form.multi_items():
            check_text(key)
            if isinstance(value, str):
                check_text(value)
            else:  # an upload: its name, not its content
                check_text(getattr(value, "filename", "") or "")
