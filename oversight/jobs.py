"""Periodic work of the regulator side (sequencing the log, checkpoints, warnings)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.web import Services

#: Each job is run every scheduler tick by every worker; it must be safe to run concurrently.
JOBS: list[Callable[[Services], Awaitable[object]]] = []
