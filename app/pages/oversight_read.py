"""What the regulator's pages read besides the dashboard: their filters (query parameters, so
they work without script), warnings as sentences with their listing's title and who
acknowledged them, and a listing's timeline narrowed by type, phase and date."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.pages.forms import Form, date_field, page_number
from app.pages.labels import LEDGER_TYPES_ZH, ROLES_ZH, TIMELINE_PHASES, phase_of_entry
from app.pages.warning_text import Context, listing_link, sentences
from core.accounts import Actor, Region, users_by_id
from core.clock import CHINA_TZ
from listings import Listing, Registration, policy
from listings.policy import Facet
from listings.rules import STATE_NAMES_ZH
from oversight import warnings
from oversight.models import WarningRow
from oversight.warnings.findings import KIND_NAMES_ZH, SEVERITY, SEVERITY_NAMES_ZH

#: The states of a warning, as its filter offers them ("" = every state).
WARNING_STATES_ZH = {"open": "未处理", "acknowledged": "已处理"}
LISTING_STATES_ZH = {state.value: name for state, name in STATE_NAMES_ZH.items()}
BID_OUTCOMES_ZH = {"accepted": "有效", "rejected": "被拒绝"}


# ----- filters ---------------------------------------------------------------------------


def _text(values: Mapping[str, Any], name: str) -> str:
    return str(values.get(name) or "").strip()


def _choice(form: Form, name: str, choices: Mapping[str, str], label: str) -> str:
    value = str(form.values.get(name) or "")
    if value and value not in choices:
        form.error(name, f"请从列表中选择{label}", "filter.choice")
        return ""
    return value


def _day_bounds(form: Form) -> tuple[datetime | None, datetime | None]:
    """The period of the `from` and `to` dates (Beijing days, both included) as
    [start, end) moments; a bad date is an error next to its field and no bound."""
    days: list[date | None] = []
    for name, label in (("from", "起始日期"), ("to", "截止日期")):
        days.append(date_field(form, name, label) if form.values.get(name) else None)
    first, last = days
    if first and last and last < first:
        form.error("to", "截止日期不能早于起始日期", "filter.period")
        return None, None
    start = datetime.combine(first, time(0), tzinfo=CHINA_TZ) if first else None
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=CHINA_TZ) if last else None
    return start, end


@dataclass
class Filters:
    """A page's filter form: the values as typed, their errors, and the query string that
    keeps them (for links that page through or export the same rows)."""

    form: Form = field(default_factory=Form)

    def value(self, name: str) -> str:
        return str(self.form.values.get(name) or "")

    @property
    def active(self) -> bool:
        return any(v for k, v in self.form.values.items() if k != "page")

    def query(self, **changed: Any) -> str:
        pairs = {**self.form.values, **changed}
        return urlencode({k: v for k, v in pairs.items() if v not in ("", None)})


@dataclass
class WarningFilters(Filters):
    kinds: list[str] | None = None
    state: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    region: str | None = None

    @classmethod
    def parse(cls, values: Mapping[str, Any], *, state: str = "open") -> WarningFilters:
        """kind, severity, state (`open` unless given; `all` = every state), region, from,
        to (the day detected)."""
        names = ("kind", "severity", "state", "region", "from", "to")
        form = Form(values={k: _text(values, k) for k in names})
        form.values["state"] = form.values["state"] or state
        kind = _choice(form, "kind", KIND_NAMES_ZH, "预警类型")
        severity = _choice(form, "severity", SEVERITY_NAMES_ZH, "风险等级")
        chosen = _choice(form, "state", {**WARNING_STATES_ZH, "all": "全部"}, "处理状态")
        kinds = None
        if kind or severity:
            kinds = [
                k
                for k in KIND_NAMES_ZH
                if k == (kind or k) and SEVERITY[k] == (severity or SEVERITY[k])
            ]
        start, end = _day_bounds(form)
        return cls(
            form,
            kinds=kinds,
            state=None if chosen in ("all", "") else chosen,
            start=start,
            end=end,
            region=form.values["region"].strip("/") or None,
        )

    async def search(
        self,
        session: AsyncSession,
        who: Actor,
        *,
        listing_id: int | None = None,
        limit: int,
        offset: int = 0,
    ) -> tuple[list[WarningRow], int]:
        """The warnings these filters select (of one listing, or of the filtered region)."""
        return await warnings.search(
            session,
            who,
            kind=None,
            kinds=self.kinds,
            state=self.state,
            listing_id=listing_id,
            region=None if listing_id is not None else self.region,
            detected_from=self.start,
            detected_before=self.end,
            limit=limit,
            offset=offset,
        )


@dataclass
class TimelineFilters(Filters):
    types: set[str] | None = None
    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> TimelineFilters:
        """type (an entry type), phase (TIMELINE_PHASES), from, to (Beijing days)."""
        form = Form(values={k: _text(values, k) for k in ("type", "phase", "from", "to")})
        entry_type = _choice(form, "type", LEDGER_TYPES_ZH, "事件类型")
        phase = _choice(form, "phase", TIMELINE_PHASES, "阶段")
        types = None
        if entry_type or phase:
            types = {
                t
                for t in LEDGER_TYPES_ZH
                if t == (entry_type or t) and phase_of_entry(t) == (phase or phase_of_entry(t))
            }
        start, end = _day_bounds(form)
        return cls(form, types=types, start=start, end=end)

    def apply(self, entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            e
            for e in entries
            if (self.types is None or e["type"] in self.types)
            and (self.start is None or e["at"] >= self.start)
            and (self.end is None or e["at"] < self.end)
        ]


@dataclass
class LadderFilters(Filters):
    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> LadderFilters:
        """outcome (accepted, rejected), bidder (a bidder number)."""
        form = Form(values={k: _text(values, k) for k in ("outcome", "bidder")})
        _choice(form, "outcome", BID_OUTCOMES_ZH, "出价结果")
        return cls(form)

    def apply(self, bids: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        outcome, bidder = self.value("outcome"), self.value("bidder")
        return [
            b
            for b in bids
            if (not outcome or b["outcome"] == outcome)
            and (not bidder or (b.get("bidder_number") or "") == bidder)
        ]


@dataclass
class ListingFilters(Filters):
    page: int = 1

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> ListingFilters:
        """region (a path), state (a listing state), warnings (1: with open warnings only)."""
        form = Form(values={k: _text(values, k) for k in ("region", "state", "warnings")})
        _choice(form, "state", LISTING_STATES_ZH, "项目状态")
        if form.values["warnings"] not in ("", "1"):
            form.values["warnings"] = ""
        return cls(form, page=page_number(values.get("page")))


# ----- warnings as the pages show them -------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShownWarning:
    id: int
    kind: str
    kind_name: str
    severity: str
    severity_name: str
    listing_id: int | None
    listing: Markup
    state: str
    detected_at: str
    updated_at: str
    sentences: list[Markup]
    acknowledged_by: str | None
    acknowledged_at: str | None
    note: str | None

    @property
    def open(self) -> bool:
        return self.state == "open"


def _listings_cited(row: WarningRow) -> set[int]:
    ids = {row.listing_id} if row.listing_id is not None else set()
    for step in (row.evidence or {}).get("chain") or ():
        if isinstance(step, dict) and isinstance(step.get("listing_id"), int):
            ids.add(step["listing_id"])
    return ids


async def _contexts(
    session: AsyncSession, who: Actor, rows: Sequence[WarningRow]
) -> dict[int | None, Context]:
    """Per listing: the titles the viewer may open, and — where the policy lets them tie a
    number to a person — the bidders' names by number."""
    cited = set().union(*(_listings_cited(r) for r in rows)) if rows else set()
    facts: dict[int, tuple[Listing, Region]] = {}
    if cited:
        found = await session.execute(
            select(Listing, Region)
            .join(Region, Region.id == Listing.village_id)
            .where(Listing.id.in_(sorted(cited)))
        )
        facts = {row[0].id: (row[0], row[1]) for row in found}
    titles = {
        i: listing.title
        for i, (listing, region) in facts.items()
        if policy.may_see(who, Facet.TIMELINE, listing.state, region)
    }
    named = [
        i
        for i, (listing, region) in facts.items()
        if policy.may_see(who, Facet.IDENTITIES, listing.state, region)
    ]
    people: dict[int, dict[str, str]] = {}
    if named:
        registrations = list(
            await session.scalars(
                select(Registration).where(
                    Registration.listing_id.in_(named), Registration.bidder_number.is_not(None)
                )
            )
        )
        users = await users_by_id(session, (r.bidder_id for r in registrations))
        for r in registrations:
            user = users.get(r.bidder_id)
            if user is not None and r.bidder_number:
                people.setdefault(r.listing_id, {})[r.bidder_number] = user.display_name
    out: dict[int | None, Context] = {None: Context(titles)}
    for i, (listing, region) in facts.items():
        dossiers = policy.may_see(who, Facet.DOSSIERS, listing.state, region)
        out[i] = Context(titles, people.get(i, {}), dossiers)
    return out


async def shown_warnings(
    session: AsyncSession, who: Actor, rows: Sequence[WarningRow]
) -> list[ShownWarning]:
    """Warnings as the pages show them: evidence sealed as the API seals it
    (oversight.warnings.views), said in sentences, with who acknowledged each."""
    views = await warnings.views(session, who, rows)
    contexts = await _contexts(session, who, rows)
    staff = await users_by_id(session, (r.acknowledged_by for r in rows if r.acknowledged_by))
    out = []
    for view in views:
        ctx = contexts.get(view["listing_id"], contexts[None])
        by = staff.get(view["acknowledged_by"]) if view["acknowledged_by"] else None
        out.append(
            ShownWarning(
                id=view["id"],
                kind=view["kind"],
                kind_name=view["kind_name"],
                severity=SEVERITY.get(view["kind"], "medium"),
                severity_name=SEVERITY_NAMES_ZH[SEVERITY.get(view["kind"], "medium")],
                listing_id=view["listing_id"],
                listing=listing_link(view["listing_id"], ctx),
                state=view["state"],
                detected_at=view["detected_at"],
                updated_at=view["updated_at"],
                sentences=sentences(view["kind"], view["evidence"] or {}, ctx),
                acknowledged_by=(
                    f"{ROLES_ZH.get(by.role, by.role)} {by.display_name}" if by else None
                ),
                acknowledged_at=view["acknowledged_at"],
                note=view["note"],
            )
        )
    return out
