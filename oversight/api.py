"""Controllers of the regulator side: the verifiable log, timelines, ladders, stats, warnings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, Final, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from msgspec import Meta
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.accounts import Actor
from core.clock import local_date
from core.errors import InvalidInput
from core.ledger import bundle as ledger_bundle
from core.ledger import sequencer
from core.ledger.models import LedgerEntry
from core.ledger.tables import LedgerCheckpoint
from core.web import PUBLIC, actor, allow, services
from listings import policy, reading
from listings.policy import Facet
from oversight import schemas, views
from oversight.disclosure.api import DisclosureController
from oversight.jobs import JobContext
from oversight.stats import dashboard
from oversight.stats import export as stats_export
from oversight.stats.compute import statistics
from oversight.stats.query import StatsQuery
from oversight.stats.query import filters as stats_filters
from oversight.stats.shaping import StatsResult, filters_dict
from oversight.warnings import review
from oversight.warnings.findings import KIND_NAMES_ZH

TEXT = "text/plain; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STAFF = ("regulator", "reviewer", "admin")
CSV = "text/csv; charset=utf-8"
#: The statistics as files: media type, writer and file name suffix by `format` — for people
#: (csv, xlsx: Chinese headers, yuan, 合计) and for programs (csv_fen: field names, fen).
STATS_FILES: Final[dict[str, tuple[str, Callable[[StatsResult], bytes], str]]] = {
    "csv": (CSV, stats_export.to_csv, ".csv"),
    "xlsx": (XLSX, stats_export.to_xlsx, ".xlsx"),
    "csv_fen": (CSV, stats_export.to_csv_fen, "-fen.csv"),
}


def _jobs(request: Request[Any, Any, Any]) -> JobContext:
    """The log's database, clock and checkpoint signer, as the jobs use them."""
    svc = services(request)
    return JobContext.of(svc.config, svc.db, svc.clock)


class LedgerController(Controller):
    path = "/api/v1/ledger"

    @get("/checkpoint", opt=PUBLIC, media_type=TEXT)
    async def checkpoint(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """The latest signed checkpoint (C2SP tlog-checkpoint note)."""
        ctx = _jobs(request)
        async with ctx.db.read() as session:
            latest = await sequencer.latest_checkpoint(session)
        if latest is None:
            await sequencer.run(ctx.db, ctx.signer, ctx.now, wait=True, checkpoint="first")
            async with ctx.db.read() as session:
                latest = await sequencer.latest_checkpoint(session)
        assert latest is not None
        return Response(latest.note.encode(), media_type=TEXT)

    @get("/key", opt=PUBLIC, media_type=TEXT)
    async def key(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """The verifier key of checkpoints: name+key id+base64(0x01 || Ed25519 public key)."""
        return Response(f"{_jobs(request).signer().verifier_key}\n".encode(), media_type=TEXT)

    @get("/checkpoints", opt=PUBLIC)
    async def checkpoints(
        self,
        request: Request[Any, Any, Any],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        before_size: Annotated[int | None, QueryParameter(ge=0)] = None,
    ) -> schemas.CheckpointList:
        async with services(request).db.read() as session:
            query = select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(limit)
            if before_size is not None:
                query = query.where(LedgerCheckpoint.size < before_size)
            rows = list(await session.scalars(query))
        return schemas.CheckpointList(
            items=[
                schemas.CheckpointOut(
                    size=c.size,
                    root=c.root,
                    created_at=c.created_at.isoformat(),
                    reason=c.reason,
                    note=c.note,
                )
                for c in rows
            ]
        )

    @get("/consistency", opt=PUBLIC)
    async def consistency(
        self,
        request: Request[Any, Any, Any],
        first: Annotated[int, QueryParameter(ge=0)],
        second: Annotated[int, QueryParameter(ge=0)],
    ) -> schemas.ConsistencyOut:
        """RFC 9162 consistency proof between two tree sizes (e.g. two checkpoints)."""
        async with services(request).db.read() as session:
            proof = await ledger_bundle.consistency(session, first, second)
        return schemas.ConsistencyOut(first=first, second=second, proof=[h.hex() for h in proof])

    @get("/bundle", guards=[allow("regulator")])
    async def bundle(
        self,
        request: Request[Any, Any, Any],
        listing_id: Annotated[int, QueryParameter(ge=1)],
        size: Annotated[int | None, QueryParameter(ge=0)] = None,
        known_size: Annotated[int | None, QueryParameter(ge=0)] = None,
    ) -> schemas.LedgerBundle:
        """Every entry of one listing with inclusion proofs against a signed checkpoint."""
        ctx, who = _jobs(request), actor(request)
        subject = reading.subject(listing_id)
        async with ctx.db.read() as session:
            visible = await reading.load(session, who, listing_id)
            state, village = visible.listing.state, visible.village
            # 404 outside the jurisdiction; 409 inside until the auction ends.
            policy.require(who, Facet.LEDGER_BUNDLE, state, village)
            uncovered = size is None and await _uncovered(session, subject)
        if uncovered:
            await sequencer.run(ctx.db, ctx.signer, ctx.now, wait=True, checkpoint="on_demand")
        async with ctx.db.read() as session:
            found = await ledger_bundle.bundle(
                session, subject, size=size, known_size=known_size, signer=ctx.signer()
            )
        return schemas.out(found, schemas.LedgerBundle)


async def _uncovered(session: AsyncSession, subject: str) -> bool:
    """Whether some entry of the subject is not yet in the latest checkpoint."""
    if await session.scalar(
        select(LedgerEntry.id)
        .where(LedgerEntry.subject == subject, LedgerEntry.leaf_index.is_(None))
        .limit(1)
    ):
        return True
    highest = await session.scalar(
        select(func.max(LedgerEntry.leaf_index)).where(LedgerEntry.subject == subject)
    )
    latest = await sequencer.latest_checkpoint(session)
    return highest is not None and (latest is None or highest >= latest.size)


class RecordController(Controller):
    """What staff read of one listing: its timeline from the ledger, its auction's bid ladder."""

    path = "/api/v1"

    @get("/listings/{listing_id:int}/timeline", guards=[allow(*STAFF)])
    async def timeline(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int]
    ) -> schemas.Timeline:
        return schemas.out(await _read(request, views.timeline, listing_id), schemas.Timeline)

    @get("/auctions/{listing_id:int}/ladder", guards=[allow(*STAFF)])
    async def ladder(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int]
    ) -> schemas.Ladder:
        return schemas.out(await _read(request, views.ladder, listing_id), schemas.Ladder)


async def _read(
    request: Request[Any, Any, Any],
    view: Callable[[AsyncSession, Actor, int], Awaitable[dict[str, Any]]],
    listing_id: int,
) -> dict[str, Any]:
    async with services(request).db.read() as session:
        return await view(session, actor(request), listing_id)


async def _dashboard_filters(
    date_from: Annotated[date | None, QueryParameter(name="from")] = None,
    date_to: Annotated[date | None, QueryParameter(name="to")] = None,
    region: FromQuery[str | None] = None,
    category: FromQuery[str | None] = None,
) -> StatsQuery:
    """The dashboard routes' filters (the period, a region, a category), checked."""
    return stats_filters(date_from, date_to, region, category)


#: The dashboard routes take their filters as `filters`.
DASHBOARD_FILTERS: Final = {"filters": Provide(_dashboard_filters)}


class StatsController(Controller):
    path = "/api/v1/stats"

    @get("/", guards=[allow("regulator", "admin")])
    async def stats(
        self,
        request: Request[Any, Any, Any],
        group_by: FromQuery[str] = "village",
        date_from: Annotated[date | None, QueryParameter(name="from")] = None,
        date_to: Annotated[date | None, QueryParameter(name="to")] = None,
        region: FromQuery[str | None] = None,
        category: FromQuery[str | None] = None,
        format_: Annotated[
            Literal["json", "csv", "xlsx", "csv_fen"], QueryParameter(name="format")
        ] = "json",
    ) -> Response[schemas.Stats]:
        """Listings, failures, deals, totals, premium rates, income, grouped (docs/api.md §3.6).
        With `format=csv` or `format=xlsx` the same table as a file for people (Chinese
        headers, yuan, a 合计 row); `format=csv_fen` for programs (field names, fen)."""
        query = StatsQuery.parse(group_by, date_from, date_to, region, category)
        who = actor(request)
        async with services(request).db.read() as session:
            result = await statistics(
                session, query, who.region.path if who.region is not None else None
            )
        # One route, three representations: the JSON answer, or a file (CSV, XLSX).
        if format_ == "json":
            return Response(schemas.out(result.as_dict(), schemas.Stats))
        media_type, write, suffix = STATS_FILES[format_]
        name = f"stats-{'-'.join(query.group_by)}{suffix}"
        return Response(
            write(result),  # type: ignore[arg-type]  # a file, the same table (docstring)
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @get("/collection", guards=[allow("regulator", "admin")], dependencies=DASHBOARD_FILTERS)
    async def collection(
        self, request: Request[Any, Any, Any], filters: NamedDependency[StatsQuery]
    ) -> schemas.Collection:
        """Collection rate of the rent items due so far (by due date in the period) and the
        arrears by village (docs/oversight.md, "The dashboard")."""
        svc, who = services(request), actor(request)
        async with svc.db.read() as session:
            found = await dashboard.collection(
                session, filters, _jurisdiction(who), local_date(svc.now())
            )
        return schemas.out({**found, "filters": filters_dict(filters)}, schemas.Collection)

    @get(
        "/premium-distribution",
        guards=[allow("regulator", "admin")],
        dependencies=DASHBOARD_FILTERS,
    )
    async def premium_distribution(
        self, request: Request[Any, Any, Any], filters: NamedDependency[StatsQuery]
    ) -> schemas.PremiumDistribution:
        """The deals of the period (by deal date) in premium-rate bands."""
        who = actor(request)
        async with services(request).db.read() as session:
            found = await dashboard.premium_distribution(session, filters, _jurisdiction(who))
        return schemas.out({**found, "filters": filters_dict(filters)}, schemas.PremiumDistribution)

    @get("/deals-by-month", guards=[allow("regulator", "admin")], dependencies=DASHBOARD_FILTERS)
    async def deals_by_month(
        self, request: Request[Any, Any, Any], filters: NamedDependency[StatsQuery]
    ) -> schemas.DealsByMonth:
        """Deals, their total and the collectives' income increase per month of the deal."""
        who = actor(request)
        async with services(request).db.read() as session:
            found = await dashboard.deals_by_month(session, filters, _jurisdiction(who))
        return schemas.out({**found, "filters": filters_dict(filters)}, schemas.DealsByMonth)


def _jurisdiction(who: Actor) -> str | None:
    return who.region.path if who.region is not None else None


class AcknowledgeBody(msgspec.Struct, forbid_unknown_fields=True):
    note: Annotated[str, Meta(min_length=1, max_length=2000)]


class WarningController(Controller):
    path = "/api/v1/warnings"

    @get("/", guards=[allow("regulator", "admin")])
    async def search(
        self,
        request: Request[Any, Any, Any],
        kind: FromQuery[str | None] = None,
        state_: Annotated[
            Literal["open", "acknowledged"] | None, QueryParameter(name="state")
        ] = None,
        listing_id: FromQuery[int | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> schemas.WarningPage:
        if kind is not None and kind not in KIND_NAMES_ZH:
            raise InvalidInput("warning.kind", "预警类型无效", allowed=sorted(KIND_NAMES_ZH))
        who = actor(request)
        async with services(request).db.read() as session:
            rows, total = await review.search(
                session,
                who,
                kind=kind,
                state=state_,
                listing_id=listing_id,
                limit=limit,
                offset=offset,
            )
            items = await review.views(session, who, rows)
        # Every detector runs now; the field stays for clients that read it.
        return schemas.WarningPage(
            items=schemas.out(items, list[schemas.WarningOut]), total=total, not_computed={}
        )

    @post("/{warning_id:int}/acknowledge", guards=[allow("regulator")], status_code=200)
    async def acknowledge(
        self,
        request: Request[Any, Any, Any],
        warning_id: FromPath[int],
        data: JSONBody[AcknowledgeBody],
    ) -> schemas.WarningOut:
        svc = services(request)
        if not data.note.strip():
            raise InvalidInput("warning.note_required", "请填写处理意见")
        who = actor(request)
        async with svc.db.write() as session:
            row = await review.acknowledge(session, who, warning_id, data.note.strip(), svc.now())
            (shown,) = await review.views(session, who, [row])
        return schemas.out(shown, schemas.WarningOut)


#: Registered by the app.
CONTROLLERS: list[Any] = [
    LedgerController,
    RecordController,
    StatsController,
    WarningController,
    DisclosureController,
]
