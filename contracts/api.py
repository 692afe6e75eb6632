"""Controllers of the deal (and, later, contracts and signatures)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath

from contracts.deals import load_deal
from core.web import PUBLIC, actor_or_none, services


class DealController(Controller):
    path = "/api/v1/listings"

    @get("/{listing_id:int}/deal", opt=PUBLIC)
    async def deal(self, request: Request[Any, Any, Any], listing_id: FromPath[int]) -> dict[str, Any]:
        async with services(request).db.read() as session:
            return await load_deal(session, actor_or_none(request), listing_id)


#: Registered by the app; the contracts package adds its controllers here.
CONTROLLERS: list[Any] = [DealController]
