"""The public income board (村务公开) as a page: `/disclosure?region=PATH`, the same figures
as `GET /api/v1/disclosure`, with bar charts drawn on the server and a print layout for the
village's notice board. Without a region: the counties to choose from."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.params import FromQuery

from app.pages import charts
from app.pages.common import Pages, Req, render
from app.pages.labels import yuan
from core.clock import local_date
from core.web import PUBLIC, services
from oversight.disclosure import board, county_paths
from oversight.disclosure.board import LEVEL_NAMES_ZH, region_path
from oversight.disclosure.schemas import Income


def income_charts(income: Income) -> dict[str, Any]:
    """Due beside received, per year and per month of the current year."""
    return {
        "years": charts.hbars(
            [
                (
                    f"{y.year}年",
                    (y.due_fen, y.received_fen),
                    (yuan(y.due_fen), yuan(y.received_fen)),
                )
                for y in income.by_year
            ]
        ),
        "months": charts.hbars(
            [
                (
                    f"{int(m.month[5:])}月",
                    (m.due_fen, m.received_fen),
                    (yuan(m.due_fen), yuan(m.received_fen)),
                )
                for m in income.by_month
            ]
        ),
    }


class DisclosurePages(Pages):
    path = "/disclosure"

    @get("/", opt=PUBLIC)
    async def board(self, request: Req, region: FromQuery[str | None] = None) -> Response[Any]:
        svc = services(request)
        if region is None or not region.strip("/ "):
            async with svc.db.read() as session:
                counties = await county_paths(session)
            return render(request, "disclosure_index.html", title="村务公开", counties=counties)
        path = region_path(region)
        async with svc.db.read() as session:
            found = await board(session, path, local_date(svc.now()))
        village = next((v for v in found.villages if v.leases is not None), None)
        return render(
            request,
            "disclosure.html",
            title=f"{found.region.name}村务公开",
            board=found,
            village=village,
            charts=income_charts(found.region.income),
            level_name=LEVEL_NAMES_ZH.get(found.region.level, ""),
        )
