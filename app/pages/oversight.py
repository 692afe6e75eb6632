"""Regulators' pages: the dashboard with statistics; the warnings, each in sentences and
acknowledged here with a note; the listings of the jurisdiction; per listing its overview,
warnings, bid ladder and full timeline from the transaction log, each also a page of its own
with filters (query parameters, no script), and its JSON as an explicit export."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.pages import queries
from app.pages.common import FORM, Pages, Req, posted_form, redirect, render
from app.pages.dashboard import Filters, category_choices, figures, region_choices
from app.pages.forms import Form, page_number
from app.pages.labels import BID_CHANNELS_ZH, BID_REJECTIONS_ZH, LEDGER_TYPES_ZH, TIMELINE_PHASES
from app.pages.oversight_read import (
    BID_OUTCOMES_ZH,
    LISTING_STATES_ZH,
    WARNING_STATES_ZH,
    LadderFilters,
    ListingFilters,
    TimelineFilters,
    WarningFilters,
    shown_warnings,
)
from app.pages.timeline import listing_timeline
from core.accounts import Actor
from core.clock import local_date
from core.errors import DomainError, NotFound
from core.ids import mask_id_number, mask_phone
from core.web import actor, allow, services
from listings import policy, reading
from listings.api import listing_view
from listings.policy import Facet
from oversight import views, warnings
from oversight.warnings.findings import KIND_NAMES_ZH, SEVERITY_NAMES_ZH

#: Rows a list page shows at a time; bids the listing's overview shows before "all bids".
PAGE_SIZE = 20
BIDS_SHOWN = 20
#: The longest acknowledgement note (as the API takes it).
NOTE_MAX = 2000


def _choices() -> dict[str, Any]:
    """The filters' choices, in Chinese, for every regulator page."""
    return {
        "kind_choices": KIND_NAMES_ZH,
        "severity_choices": SEVERITY_NAMES_ZH,
        "warning_state_choices": {**WARNING_STATES_ZH, "all": "全部"},
        "phase_choices": TIMELINE_PHASES,
        "type_choices": LEDGER_TYPES_ZH,
        "listing_state_choices": LISTING_STATES_ZH,
        "outcome_choices": BID_OUTCOMES_ZH,
        "rejections": BID_REJECTIONS_ZH,
        "channels": BID_CHANNELS_ZH,
    }


def _jurisdiction(who: Actor) -> str | None:
    return who.region.path if who.region is not None else None


def _status(*forms: Form) -> int:
    """A filter typed wrong is answered 400, with the page and the error next to the field."""
    return 400 if any(not f.ok for f in forms) else 200


async def _listing(session: AsyncSession, who: Actor, listing_id: int) -> reading.Visible:
    """A listing of the regulator's jurisdiction (404 elsewhere), as every per-listing page."""
    visible = await reading.load(session, who, listing_id)
    policy.require(who, Facet.TIMELINE, visible.listing.state, visible.village)
    return visible


async def _ladder(session: AsyncSession, who: Actor, listing_id: int) -> dict[str, Any] | None:
    """The bid ladder as the API answers it (identities only for oversight after the end);
    None when the listing has no auction."""
    try:
        return await views.ladder(session, who, listing_id)
    except NotFound:
        return None


def _dossiers(ladder: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Who held which number, once the policy reveals it: names, masked documents and phones,
    the addresses and devices they used (the JSON export has them unmasked)."""
    if not ladder or not ladder.get("bidders"):
        return []
    return [
        {
            "number": number,
            "name": b["name"],
            "id_number": mask_id_number(b["id_number"] or ""),
            "phone": mask_phone(b["phone"] or ""),
            "ips": sorted({*b["bid_ips"], *filter(None, [b["registration_ip"]])}),
        }
        for number, b in ladder["bidders"].items()
    ]


class OversightPages(Pages):
    path = "/oversight"
    guards = (allow("regulator", "admin"),)

    @get("/")
    async def dashboard(self, request: Req) -> Response[Any]:
        """The figures of the oversight service (the same as GET /api/v1/stats and
        /api/v1/stats/{collection,premium-distribution,deals-by-month}) under the filters."""
        who = actor(request)
        svc = services(request)
        jurisdiction = _jurisdiction(who)
        filters = Filters.parse(dict(request.query_params))
        async with svc.db.read() as session:
            shown = await figures(session, filters, jurisdiction, local_date(svc.now()))
            regions = await region_choices(session, jurisdiction)
            open_warnings, warning_count = await warnings.search(
                session, who, kind=None, state="open", listing_id=None, limit=10, offset=0
            )
            deals = await queries.recent_results(session, who, limit=30)
            shown_open = await shown_warnings(session, who, open_warnings)
        return render(
            request,
            "oversight.html",
            title="监管看板",
            **shown,
            filters=filters,
            export_query=filters.query_string(),
            regions=regions,
            categories=category_choices(),
            warnings=shown_open,
            warning_count=warning_count,
            deals=[r for r in deals if r.deal is not None and policy.is_inside(who, r.village)],
        )

    # ----- warnings ------------------------------------------------------------------------

    @get("/warnings")
    async def warning_list(self, request: Req) -> Response[Any]:
        """Every warning of the jurisdiction, newest first: by kind, severity, state
        (open unless asked), region and the day detected."""
        who, svc = actor(request), services(request)
        values = dict(request.query_params)
        filters = WarningFilters.parse(values)
        page = page_number(values.get("page"))
        async with svc.db.read() as session:
            rows, total = await filters.search(
                session, who, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )
            shown = await shown_warnings(session, who, rows)
            regions = await region_choices(session, _jurisdiction(who))
        return render(
            request,
            "oversight_warnings.html",
            status=_status(filters.form),
            title="预警",
            warnings=shown,
            total=total,
            page=page,
            pages=max(1, -(-total // PAGE_SIZE)),
            filters=filters,
            regions=regions,
            **_choices(),
        )

    @get("/warnings/{warning_id:int}")
    async def warning(self, request: Req, warning_id: FromPath[int]) -> Response[Any]:
        return await self._warning_page(request, warning_id, Form())

    async def _warning_page(
        self, request: Req, warning_id: int, form: Form, status: int = 200
    ) -> Response[Any]:
        who = actor(request)
        async with services(request).db.read() as session:
            row = await warnings.load(session, who, warning_id)
            (shown,) = await shown_warnings(session, who, [row])
        return render(
            request,
            "oversight_warning.html",
            status=status,
            title=f"预警：{shown.kind_name}",
            w=shown,
            form=form,
            may_acknowledge=who.role == "regulator",
        )

    @post("/warnings/{warning_id:int}/acknowledge", opt=FORM, guards=[allow("regulator")])
    async def acknowledge(self, request: Req, warning_id: FromPath[int]) -> Response[Any]:
        """The same use case as POST /api/v1/warnings/{id}/acknowledge: the note is required,
        and the acknowledgement is ledgered."""
        values = await posted_form(request)
        note = str(values.get("note") or "").strip()
        form = Form(values={"note": note})
        if not note:
            form.error("note", "请填写处理意见", "warning.note_required")
        elif len(note) > NOTE_MAX:
            form.error("note", f"处理意见不能超过 {NOTE_MAX} 字", "warning.note_too_long")
        if not form.ok:
            return await self._warning_page(request, warning_id, form, 400)
        svc, who = services(request), actor(request)
        try:
            async with svc.db.write() as session:
                await warnings.acknowledge(session, who, warning_id, note, svc.now())
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            form.fail(exc)
            return await self._warning_page(request, warning_id, form, exc.status)
        return redirect(f"/oversight/warnings/{warning_id}", "warning_acknowledged")

    # ----- listings ------------------------------------------------------------------------

    @get("/listings")
    async def listing_list(self, request: Req) -> Response[Any]:
        """The listings of the jurisdiction: by region, state, or with open warnings only."""
        who = actor(request)
        filters = ListingFilters.parse(dict(request.query_params))
        async with services(request).db.read() as session:
            rows, total = await views.listing_index(
                session,
                who,
                region=filters.value("region") or None,
                state=filters.value("state") or None,
                warnings_only=filters.value("warnings") == "1",
                limit=PAGE_SIZE,
                offset=(filters.page - 1) * PAGE_SIZE,
            )
            regions = await region_choices(session, _jurisdiction(who))
        return render(
            request,
            "oversight_listings.html",
            status=_status(filters.form),
            title="辖区项目",
            rows=rows,
            total=total,
            page=filters.page,
            pages=max(1, -(-total // PAGE_SIZE)),
            filters=filters,
            regions=regions,
            **_choices(),
        )

    @get("/listings/{listing_id:int}")
    async def listing(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        """One listing in sections: overview and deal, warnings, bids, timeline, exports.
        The long sections are folded; the filters open the one they narrow."""
        who, svc = actor(request), services(request)
        values = dict(request.query_params)
        timeline_filters = TimelineFilters.parse(values)
        warning_filters = WarningFilters.parse(values, state="all")
        async with svc.db.read() as session:
            visible = await _listing(session, who, listing_id)
            documents = await reading.documents_of(session, listing_id)
            timeline = await listing_timeline(session, who, visible, full=True)
            ladder = await _ladder(session, who, listing_id)
            rows, _ = await warning_filters.search(session, who, listing_id=listing_id, limit=100)
            shown = await shown_warnings(session, who, rows)
            deal, contract = await queries.deal_and_contract(
                session, who, listing_id, local_date(svc.now())
            )
        entries = timeline_filters.apply(timeline)
        bids = ladder["bids"] if ladder else []
        return render(
            request,
            "oversight_listing.html",
            status=_status(timeline_filters.form, warning_filters.form),
            title=visible.listing.title,
            listing=listing_view(visible, who, documents),
            timeline=entries,
            timeline_total=len(timeline),
            ladder=ladder,
            bids=bids[-BIDS_SHOWN:][::-1],  # the latest first
            bids_total=len(bids),
            warnings=shown,
            timeline_filters=timeline_filters,
            warning_filters=warning_filters,
            filtered=timeline_filters.active
            or warning_filters.value("kind") != ""
            or warning_filters.value("severity") != "",
            deal=deal,
            contract=contract,
            **_choices(),
        )

    @get("/listings/{listing_id:int}/timeline")
    async def timeline(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        """Every ledger entry of the listing in words, by phase, type and day."""
        who = actor(request)
        filters = TimelineFilters.parse(dict(request.query_params))
        async with services(request).db.read() as session:
            visible = await _listing(session, who, listing_id)
            entries = await listing_timeline(session, who, visible, full=True)
        return render(
            request,
            "oversight_timeline.html",
            status=_status(filters.form),
            title=f"时间线 · {visible.listing.title}",
            listing=visible.listing,
            timeline=filters.apply(entries),
            timeline_total=len(entries),
            filters=filters,
            **_choices(),
        )

    @get("/listings/{listing_id:int}/ladder")
    async def ladder(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        """Every bid, accepted or refused (with why), in server order; who held which number
        only where the policy reveals it."""
        who = actor(request)
        filters = LadderFilters.parse(dict(request.query_params))
        async with services(request).db.read() as session:
            visible = await _listing(session, who, listing_id)
            ladder = await _ladder(session, who, listing_id)
        bids = ladder["bids"] if ladder else []
        return render(
            request,
            "oversight_ladder.html",
            status=_status(filters.form),
            title=f"出价记录 · {visible.listing.title}",
            listing=visible.listing,
            ladder=ladder,
            bids=filters.apply(bids),
            numbers={n: n for n in sorted({b["bidder_number"] for b in bids} - {None})},
            dossiers=_dossiers(ladder),
            filters=filters,
            **_choices(),
        )

    @get("/listings/{listing_id:int}/warnings")
    async def listing_warnings(self, request: Req, listing_id: FromPath[int]) -> Response[Any]:
        """The listing's warnings, open and acknowledged, by kind, severity, state and day."""
        who = actor(request)
        filters = WarningFilters.parse(dict(request.query_params), state="all")
        async with services(request).db.read() as session:
            visible = await _listing(session, who, listing_id)
            rows, total = await filters.search(session, who, listing_id=listing_id, limit=500)
            shown = await shown_warnings(session, who, rows)
        return render(
            request,
            "oversight_listing_warnings.html",
            status=_status(filters.form),
            title=f"预警 · {visible.listing.title}",
            listing=visible.listing,
            warnings=shown,
            total=total,
            filters=filters,
            **_choices(),
        )
