"""Errors leave as RFC 9457 problem JSON with the stable `code` of the `DomainError`."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from core.errors import DomainError, problem_body

log = logging.getLogger("ruralx.web")


PROBLEM = "application/problem+json"


def problem(status: int, code: str, detail: str, title: str = "", **extra: Any) -> Response[Any]:
    body = problem_body(status, code, detail, title, **extra)
    return Response(body, status_code=status, media_type=PROBLEM)


def _problem_response(exc: DomainError) -> Response[Any]:
    response = problem(exc.status, exc.code, exc.message, exc.title, **exc.extra)
    if "retry_after" in exc.extra:  # what a client or proxy acts on (RFC 9110 §10.2.3)
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    return response


def encoded_problem(exc: DomainError) -> bytes:
    """The body `domain_error_handler` answers `exc` with, encoded as Litestar encodes it: for
    a route answered before Litestar's stack (app.fast_snapshot). Errors that set headers
    (`retry_after`) go through Litestar."""
    body = problem_body(exc.status, exc.code, exc.message, exc.title, **exc.extra)
    return msgspec.json.encode(body)


def domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return _problem_response(exc)


def validation_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = exc.extra if isinstance(exc.extra, list) else []
    detail = "请求数据格式有误"
    if errors:
        first = errors[0]
        detail += f"：{first.get('message', '')}" if isinstance(first, dict) else ""
    return problem(400, "request.invalid", detail, "输入有误", errors=errors)


_HTTP_CODES = {
    400: ("request.invalid", "请求无效"),
    401: ("auth.required", "请先登录"),
    403: ("auth.forbidden", "无权访问"),
    404: ("not_found", "未找到"),
    405: ("request.method_not_allowed", "不支持的请求方法"),
    413: ("request.too_large", "上传内容过大"),
    415: ("request.unsupported_media_type", "不支持的内容类型"),
    429: ("rate_limited", "操作过于频繁，请稍后再试"),
}


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code, detail = _HTTP_CODES.get(exc.status_code, ("http.error", str(exc.detail)))
    return problem(exc.status_code, code, detail)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "internal", "系统繁忙，请稍后重试；您的操作未被保存")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
