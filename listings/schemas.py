"""Wire shapes of the listing half of the API (msgspec; unknown fields are refused)."""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from core.categories import CATEGORY_NAMES_ZH as CATEGORY_NAMES_ZH
from core.categories import Category as Category

Fen = Annotated[int, Meta(ge=0, le=10**13)]
PositiveFen = Annotated[int, Meta(ge=1, le=10**13)]
Text200 = Annotated[str, Meta(min_length=1, max_length=200)]
Decimal = Annotated[str, Meta(pattern=r"^\d{1,9}(\.\d{1,4})?$")]

AreaUnit = Literal["mu", "square_meter", "hectare", "item"]
#: How an area unit is written, on the pages and in the contracts alike.
AREA_UNIT_NAMES_ZH: dict[str, str] = {
    "mu": "亩",
    "square_meter": "平方米",
    "hectare": "公顷",
    "item": "项",
}
PriceUnit = Literal["per_year", "per_mu_year", "per_month"]
#: How a price unit is written, on the pages and in the contracts alike.
PRICE_UNIT_NAMES_ZH: dict[str, str] = {
    "per_year": "元/年",
    "per_mu_year": "元/亩/年",
    "per_month": "元/月",
}
PaymentFrequency = Literal["annual", "semiannual", "quarterly", "monthly", "lump_sum"]
DocumentKind = Literal[
    "village_resolution", "ownership_proof", "appraisal", "priority_statement", "other", "photo"
]
#: How a document kind is named, on the pages and in the certificate alike.
DOCUMENT_KINDS_ZH: dict[str, str] = {
    "village_resolution": "村民（代表）会议决议（四议两公开）",
    "ownership_proof": "权属证明",
    "appraisal": "评估报告",
    "priority_statement": "优先权人声明",
    "other": "其他材料",
    "photo": "现场照片",
}


class Strict(Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Escalation(Strict, kw_only=True):
    """A rent rise every `every_years` years: `compound` on the previous period's annual rent
    (在上一期年租金基础上递增), or `simple`, the same share of the first year's each time."""

    every_years: Annotated[int, Meta(ge=1, le=30)]
    #: Percent as a whole number or a decimal string ("2.5"); never a float.
    percent: (
        Annotated[int, Meta(ge=0, le=100)] | Annotated[str, Meta(pattern=r"^\d{1,3}(\.\d{1,2})?$")]
    )

    kind: Literal["compound", "simple"] = "compound"

    def fraction(self) -> Fraction:
        return Fraction(self.percent)


class PriorityHolder(Strict, kw_only=True):
    """A holder of a priority right (优先权), e.g. the sitting tenant, named by ID number."""

    name: Annotated[str, Meta(min_length=1, max_length=100)]
    id_type: Literal["resident_id", "uscc"]
    id_number: Annotated[str, Meta(min_length=18, max_length=18)]


class Terms(Strict, kw_only=True):
    listing_price_fen: PositiveFen
    price_unit: PriceUnit = "per_year"
    area: Decimal | None = None
    term_years: Annotated[int, Meta(ge=1, le=70)]
    #: Months beyond the whole years (a term of 5 years 6 months: term_years 5, term_months 6).
    term_months: Annotated[int, Meta(ge=0, le=11)] = 0
    payment: PaymentFrequency = "annual"
    increment_fen: PositiveFen
    max_steps: Annotated[int, Meta(ge=1, le=100)] | None = None
    deposit_fen: Fen
    reserve_fen: Fen | None = None
    escalation: Escalation | None = None
    rent_free_months: Annotated[int, Meta(ge=0, le=120)] = 0
    priority_holders: list[PriorityHolder] = msgspec.field(default_factory=list)
    permitted_use: Annotated[str, Meta(max_length=500)] | None = None
    free_bidding_minutes: Annotated[int, Meta(ge=0, le=1440)] | None = None
    countdown_seconds: Annotated[int, Meta(ge=5, le=3600)] | None = None
    #: The appraised value, in the listing price's unit (评估价), where the asset was appraised.
    appraisal_fen: Fen | None = None
    #: Why the price is below the appraisal, or far below the previous listing's when
    #: relisted (required then: listings.rules.unexplained_price).
    price_reason: Annotated[str, Meta(max_length=500)] | None = None
    #: The day the lease starts (起租日), fixed at listing; None: the first of the month after
    #: the contract's signing deadline (contracts.content.lease_start_of). Checked at
    #: submission, acceptance and announcement (listings.rules.check_lease_start).
    lease_start: date | None = None
    #: 履约保证金 the winner pays the village after signing, apart from the bid deposit and
    #: never credited to rent (the contract's clause: contracts.clauses.performance_deposit).
    performance_deposit_fen: PositiveFen | None = None

    #: When the deal is voided (the winner defaults, an objection is upheld): offer it to the
    #: runner-up (候补) at their last accepted bid, or relist (docs/domain.md §6).
    on_default: Literal["runner_up", "relist"] = "relist"
    #: How the auction runs (竞价方式): `countdown`, free bidding then a countdown restarted by
    #: each bid; `fixed_end`, a bidding period of `duration_minutes` whose end a late bid
    #: moves (listings.rules.check_auction_variant says which fields each needs).
    auction_mode: Literal["countdown", "fixed_end"] = "countdown"
    duration_minutes: Annotated[int, Meta(ge=1, le=10080)] | None = None
    #: A bid with less than this left moves the end to this long after the bid (延时周期).
    extension_seconds: Annotated[int, Meta(ge=5, le=3600)] | None = None
    #: The latest end, in minutes after the start (最长延时); None: no cap.
    hard_cap_minutes: Annotated[int, Meta(ge=1, le=20160)] | None = None

    def __post_init__(self) -> None:
        if self.price_unit == "per_mu_year" and self.area is None:
            raise ValueError("per_mu_year pricing needs the area in mu (terms.area)")
        if self.rent_free_months >= self.term_years * 12 + self.term_months:
            raise ValueError("rent_free_months must be shorter than the term")

    def area_fraction(self) -> Fraction | None:
        return Fraction(self.area) if self.area is not None else None


MeetingKind = Literal["villagers_meeting", "representatives_meeting"]
MEETING_KINDS_ZH: dict[str, str] = {
    "villagers_meeting": "村民会议",
    "representatives_meeting": "村民代表会议",
}
Headcount = Annotated[int, Meta(ge=0, le=1_000_000)]


class Resolution(Strict, kw_only=True):
    """The village's decision to lease the asset, as its resolution records it: the last of
    the four deliberations (四议: 党支部提议、两委商议、党员大会审议、村民(代表)会议决议) and the
    first publicity (决议公开). Checked by `listings.resolution.check`."""

    meeting_kind: MeetingKind
    meeting_date: date
    #: Who is counted in `entitled` and `present`: persons (villagers aged 18 or over, or the
    #: representatives), or households (户代表, a villagers' meeting only).
    attendance_basis: Literal["persons", "households"] = "persons"
    entitled: Annotated[int, Meta(ge=1, le=1_000_000)]  # 应到
    present: Headcount  # 实到
    votes_for: Headcount
    votes_against: Headcount = 0
    abstentions: Headcount = 0
    #: The resolution's publicity (决议公示), first and last day.
    publicity_start: date
    publicity_end: date


class AnnouncedRules(Struct, kw_only=True, omit_defaults=True):
    """The exchange settings an announcement fixes for its listing (竞价须知), so that a later
    change of the settings never reaches a listing already announced. The listing's own terms
    override the first three. Names and meanings as in `core.settings.ExchangeSettings`."""

    max_steps: int
    free_bidding_minutes: int
    countdown_seconds: int
    reserve_used: bool
    self_outbid_allowed: bool
    first_bid_may_equal_start: bool
    min_qualified_bidders: int
    single_bidder_policy: str
    single_bidder_extension_working_days: int
    #: For the record: the announcement's timetable applied it. None for listings announced
    #: before the announcement recorded it.
    notice_period_working_days: int | None = None
    #: Fixed by announcements since result publicity and refund dates took effect.
    result_publicity_working_days: int | None = None
    refund_deadline_working_days: int | None = None
    #: Fixed by announcements since the announcement states the signing period; None for
    #: listings announced before (their contracts follow the settings of the day).
    contract_sign_deadline_working_days: int | None = None


class SiteVisit(Strict, kw_only=True):
    """Whom prospective bidders call to see the asset (看样、踏勘), as the announcement names
    them: published with the listing."""

    contact: Annotated[str, Meta(min_length=1, max_length=50)]
    #: A telephone number as people write it: digits, with spaces, +, - or brackets.
    phone: Annotated[str, Meta(pattern=r"^[0-9][0-9 ()+-]{4,23}$")]
    #: When and how, e.g. "工作日 9:00–17:00，请提前一天预约".
    note: Annotated[str, Meta(max_length=200)] = ""


class ListingCreate(Strict, kw_only=True):
    title: Text200
    category: Category
    location: Text200
    area: Decimal | None = None
    area_unit: AreaUnit | None = None
    description: Annotated[str, Meta(max_length=5000)] = ""
    terms: Terms
    #: The village's resolution; required at submission unless the category is exempt.
    resolution: Resolution | None = None
    #: Whom to call to see the asset; optional.
    site_visit: SiteVisit | None = None
    #: Staff may entrust on a village's behalf; village officials always act for their own.
    village_id: int | None = None


class ListingUpdate(Strict, kw_only=True):
    title: Text200 | UnsetType = UNSET
    category: Category | UnsetType = UNSET
    location: Text200 | UnsetType = UNSET
    area: Decimal | UnsetType | None = UNSET
    area_unit: AreaUnit | UnsetType | None = UNSET
    description: Annotated[str, Meta(max_length=5000)] | UnsetType = UNSET
    terms: Terms | UnsetType = UNSET
    resolution: Resolution | UnsetType | None = UNSET
    site_visit: SiteVisit | UnsetType | None = UNSET


class Empty(Strict):
    pass


class ReviewBody(Strict, kw_only=True):
    decision: Literal["accept", "return"]
    reason: Annotated[str, Meta(max_length=2000)] = ""


class AnnounceBody(Strict, kw_only=True):
    registration_closes_at: datetime
    auction_starts_at: datetime


class RegistrationBody(Strict, kw_only=True):
    """An application; `claim_priority` declares a priority right named in the announcement,
    to be proven by a `priority_proof` document before the reviewer decides."""

    claim_priority: bool = False


class RegistrationReviewBody(Strict, kw_only=True):
    decision: Literal["qualify", "reject"]
    reason: Annotated[str, Meta(max_length=2000)] = ""
    #: Required when qualifying a registration that claims a priority right.
    priority: Literal["confirm", "refuse"] | None = None


PayerAccount = Annotated[str, Meta(pattern=r"^[0-9A-Za-z-]{4,40}$")]


class PaymentCallback(Strict, kw_only=True):
    reference: Annotated[str, Meta(min_length=1, max_length=64)]
    amount_fen: PositiveFen
    bank_txn_id: Annotated[str, Meta(min_length=1, max_length=64)]
    paid_at: datetime
    #: The paying account, when the bank reports it (regulators look for shared accounts).
    payer_account: PayerAccount | None = None


class ManualDeposit(Strict, kw_only=True):
    """A reviewer confirms a deposit seen on the bank statement when no callback came."""

    amount_fen: PositiveFen
    bank_txn_id: Annotated[str, Meta(min_length=1, max_length=64)]
    paid_at: datetime
    payer_account: PayerAccount | None = None
    note: Annotated[str, Meta(max_length=500)] = ""


class DocumentOut(Struct):
    id: int
    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class ListingOut(Struct, omit_defaults=True):
    id: int
    state: str
    title: str
    category: str
    category_name: str
    location: str
    area: str | None
    area_unit: str | None
    description: str
    #: Without `reserve_fen` (a hidden term) and with priority holders masked for those who
    #: may not see hidden terms.
    terms: Terms
    village: str
    created_at: datetime
    #: The village's resolution: public with the listing (决议公开); absent if none was given.
    resolution: Resolution | None = None
    announced_at: datetime | None = None
    registration_closes_at: datetime | None = None
    auction_starts_at: datetime | None = None
    return_reason: str | None = None
    outcome: str | None = None
    relist_of: int | None = None
    #: The auction rules the announcement fixed (竞价须知); absent before announcement.
    rules: AnnouncedRules | None = None
    documents: list[DocumentOut] = msgspec.field(default_factory=list)
    #: Whom to call to see the asset (看样、踏勘); absent if the village named nobody.
    site_visit: SiteVisit | None = None


class ListingPage(Struct):
    items: list[ListingOut]


class BidderIdentity(Struct):
    """What staff see of an applicant while qualifying: name, masked ID, masked phone."""

    name: str
    id_type: str | None
    id_number: str | None
    phone: str | None


class RegistrationOut(Struct, omit_defaults=True):
    id: int
    listing_id: int
    state: str
    deposit_fen: int
    deposit_state: str
    payment_reference: str
    bidder_number: str | None = None
    priority_holder: bool = False
    #: claimed | confirmed | refused | lapsed; absent without a claim.
    priority_claim: str | None = None
    reason: str | None = None
    bidder: BidderIdentity | None = None
    documents: list[DocumentOut] = msgspec.field(default_factory=list)
    #: When a refundable deposit is due back (ISO), once it is refundable.
    refund_due_at: str | None = None
    #: The result publicity of the listing's deal: objections may be filed until then (ISO).
    publicity_ends_at: str | None = None


class RegistrationPage(Struct):
    items: list[RegistrationOut]


class PaymentAccepted(Struct):
    """A deposit payment applied; a refused one is answered as a `Problem` (422)."""

    status: Literal["accepted"]
    registration_id: int
    state: str
    deposit_state: str
