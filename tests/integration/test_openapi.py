"""`/schema` documents every route of the API: its success body as a named type, its errors as
`Problem`. A new route that returns an untyped dict fails here (issue 16; docs/api.md §1)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

from app.main import create_app
from core.config import Config
from core.openapi import error_statuses

JSON_TYPES = ("application/json", "application/problem+json")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    where: Path = tmp_path_factory.mktemp("openapi")
    config = Config(database_url=f"sqlite+aiosqlite:///{where}/x.db", data_dir=str(where))
    return create_app(config, run_scheduler=False)


def api_operations(app: Litestar) -> list[tuple[str, str, HTTPRouteHandler]]:
    """(method, path, handler) of every HTTP route under /api/ (pages and assets are HTML)."""
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler) or not route.path.startswith("/api/"):
                continue
            # OPTIONS: the framework's CORS pre-flight answer, not an operation of the API
            methods = sorted(handler.http_methods - {"OPTIONS"})
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)  # as OpenAPI writes it
            found += [(m, path, handler) for m in methods]
    return found


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def is_typed(schema: dict[str, Any], node: dict[str, Any]) -> bool:
    """A named object type with declared properties, or an array/union of such."""
    if "$ref" in node:
        target = resolve(schema, node)
        return bool(target.get("properties")) or any(
            is_typed(schema, n) for n in target.get("oneOf", [])
        )
    if node.get("type") == "array":
        return is_typed(schema, node.get("items", {}))
    if "oneOf" in node:
        return all(is_typed(schema, n) or n.get("type") == "null" for n in node["oneOf"])
    return False


def test_every_api_route_is_in_the_schema(app: Litestar) -> None:
    hidden = [f"{m} {p}" for m, p, h in api_operations(app) if not h.include_in_schema]
    assert hidden == []


def test_every_api_route_documents_a_typed_success_body(app: Litestar) -> None:
    schema = app.openapi_schema.to_schema()
    untyped = []
    for method, path, _ in api_operations(app):
        operation = schema["paths"][path][method.lower()]
        successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        assert successes, f"{method} {path} documents no success response"
        for status, response in successes.items():
            content = response.get("content", {})
            for media, body in content.items():
                node = body.get("schema", {})
                if media in JSON_TYPES:
                    ok = is_typed(schema, node)
                else:  # files: a PDF, a CSV, a PEM chain — named by media type, sent as bytes
                    ok = media != "*/*" and node.get("type") == "string"
                if not ok:
                    untyped.append(f"{method} {path} {status} {media}: {node}")
    assert untyped == []


def test_every_api_route_documents_its_errors_as_problems(app: Litestar) -> None:
    schema = app.openapi_schema.to_schema()
    missing = []
    for method, path, handler in api_operations(app):
        responses = schema["paths"][path][method.lower()]["responses"]
        for status in error_statuses(handler, path):
            body = responses.get(str(status), {}).get("content", {})
            ref = body.get("application/problem+json", {}).get("schema", {}).get("$ref", "")
            if not ref.endswith("/Problem"):
                missing.append(f"{method} {path} {status}")
    assert missing == []
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"title", "status", "code", "detail"}


def test_the_test_finds_an_untyped_route(app: Litestar) -> None:
    """The walk above would notice a dict-returning handler (it is not vacuous)."""
    schema = app.openapi_schema.to_schema()
    assert not is_typed(schema, {"type": "object", "additionalProperties": {}})
    assert not is_typed(schema, {})
    assert is_typed(schema, {"$ref": "#/components/schemas/Problem"})
    assert len(api_operations(app)) >= 50
