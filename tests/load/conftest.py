"""The fault tests use the same real-server fixtures as the end-to-end tests."""

from tests.e2e.conftest import pg_two_workers

__all__ = ["pg_two_workers"]
