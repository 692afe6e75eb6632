"""Controllers of the regulator side."""

from __future__ import annotations

from typing import Any

CONTROLLERS: list[Any] = []
