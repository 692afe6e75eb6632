"""The inbox page of every signed-in person: their notices, read marks, which kinds they get."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response, get, post
from litestar.params import FromPath, QueryParameter

from app.pages.common import FORM, Pages, Req, posted_form, redirect, render, safe_next
from core.notices import KIND_NAMES_ZH, OPTIONAL, inbox
from core.web import actor, allow, services

PER_PAGE = 20


class NoticePages(Pages):
    path = "/me/notices"
    guards = (allow(),)

    @get("/")
    async def index(
        self, request: Req, before: Annotated[int | None, QueryParameter(ge=1)] = None
    ) -> Response[Any]:
        svc, who = services(request), actor(request)
        async with svc.db.read() as session:
            page = await inbox.page(session, who.id, limit=PER_PAGE, before=before)
            choices = await inbox.preferences(session, who.id)
        return render(
            request,
            "me_notices.html",
            title="我的通知",
            page=page,
            choices=choices.kinds,
            kind_names=KIND_NAMES_ZH,
            first_page=before is None,
        )

    @post("/{notice_id:int}/read", opt=FORM)
    async def read(self, request: Req, notice_id: FromPath[int]) -> Response[Any]:
        """Marks it read, then goes to the page it is about (or back to the inbox)."""
        await posted_form(request)
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            notice = await inbox.mark_read(session, who.id, notice_id, svc.now())
        return redirect(safe_next(notice.link) or f"/me/notices#n-{notice_id}")

    @post("/read-all", opt=FORM)
    async def read_all(self, request: Req) -> Response[Any]:
        await posted_form(request)
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            await inbox.mark_all_read(session, who.id, svc.now())
        return redirect("/me/notices", "notices_read")

    @post("/preferences", opt=FORM)
    async def preferences(self, request: Req) -> Response[Any]:
        """Checked boxes are the optional kinds wanted; the rest are turned off."""
        values = await posted_form(request)
        disabled = [k.value for k in sorted(OPTIONAL) if not values.get(f"on_{k.value}")]
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            await inbox.set_preferences(session, who.id, disabled)
        return redirect("/me/notices", "notice_preferences")
