"""What the documents say: the data a deal's PDFs are rendered from (pure; no IO, no clock).

Everything is formatted here, in Python, into strings: amounts in figures and in Chinese
capitals (大写), dates in Chinese, the rent schedule of every installment. The typst
templates only lay these strings out; they never evaluate them, so a listing title such as
`#import "x": *` is printed as it is (see `contracts.document`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from contracts.clauses import (
    FIXED_START_BASIS,
    PAYMENT_CLAUSES_ZH,
    deposit_text,
    dispute_clause,
    performance_deposit,
)
from core.clock import CHINA_TZ, deadline_zh, end_of_day
from core.ids import mask_id_number, mask_phone
from core.money import format_percent, format_yuan, yuan_in_words
from listings import economics, resolution
from listings.resolution import zh_date as zh_date
from listings.schemas import (
    AREA_UNIT_NAMES_ZH,
    CATEGORY_NAMES_ZH,
    DOCUMENT_KINDS_ZH,
    PRICE_UNIT_NAMES_ZH,
    Resolution,
    Terms,
)

#: Bumped whenever the templates or this data change in a way that alters rendered bytes.
#: The templates still render the data of earlier versions as they did (`.at(…, default:)`
#: for keys added since). 3: `performance_deposit`, `term.basis` (a lease start fixed in
#: the listing); the entrustment as accepted (`entrustment`), and the certificate's checks
#: from it. 4: the signing deadline written by `core.clock.deadline_zh` (…日24:00), as the
#: pages and notices write it.
TEMPLATE_VERSION = "4"

PLATFORM_NAME = "ruralx 农村产权流转交易平台"
ID_TYPES_ZH = {"resident_id": "居民身份证", "uscc": "统一社会信用代码"}
DEFAULT_USE = "符合法律法规及该资产规划用途的合法经营活动"
DEAL_KINDS_ZH = {
    "auction": "网络竞价",
    "agreement": "协议成交（仅一名合格竞买人）",
    "runner_up": "网络竞价（原竞得人成交撤销，候补竞买人递补成交）",
}


# --- formatting -----------------------------------------------------------------------------


def zh_datetime(dt: datetime) -> str:
    local = dt.astimezone(CHINA_TZ)
    return f"{zh_date(local.date())} {local:%H:%M:%S}（北京时间）"


def yuan(fen: int) -> str:
    return format_yuan(fen)


def percent_text(value: Fraction) -> str:
    """2.5 → "2.5", 5 → "5": a percent as the listing stated it (never a float)."""
    if value.denominator == 1:
        return str(value.numerator)
    return format_percent(value / 100, 2).rstrip("0").rstrip(".")


def first_of_next_month(d: date) -> date:
    return economics.add_months(date(d.year, d.month, 1), 1)


def lease_start_of(terms: Terms, sign_deadline: date) -> date:
    """The day the lease starts: the day fixed in the listing, kept even where it falls before
    the contract's signing deadline (the announced terms bind; the contract says so in
    `term.basis`), else the first of the month after the signing deadline."""
    return terms.lease_start or first_of_next_month(sign_deadline)


# --- the lease: dates, schedule and deposit credit -------------------------------------------


@dataclass(frozen=True, slots=True)
class Exchange:
    """The exchange as the documents name it (`ExchangeSettings.exchange_name`, …)."""

    name: str = "农村产权流转交易中心"
    address: str = ""
    arbitration_commission: str = ""
    seal_text: str = ""


@dataclass(frozen=True, slots=True)
class Item:
    """One rent payment of the lease as stored and printed."""

    number: int
    period_start: date
    period_end: date
    due_date: date
    amount_fen: int
    credited_fen: int

    @property
    def payable_fen(self) -> int:
        return self.amount_fen - self.credited_fen


def schedule(
    terms: Terms,
    final_fen: int,
    start: date,
    deposit_fen: int,
) -> tuple[Item, ...]:
    """Every installment over the term at the final price, the deposit credited from the first."""
    installments = economics.schedule_of(terms, final_fen)
    items, left = [], deposit_fen
    for inst in installments:
        credited = min(left, inst.amount_fen)
        left -= credited
        first, last = inst.months
        items.append(
            Item(
                number=inst.number,
                period_start=economics.add_months(start, first - 1),
                period_end=economics.add_months(start, last) - timedelta(days=1),
                due_date=economics.add_months(start, inst.due_month),
                amount_fen=inst.amount_fen,
                credited_fen=credited,
            )
        )
    return tuple(items)


# --- the document data ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Parties:
    village_name: str
    village_path: str
    village_agent: str
    winner_name: str
    winner_id_type: str | None
    winner_id_number: str | None
    winner_phone: str | None
    winner_number: str


@dataclass(frozen=True, slots=True)
class DealFacts:
    listing_id: int
    kind: str
    listing_fen: int
    final_fen: int
    rounds: int
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class Asset:
    title: str
    category: str
    location: str
    area: str | None
    area_unit: str | None
    description: str


@dataclass(frozen=True, slots=True)
class Entrustment:
    """What the village handed in with the entrustment the exchange accepted: its resolution's
    facts (None if none were given) and the kinds of the documents on file."""

    resolution: Resolution | None = None
    documents: tuple[str, ...] = ()


def entrustment_data(entrustment: Entrustment) -> dict[str, Any]:
    kinds = entrustment.documents
    counted = {kind: kinds.count(kind) for kind in dict.fromkeys(kinds)}
    return {
        "documents": "、".join(
            f"{DOCUMENT_KINDS_ZH.get(kind, kind)} {n} 份" for kind, n in counted.items()
        ),
        "resolution": resolution.describe(entrustment.resolution) if entrustment.resolution else "",
        "resolution_documents": str(counted.get("village_resolution", 0)),
    }


def numbers(listing_id: int, decided_at: datetime, edition: int = 1) -> dict[str, str]:
    """The documents' numbers. A listing's later deal (the runner-up's, after the first was
    voided with its contract kept on record) numbers its documents with `-edition`."""
    year = decided_at.astimezone(CHINA_TZ).year
    suffix = f"-{edition}" if edition > 1 else ""
    return {
        "contract": f"NCCQ-HT-{year}-{listing_id:06d}{suffix}",
        "confirmation": f"NCCQ-CJ-{year}-{listing_id:06d}{suffix}",
        "certificate": f"NCCQ-JZ-{year}-{listing_id:06d}{suffix}",
        "listing": f"NCCQ-GP-{listing_id:06d}",
    }


def contract_data(
    *,
    deal: DealFacts,
    parties: Parties,
    asset: Asset,
    terms: Terms,
    deposit_fen: int,
    lease_start: date,
    sign_deadline: date,
    exchange: Exchange | None = None,
    entrustment: Entrustment | None = None,
    edition: int = 1,
) -> dict[str, Any]:
    """The snapshot every document of this deal is rendered from (stored with the contract)."""
    exchange = exchange or Exchange()
    entrustment = entrustment or Entrustment()
    items = schedule(terms, deal.final_fen, lease_start, deposit_fen)
    total = sum(i.amount_fen for i in items)
    term_years = terms.term_years
    lease_end = economics.lease_end(lease_start, term_years, terms.term_months)
    unit = PRICE_UNIT_NAMES_ZH[terms.price_unit]
    escalation = economics.escalation_of(terms)
    rent_free = terms.rent_free_months
    income = economics.income_of(terms, deal.listing_fen, deal.final_fen)
    rate = economics.premium_rate(deal.listing_fen, deal.final_fen)
    ids = numbers(deal.listing_id, deal.decided_at, edition)
    id_type = parties.winner_id_type or "resident_id"
    area = f"{asset.area} {_area_unit_zh(asset.area_unit)}".strip() if asset.area else "—"
    credited_items = [i for i in items if i.credited_fen]
    first_payable = next((i for i in items if i.amount_fen), None)
    return {
        "version": TEMPLATE_VERSION,
        "numbers": ids,
        "exchange": {
            "name": exchange.name,
            "platform": PLATFORM_NAME,
            "address": exchange.address,
            "seal": exchange.seal_text or f"{exchange.name}（电子签章）",
        },
        "dispute": dispute_clause(asset.category, exchange.arbitration_commission),
        "entrustment": entrustment_data(entrustment),
        "village": {
            "name": parties.village_name,
            "region": "".join(parties.village_path.split("/")),
            "party": f"{parties.village_name}集体经济组织",
            "agent": parties.village_agent,
        },
        "winner": {
            "name": parties.winner_name,
            "id_label": ID_TYPES_ZH.get(id_type, id_type),
            "id_masked": mask_id_number(parties.winner_id_number)
            if parties.winner_id_number
            else "—",
            "phone_masked": mask_phone(parties.winner_phone) if parties.winner_phone else "—",
            "number": parties.winner_number,
        },
        "asset": {
            "title": asset.title,
            "category": CATEGORY_NAMES_ZH.get(asset.category, asset.category),
            "location": asset.location,
            "area": area,
            "description": asset.description or "—",
            "permitted_use": terms.permitted_use or DEFAULT_USE,
        },
        "deal": {
            "method": DEAL_KINDS_ZH.get(deal.kind, deal.kind),
            "rounds": str(deal.rounds),
            "decided_at": zh_datetime(deal.decided_at),
            "decided_on": zh_date(deal.decided_at.astimezone(CHINA_TZ).date()),
            "premium_rate": f"{format_percent(rate)}%",
        },
        "price": {
            "unit": unit,
            "listing": yuan(deal.listing_fen),
            "listing_words": yuan_in_words(deal.listing_fen),
            "final": yuan(deal.final_fen),
            "final_words": yuan_in_words(deal.final_fen),
        },
        "term": {
            "years": str(term_years),
            "length": f"{term_years} 年"
            + (f" {terms.term_months} 个月" if terms.term_months else ""),
            "start": zh_date(lease_start),
            "end": zh_date(lease_end),
            "payment": PAYMENT_CLAUSES_ZH[terms.payment],
            "basis": FIXED_START_BASIS if terms.lease_start is not None else None,
        },
        "escalation": (
            f"自第 {escalation.every_years + 1} 年起，每满 {escalation.every_years} 年，"
            f"年租金在{'上一期年租金' if escalation.compound else '首年租金'}基础上递增 "
            f"{percent_text(escalation.percent)}%（各年租金取整到分），"
            "各期租金以本合同租金支付计划表所列金额为准。"
            if escalation is not None and escalation.percent
            else "租赁期内租金不递增。"
        ),
        "rent_free": (
            f"自起租日起 {rent_free} 个月为免租期，免租期内不计收租金。"
            if rent_free
            else "本合同不设免租期。"
        ),
        "schedule": [
            {
                "no": str(i.number),
                "period": f"{zh_date(i.period_start)}至{zh_date(i.period_end)}",
                "due": zh_date(i.due_date),
                "amount": yuan(i.amount_fen),
                "note": (
                    "免租期"
                    if i.amount_fen == 0
                    else f"保证金抵 {yuan(i.credited_fen)} 元，实付 {yuan(i.payable_fen)} 元"
                    if i.credited_fen
                    else ""
                ),
            }
            for i in items
        ],
        "total": {"amount": yuan(total), "words": yuan_in_words(total)},
        "deposit": {
            "amount": yuan(deposit_fen),
            "words": yuan_in_words(deposit_fen),
            "text": deposit_text(deposit_fen, credited_items),
            "first_payable": yuan(first_payable.payable_fen) if first_payable else "0.00",
        },
        # Paid to the village apart from the bid deposit; never credited to rent.
        "performance_deposit": performance_deposit(terms.performance_deposit_fen),
        "income": {
            "premium_per_year": yuan(income.premium_per_year_fen),
            "premium_over_term": yuan(income.premium_over_term_fen),
            "contract_value": yuan(income.contract_value_fen),
            "contract_value_words": yuan_in_words(income.contract_value_fen),
        },
        "dates": {
            # As the pages and notices write it: the same words for the same moment.
            "sign_deadline": deadline_zh(end_of_day(sign_deadline)),
            "lease_start_iso": lease_start.isoformat(),
        },
    }


def strings_of(value: Any) -> list[str]:
    """Every string inside a JSON-like value (for the glyph check)."""
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return out


def _area_unit_zh(unit: str | None) -> str:
    return AREA_UNIT_NAMES_ZH.get(unit or "", unit or "")
