"""Where a request's credentials are read from: the bearer header first, else the cookie."""

from __future__ import annotations

from typing import Any

import pytest

from core.sessions import SESSION_COOKIE, _credentials


def scope(*headers: tuple[str, str]) -> Any:
    return {"headers": [(k.encode(), v.encode("latin-1")) for k, v in headers]}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ((), (None, False)),
        ((("authorization", "Bearer abc"),), ("abc", False)),
        ((("authorization", "bearer  abc "),), ("abc", False)),
        ((("authorization", "Basic abc"),), (None, False)),
        ((("authorization", "Bearer "),), (None, False)),
        ((("cookie", f"{SESSION_COOKIE}=tok"),), ("tok", True)),
        ((("cookie", f"a=1; {SESSION_COOKIE}=tok; ruralx_csrf=x"),), ("tok", True)),
        ((("cookie", f'{SESSION_COOKIE}="tok"'),), ("tok", True)),
        ((("cookie", f"x{SESSION_COOKIE}=no; {SESSION_COOKIE}x=no"),), (None, False)),
        ((("cookie", f"{SESSION_COOKIE}="),), (None, False)),
        ((("cookie", "a=1"), ("cookie", f"{SESSION_COOKIE}=tok")), ("tok", True)),
        # A bearer wins over a cookie, in either order.
        ((("cookie", f"{SESSION_COOKIE}=c"), ("authorization", "Bearer b")), ("b", False)),
    ],
)
def test_credentials(
    headers: tuple[tuple[str, str], ...], expected: tuple[str | None, bool]
) -> None:
    assert _credentials(scope(*headers)) == expected
