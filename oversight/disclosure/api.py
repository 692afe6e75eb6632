"""`GET /api/v1/disclosure?region=PATH`: the public income board (no sign-in), as JSON or, with
`format=csv|xlsx`, as a file (docs/api.md §3.6)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from litestar import Controller, Request, Response, get
from litestar.params import FromQuery, QueryParameter

from core.clock import local_date
from core.web import PUBLIC, services
from oversight.disclosure import export
from oversight.disclosure.board import board, region_path
from oversight.disclosure.schemas import Disclosure

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class DisclosureController(Controller):
    path = "/api/v1/disclosure"

    @get("/", opt=PUBLIC)
    async def disclosure(
        self,
        request: Request[Any, Any, Any],
        region: FromQuery[str | None] = None,
        format_: Annotated[
            Literal["json", "csv", "xlsx", "csv_fen"], QueryParameter(name="format")
        ] = "json",
        table: FromQuery[Literal["income", "leases"]] = "income",
    ) -> Response[Disclosure]:
        """村务公开: every village under `region` with its leases in force (on a village's own
        board), rent due, received and in arrears by year and by month of this year, and the
        sums per town and county. `format=csv` (with `table=income|leases`) or `xlsx`: the
        same figures as a file for people (Chinese headers, yuan); `csv_fen` for programs."""
        path = region_path(region)
        svc = services(request)
        async with svc.db.read() as session:
            found = await board(session, path, local_date(svc.now()))
        if format_ == "json":
            return Response(found)
        name = f"disclosure-{found.region.name}"
        csv = "text/csv; charset=utf-8"
        content, media_type, suffix = {
            "csv": (lambda: export.to_csv(found, table), csv, "csv"),
            "csv_fen": (lambda: export.to_csv_fen(found, table), csv, "fen.csv"),
            "xlsx": (lambda: export.to_xlsx(found), XLSX, "xlsx"),
        }[format_]
        return Response(
            content(),  # type: ignore[arg-type]  # a file, the same figures (docstring)
            media_type=media_type,
            headers={
                "Content-Disposition": 'attachment; filename="disclosure.'
                f"{suffix}\"; filename*=UTF-8''{quote(name)}.{suffix}"
            },
        )
