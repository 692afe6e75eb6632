"""`/api/v1/me/notices…`: a signed-in person's own inbox and notice preferences."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from core.notices import inbox
from core.web import actor, allow, services


class ReadAll(msgspec.Struct, kw_only=True):
    marked: int
    unread: int


class NoticeController(Controller):
    path = "/api/v1/me"

    @get("/notices", guards=[allow()])
    async def list_notices(
        self,
        request: Request[Any, Any, Any],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        before: Annotated[int | None, QueryParameter(ge=1)] = None,
    ) -> inbox.NoticePage:
        """The caller's notices, newest first; `before` (a notice id) pages to older ones."""
        svc, who = services(request), actor(request)
        async with svc.db.read() as session:
            return await inbox.page(session, who.id, limit=limit, before=before)

    @post("/notices/{notice_id:int}/read", guards=[allow()], status_code=200)
    async def read(self, request: Request[Any, Any, Any], notice_id: FromPath[int]) -> ReadAll:
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            await inbox.mark_read(session, who.id, notice_id, svc.now())
            await session.flush()
            return ReadAll(marked=1, unread=await inbox.unread_count(session, who.id))

    @post("/notices/read-all", guards=[allow()], status_code=200)
    async def read_all(self, request: Request[Any, Any, Any]) -> ReadAll:
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            marked = await inbox.mark_all_read(session, who.id, svc.now())
            return ReadAll(marked=marked, unread=0)

    @get("/notice-preferences", guards=[allow()])
    async def preferences(self, request: Request[Any, Any, Any]) -> inbox.Preferences:
        svc, who = services(request), actor(request)
        async with svc.db.read() as session:
            return await inbox.preferences(session, who.id)

    @put("/notice-preferences", guards=[allow()])
    async def set_preferences(
        self, request: Request[Any, Any, Any], data: JSONBody[inbox.PreferencesIn]
    ) -> inbox.Preferences:
        """Which optional kinds the caller does not want; required kinds cannot be turned off."""
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            await inbox.set_preferences(session, who.id, data.disabled)
            await session.flush()
            return await inbox.preferences(session, who.id)
