"""The demo's market: N listings over the last five years with their registrations, deals
and facts — most sold (by auction, some by agreement with a single bidder), some failed and
relisted, the most recent still open; a few planted shared IPs, devices and phones."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.accounts import Region
from core.clock import local_date
from listings.schemas import CATEGORY_NAMES_ZH
from oversight.demo.county import CATEGORIES, device, resolution_of, terms_of
from oversight.demo.people import People
from oversight.stats import listing_facts


@dataclass
class Market:
    listings: list[dict[str, Any]]
    registrations: list[dict[str, Any]]
    deals: list[dict[str, Any]]
    fact_rows: list[dict[str, Any]]


def market(
    rng: random.Random,
    tag: str,
    count: int,
    now: datetime,
    who: People,
    regions: dict[str, Region],
    ancestors: dict[str, dict[str, int | None]],
    ids: tuple[int, int],
) -> Market:
    """`count` listings with ids after ids[0], their registrations with ids after ids[1]."""
    listing_id, registration_id = ids
    village_paths = list(regions)
    bidders, officials, phones = who.bidders, who.officials, who.phones
    id_types = dict(bidders)
    listings: list[dict[str, Any]] = []
    registrations: list[dict[str, Any]] = []
    deals: list[dict[str, Any]] = []
    fact_rows: list[dict[str, Any]] = []
    weights = [c[1] for c in CATEGORIES]
    relist: dict[str, Any] | None = None
    span = timedelta(days=5 * 365)
    for _ in range(count):
        listing_id += 1
        if relist is not None:
            path, category, terms, previous, decided = (
                relist["path"],
                relist["category"],
                relist["terms"],
                relist["id"],
                relist["resolution"],
            )
            announced = relist["announced"] + timedelta(days=rng.randint(30, 60))
            relist = None
        else:
            path = rng.choice(village_paths)
            category = rng.choices(CATEGORIES, weights)[0]
            terms = terms_of(rng, category)
            previous = None
            announced = now - span + timedelta(seconds=rng.randint(0, int(span.total_seconds())))
            # Drawn apart from `rng`, so the market's other draws stay as they were.
            ballot = random.Random(listing_id)
            decided = resolution_of(ballot, category[0], local_date(min(announced, now)))
        category_code = category[0]
        announced = min(announced, now - timedelta(hours=1))
        closes = announced + timedelta(days=10)
        open_ = closes > now
        roll = rng.random()
        if open_:
            state, outcome, bidders_n = "announced", None, rng.randint(0, 3)
        elif roll < 0.72:
            state, outcome, bidders_n = "sold", "auction", rng.randint(2, 6)
        elif roll < 0.80:
            state, outcome, bidders_n = "sold", "agreement", 1
        else:
            state, bidders_n = "failed", 0
            outcome = rng.choices(["no_bidders", "too_few_bidders"], [3, 1])[0]
            if outcome == "too_few_bidders":
                bidders_n = 1
            if rng.random() < 0.35:
                relist = {
                    "path": path,
                    "category": category,
                    "terms": terms,
                    "id": listing_id,
                    "announced": announced,
                    "resolution": decided,
                }
        listings.append(
            {
                "id": listing_id,
                "village_id": regions[path].id,
                "created_by": officials[path],
                "title": f"{path.rsplit('/', 1)[1]}{CATEGORY_NAMES_ZH[category_code]}流转",
                "category": category_code,
                "location": path.rsplit("/", 2)[1],
                "area": terms.area,
                "area_unit": "mu" if terms.area else None,
                "description": "演示数据",
                "terms": terms,
                "resolution": decided,
                "state": state,
                "announced_at": announced,
                "registration_closes_at": closes,
                "auction_starts_at": closes + timedelta(days=1),
                "registration_extended": False,
                "outcome": outcome,
                "relist_of": previous,
                "created_at": announced - timedelta(days=3),
                "updated_at": min(now, closes),
            }
        )
        chosen = rng.sample(bidders, bidders_n)
        shared_ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        plant = rng.random() if bidders_n >= 2 else 1.0
        regs = []
        for number, (bidder_id, _) in enumerate(chosen, start=1):
            registration_id += 1
            ip = (
                shared_ip
                if plant < 0.01
                else f"{rng.randint(27, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
                f"{rng.randint(1, 254)}"
            )
            regs.append(
                {
                    "id": registration_id,
                    "listing_id": listing_id,
                    "bidder_id": bidder_id,
                    "state": "qualified",
                    "deposit_fen": terms.deposit_fen,
                    "deposit_state": "refunded",
                    "payment_reference": f"DM{tag}{registration_id:010d}",
                    "bidder_number": f"{number:03d}",
                    "priority_holder": False,
                    "reason": None,
                    "ip": ip,
                    "user_agent": device(rng),
                    "created_at": announced + timedelta(days=2),
                    "decided_at": announced + timedelta(days=3),
                    "decided_by": None,
                }
            )
        if 0.01 <= plant < 0.015:
            regs[1]["user_agent"] = regs[0]["user_agent"]
        if 0.015 <= plant < 0.018:
            phones[regs[1]["bidder_id"]] = phones[regs[0]["bidder_id"]]  # one family
        registrations.extend(regs)
        deal = None
        if state == "sold":
            winner = regs[-1]
            winner["deposit_state"] = "credited_to_rent"
            steps = 0 if outcome == "agreement" else max(1, int(rng.expovariate(1 / 12)))
            final = terms.listing_price_fen + steps * terms.increment_fen
            decided = closes + timedelta(days=1, hours=rng.randint(0, 3))
            deal = (terms.listing_price_fen, final, decided)
            deals.append(
                {
                    "listing_id": listing_id,
                    "kind": outcome,
                    "registration_id": winner["id"],
                    "winner_number": winner["bidder_number"],
                    "listing_fen": terms.listing_price_fen,
                    "final_fen": final,
                    "rounds": steps,
                    "decided_at": decided,
                    "contract_id": None,
                }
            )
        fact_rows.append(
            listing_facts.fact_values(
                listing_id=listing_id,
                state=state,
                category=category_code,
                terms=terms,
                announced_at=announced,
                village_id=regions[path].id,
                village_path=path,
                ancestors=ancestors[path],
                deal=deal,
                buyer_id_type=id_types[regs[-1]["bidder_id"]] if deal else None,
                now=now,
            )
        )
    return Market(listings, registrations, deals, fact_rows)
