"""The OpenAPI document at `/schema`: the app's settings and the errors every route may answer.

Success bodies are documented by each handler's return type (msgspec Structs). Errors all
leave through `core.problems` as one `Problem` shape; which statuses a route may answer
follows from how it is declared (guards, path parameters, method), so they are added here
once instead of on every handler.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec

from core.errors import Problem

PROBLEM = "application/problem+json"

CONFIG = OpenAPIConfig(title="ruralx 农村产权流转交易平台", version="1", path="/schema")

#: What each error status means on this exchange (docs/api.md §1 lists the codes).
_MEANINGS = {
    400: "输入有误（request.invalid 等）：请求体、参数或查询串不合规定，什么也没有写入",
    401: "需要登录（auth.required）",
    403: "角色或地区无权做此操作（auth.forbidden 等）",
    404: "对象不存在，或调用者无权知道它存在（not_found）",
    409: "与对象当前状态冲突（如阶段不对、重复提交）",
    413: "请求体或上传文件过大（request.too_large）",
    415: "请求体不是 application/json 或所需的上传格式（request.unsupported_media_type）",
    422: "不符合交易规则（如出价低于最低可出价、资格不符）",
    429: "操作过于频繁，或账号/地址暂被限制（rate_limited；带 Retry-After）",
}
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def error_statuses(handler: HTTPRouteHandler, path: str) -> list[int]:
    """The error statuses a route may answer, from its declaration."""
    statuses = [400]
    if not handler.opt.get("public"):
        statuses += [401, 403]
    if "{" in path:
        statuses.append(404)
    if _WRITES & set(handler.http_methods):
        statuses += [409, 413, 415, 422, 429]
    return sorted(statuses)


def document_problems(routes: Iterable[Any]) -> None:
    """Give every route in the schema its error responses, each a `Problem`.

    Call before the schema is first generated (it is built on the first request for it).
    """
    for route in routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler) or not handler.include_in_schema:
                continue
            handler.resolve_opts()
            declared: Mapping[int, ResponseSpec] = handler.responses or {}
            handler.responses = {
                **{
                    status: ResponseSpec(
                        data_container=Problem,
                        description=_MEANINGS[status],
                        media_type=PROBLEM,
                        generate_examples=False,
                    )
                    for status in error_statuses(handler, route.path)
                },
                **declared,
            }
