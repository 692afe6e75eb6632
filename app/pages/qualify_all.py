"""The reviewer's one click on a listing's page: 确认全部已缴款竞买人资格 qualifies every paid
application that nothing calls into question (`listings.qualification.qualify_all_paid`);
the rest stay on the page for individual review (app/pages/held_back.py)."""

from __future__ import annotations

from typing import Any

from litestar import Response, post
from litestar.params import FromPath

from app.pages.common import FORM, Pages, Req, redirect
from app.pages.forms import Form
from app.pages.held_back import warnings_of
from app.pages.review import review_page
from core.errors import DomainError
from core.web import actor, allow, services
from listings import qualification


class QualifyAllPages(Pages):
    path = "/review"
    guards = (allow("reviewer"),)

    @post("/listings/{listing_id:int}/qualify-paid", opt=FORM)
    async def qualify_paid(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        svc = services(request)
        try:
            async with svc.db.write() as session:
                done = await qualification.qualify_all_paid(
                    session, actor(request), listing_id, svc.now(), warnings_of
                )
        except DomainError as exc:
            form = Form()
            form.fail(exc)
            return await review_page(request, listing_id, {"qualify-all": form}, exc.status)
        return redirect(
            f"/review/listings/{listing_id}", "qualified_all" if done.clean else "qualified_none"
        )
