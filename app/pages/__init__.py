"""Server-rendered pages (Jinja, zh-CN) for bidders, villages, staff, regulators and the public."""

from __future__ import annotations

from typing import Any

#: Page controllers and handlers, registered by the app factory.
CONTROLLERS: list[Any] = []
