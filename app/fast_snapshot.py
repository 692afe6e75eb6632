"""The auction snapshot `GET` answered before Litestar's stack: the busiest route of the
exchange (every watcher's poll), and one whose handler is a dictionary lookup, so the stack
around it (middleware, hooks, path parsing, the handler's signature) was most of its cost.

Only a request that is plainly `GET /api/v1/auctions/<id>` (no query, an id of digits within
64 bits, credentials that resolve or none) is answered here; anything else, and anything that
goes wrong, is left to Litestar, which answers it as before. What the stack does for this
route is done here by the same code:

- the actor: `core.sessions.authenticate`, as `AuthMiddleware` (a stale cookie is
  anonymous; a bad bearer token is answered 401 with the problem the middleware's error gives);
- the door (`core.hygiene.InputHygiene`): digits are no control characters; an id past 64
  bits goes to Litestar (404);
- the headers: the app's `before_send` hook `core.headers.security_headers`;
- the body: `Snapshots.encoded`, as the handler (`auction.api.AuctionController.snapshot`);
  its 404 is `core.problems.encoded_problem` of the handler's own error, as the app's
  exception handler (`core.problems.domain_error_handler`) would answer it.

No rate limit, guard or logging applies to this route in the stack (uvicorn's access log, if
on, is written for these requests too). `tests/integration/test_fast_snapshot.py` compares
status, body and every header with Litestar's route.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.types import HTTPResponseStartEvent, Scope, Send

from auction.api import no_auction
from core.errors import NotAuthenticated
from core.headers import security_headers
from core.hygiene import in_int64
from core.problems import PROBLEM, encoded_problem
from core.sessions import authenticate

if TYPE_CHECKING:
    from litestar import Litestar

    from auction.snapshots import Snapshots
    from core.web import Services

PREFIX = "/api/v1/auctions/"
_START = len(PREFIX)
_JSON = b"application/json"
_PROBLEM = PROBLEM.encode()


async def answer(app: Litestar, scope: Scope, send: Send) -> bool:
    """Answer the request if it is a plain snapshot `GET`; False (nothing sent) otherwise."""
    path: str = scope["path"]
    if (
        not path.startswith(PREFIX)
        or scope["method"] != "GET"  # type: ignore[typeddict-item]
        or scope["query_string"]
        or scope.get("root_path")
    ):
        return False
    digits = path[_START:]
    if not (0 < len(digits) <= 19 and digits.isascii() and digits.isdigit()):
        return False
    listing_id = int(digits)
    if not in_int64(listing_id):
        return False
    # As Litestar's own entry (Litestar.__call__) does: the hooks and services read them.
    scope["app"] = scope["litestar_app"] = app
    state = app.state
    svc: Services = state.services
    snapshots: Snapshots = state.snapshots
    try:
        viewer, _, _ = await authenticate(scope, svc)
        body = await snapshots.encoded(listing_id, viewer)
    except NotAuthenticated as exc:  # a bad bearer token: the middleware's 401, not re-read
        status, media, body = exc.status, _PROBLEM, encoded_problem(exc)
    except Exception:
        return False  # Litestar answers it (a logged 500) as for any route
    else:
        if body is None:
            status, media, body = 404, _PROBLEM, encoded_problem(no_auction())
        else:
            status, media = 200, _JSON
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", media), (b"content-length", b"%d" % len(body))],
    }
    await security_headers(start, scope)
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
    return True
