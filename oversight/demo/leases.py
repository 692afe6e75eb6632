"""The demo's leases: a contract for every deal with its rent items (the schedule the drafting
computes) and, once signed, payment histories up to today — most paid on time, some late,
some partly, some lessees stopping — so the income board and its charts show real shapes.

Written in chunks (items and payments of a few thousand leases at a time), so 100,000
listings never hold millions of rows in memory. The schedule is computed in integers
(`schedule`), equal to `contracts.content.schedule` (a unit test holds them equal) at a small
fraction of its cost over a county.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from contracts.content import first_of_next_month
from core.clock import CHINA_TZ, local_date
from core.money import round_half_up
from listings import economics
from listings.economics import add_months
from listings.schemas import Terms

#: Leases whose items and payments are written together.
CHUNK: Final = 2000
#: How a lessee pays: (profile, weight). Drawn per lease.
PROFILES: Final = (("prompt", 72), ("late", 13), ("partial", 8), ("stops", 7))
_PERIOD_MONTHS: Final = {"annual": 12, "semiannual": 6, "quarterly": 3, "monthly": 1}


def schedule(terms: Terms, final_fen: int) -> list[tuple[int, int, int]]:
    """(first month, last month, amount) of each installment — `economics.rent_schedule` in
    integer arithmetic: the running total of the months' rents is kept in twelfths of a fen
    and rounded half-up at each installment's end."""
    months = economics.lease_months(terms.term_years, terms.term_months)
    years = (months + 11) // 12
    escalation = economics.escalation_of(terms)
    base = economics.annual_rent_fen(final_fen, terms.price_unit, terms.area_fraction())
    if escalation is None:
        per_year = (round_half_up(base),) * years
    else:
        per_year = economics.yearly_rents(base, years, escalation)
    free = terms.rent_free_months
    full = [0]  # twelfths of a fen before each lease year
    for y, rent in enumerate(per_year):
        full.append(full[-1] + rent * max(0, 12 - max(free - 12 * y, 0)))
    period = months if terms.payment == "lump_sum" else _PERIOD_MONTHS[terms.payment]
    out, before = [], 0
    for first in range(1, months + 1, period):
        last = min(first + period - 1, months)
        y = (last - 1) // 12
        twelfths = full[y] + per_year[y] * max(0, last - max(12 * y, free))
        rounded = (2 * twelfths + 12) // 24  # half-up of twelfths / 12
        out.append((first, last, rounded - before))
        before = rounded
    return out


@dataclass
class Rows:
    contracts: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Leases:
    """The demo's leases, drawn from their own random stream (the market's stays as it was)."""

    rng: random.Random
    tag: str
    now: datetime
    ids: list[int]  # the next contract, item and payment ids, less one
    officials: dict[int, int]  # village id → its official's user id
    counts: dict[str, int] = field(default_factory=lambda: {"signed": 0, "drafted": 0})
    starts: dict[int, date] = field(default_factory=dict)  # listing id → lease start

    def assign(self, deals: list[dict[str, Any]]) -> None:
        """Give each deal its contract id (the deals are written before the contracts)."""
        for deal in deals:
            self.ids[0] += 1
            deal["contract_id"] = self.ids[0]

    def chunks(
        self,
        deals: list[dict[str, Any]],
        listings: dict[int, dict[str, Any]],
        winners: dict[int, tuple[int, int]],
    ) -> Iterator[Rows]:
        """Rows of `CHUNK` leases at a time; `winners`: registration id → (bidder, deposit)."""
        rows = Rows()
        for n, deal in enumerate(deals, start=1):
            self._lease(rows, deal, listings[deal["listing_id"]], winners[deal["registration_id"]])
            if n % CHUNK == 0:
                yield rows
                rows = Rows()
        if rows.contracts:
            yield rows

    def _lease(
        self,
        rows: Rows,
        deal: dict[str, Any],
        listing: dict[str, Any],
        winner: tuple[int, int],
    ) -> None:
        rng, now = self.rng, self.now
        terms: Terms = listing["terms"]
        drafted = deal["decided_at"] + timedelta(days=rng.randint(5, 8))
        signed = drafted + timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 8))
        is_signed = signed <= now
        start = first_of_next_month(local_date(signed))
        contract_id = deal["contract_id"]
        self.starts[listing["id"]] = start
        self.counts["signed" if is_signed else "drafted"] += 1
        rows.contracts.append(
            {
                "id": contract_id,
                "listing_id": listing["id"],
                "number": f"DM{self.tag}-{contract_id:08d}",
                "state": "signed" if is_signed else "drafted",
                "village_id": listing["village_id"],
                "winner_id": winner[0],
                "registration_id": deal["registration_id"],
                "data": {"synthetic": True},
                "template_version": "demo",
                "lease_start": start,
                "sign_deadline": drafted + timedelta(days=15),
                "render_at": deal["decided_at"].replace(microsecond=0),
                "drafted_at": drafted,
                "signed_at": signed if is_signed else None,
                "updated_at": signed if is_signed else drafted,
            }
        )
        profile = rng.choices([p for p, _ in PROFILES], [w for _, w in PROFILES])[0]
        today = local_date(now)
        stops = today - timedelta(days=rng.randint(30, 730))
        deposit = winner[1]
        for number, (first, last, amount) in enumerate(schedule(terms, deal["final_fen"]), 1):
            self.ids[1] += 1
            credited = min(deposit, amount)
            deposit -= credited
            due = add_months(start, first - 1)
            item = {
                "id": self.ids[1],
                "contract_id": contract_id,
                "listing_id": listing["id"],
                "number": number,
                "period_start": due,
                "period_end": add_months(start, last) - timedelta(days=1),
                "due_date": due,
                "amount_fen": amount,
                "credited_fen": credited,
                "paid_fen": 0,
                "state": "pending",
                "reference": None,
                "waived_reason": None,
            }
            rows.items.append(item)
            if not is_signed:
                continue
            owing = amount - credited
            item["state"] = "open" if owing > 0 else "settled"
            if owing > 0 and due <= today:
                self._history(rows, item, listing, profile, stops, today)

    def _history(
        self,
        rows: Rows,
        item: dict[str, Any],
        listing: dict[str, Any],
        profile: str,
        stops: date,
        today: date,
    ) -> None:
        """Payments of one item fallen due, as the lessee's profile has them."""
        rng, due = self.rng, item["due_date"]
        owing = item["amount_fen"] - item["credited_fen"]
        if (today - due).days < 1000 and rng.random() < 0.004:
            item["state"], item["waived_reason"] = "waived", "受灾减免（演示数据）"
            return
        if profile == "stops" and due >= stops:
            return
        if profile == "late" or rng.random() < 0.05:
            paid_on = due + timedelta(days=rng.randint(5, 150))
        else:
            paid_on = due - timedelta(days=rng.randint(0, 10))
        if paid_on > today:
            return
        part = owing
        if profile == "partial" or rng.random() < 0.02:
            part = owing * rng.randint(3, 9) // 10
        self._pay(rows, item, listing, part, paid_on)
        recent = (today - due).days < 400
        if part < owing and not recent:  # the rest, long after
            self._pay(rows, item, listing, owing - part, paid_on + timedelta(days=200))

    def _pay(
        self, rows: Rows, item: dict[str, Any], listing: dict[str, Any], fen: int, on: date
    ) -> None:
        self.ids[2] += 1
        at = datetime.combine(on, time(10, self.rng.randint(0, 59)), CHINA_TZ).astimezone(UTC)
        at = min(at, self.now)
        bank = self.rng.random() < 0.85
        rows.payments.append(
            {
                "id": self.ids[2],
                "rent_item_id": item["id"],
                "listing_id": listing["id"],
                "amount_fen": fen,
                "channel": "bank" if bank else "staff",
                "bank_txn_id": f"DM{self.tag}-P{self.ids[2]}" if bank else None,
                "receipt_number": None if bank else f"SJ{self.ids[2]:010d}",
                "receipt_sha256": None,
                "paid_at": at,
                "recorded_by": None if bank else self.officials.get(listing["village_id"]),
                "recorded_at": at,
            }
        )
        item["paid_fen"] += fen
        if item["paid_fen"] == item["amount_fen"] - item["credited_fen"]:
            item["state"] = "paid"
