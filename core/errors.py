"""One error hierarchy for the whole exchange, each error with a stable dotted code.

The same code travels to the HTTP problem JSON, the websocket `rejected` frame, the UI text
and the ledger, so clients and regulators can rely on it. Messages are Chinese: they are
shown to people.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec


class Problem(msgspec.Struct, kw_only=True):
    """The body of every error (RFC 9457). `code` is stable and what clients act on; `detail`
    is the Chinese message for people. Some errors add context beside these fields:
    `errors` (which inputs were wrong), `retry_after` (seconds), `minimum_fen`, ..."""

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str


def problem_body(
    status: int, code: str, detail: str, title: str = "", **extra: Any
) -> dict[str, Any]:
    """One problem as JSON-ready data: the `Problem` fields, then the error's context."""
    body: dict[str, Any] = msgspec.to_builtins(
        Problem(title=title or detail, status=status, code=code, detail=detail)
    )
    return {**body, **extra}


class DomainError(Exception):
    """A rule of the exchange refused an action; nothing was written."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "请求无法处理"

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


class InvalidInput(DomainError):
    status = 400
    title = "输入有误"


class NotAuthenticated(DomainError):
    status = 401
    title = "需要登录"


class PermissionDenied(DomainError):
    status = 403
    title = "无权操作"


class NotFound(DomainError):
    status = 404
    title = "未找到"


class UnsupportedMediaType(DomainError):
    status = 415
    title = "不支持的内容类型"


class Conflict(DomainError):
    status = 409
    title = "状态冲突"


class RuleViolation(DomainError):
    status = 422
    title = "不符合交易规则"


class TooManyRequests(DomainError):
    status = 429
    title = "操作过于频繁"
