"""One error hierarchy for the whole exchange, each error with a stable dotted code.

The same code travels to the HTTP problem JSON, the websocket `rejected` frame, the UI text
and the ledger, so clients and regulators can rely on it. Messages are Chinese: they are
shown to people.
"""

from __future__ import annotations

from typing import Any, ClassVar


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
