"""Wire shapes of the contracts half of the API: what each JSON answer carries (msgspec).

Field names and values are the public contract (docs/contracts.md). Times are ISO 8601
strings, money integer fen. A field typed `… | UnsetType` is left out of the answer when it
does not apply (it is never sent as null).
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, Struct, UnsetType

from contracts.models import RentItem
from listings.schemas import DocumentOut


class Out(Struct, kw_only=True):
    pass


# --- the deal ----------------------------------------------------------------------------------


class DealIncome(Out):
    premium_per_year_fen: int
    premium_over_term_fen: int
    contract_value_fen: int


class DealView(Out):
    listing_id: int
    state: str
    kind: str
    listing_fen: int
    final_fen: int
    price_unit: str
    term_years: int
    winner_number: str
    #: Masked for anyone but the parties and staff.
    winner_name: str
    rounds: int
    premium_rate: str
    #: The premium rate as an exact fraction "numerator/denominator".
    premium_rate_exact: str
    income: DealIncome
    decided_at: str
    contract_id: int | None
    #: publicity | confirmed | offered | voided (docs/domain.md §6)
    deal_state: str = "confirmed"
    #: The result publicity (成交公示) ends, and with it the window for objections (ISO).
    publicity_ends_at: str | None = None
    objections_close_at: str | None = None
    confirmed_at: str | None = None
    voided_at: str | None = None
    #: objection_upheld | default | offer_declined | offer_expired
    void_reason: str | None = None
    #: While offered to the runner-up: until when they may accept (ISO), at what price (their
    #: last accepted bid, fen) and to whom (their bidder number).
    offer_expires_at: str | None = None
    offer_fen: int | None = None
    offer_number: str | None = None
    #: Objections filed and still waiting for a reviewer's decision.
    objections_pending: int = 0
    #: 履约保证金 the winner pays the village after signing (the listing's terms), apart from
    #: the bid deposit and never credited to rent; None where the listing asks for none.
    performance_deposit_fen: int | None = None


# --- objections, defaults, the runner-up's offer ------------------------------------------------


class ObjectionView(Out):
    id: int
    listing_id: int
    registration_id: int
    #: filed | upheld | dismissed
    state: str
    reasons: str
    filed_at: str
    decided_at: str | None = None
    decision_reason: str | None = None
    #: The objector's bidder number, for staff once the auction is over.
    bidder_number: str | None = None
    #: The evidence the objector uploaded (POST /objections/{id}/documents); downloaded as
    #: their registration's documents.
    documents: list[DocumentOut] = msgspec.field(default_factory=list)


class ObjectionPage(Out):
    items: list[ObjectionView]


class DealChange(Out):
    """What a decision did to the deal: its new state, and the listing's."""

    listing_id: int
    deal_state: str
    listing_state: str
    #: The deposit forfeited by a defaulting winner, in fen (0 otherwise).
    forfeited_fen: int = 0
    #: offered (to the runner-up) | relisted (the listing may be entrusted again) | none
    next_step: str = "none"
    offer_expires_at: str | None = None


# --- the contract ------------------------------------------------------------------------------


class VillageParty(Out):
    name: str
    region: str
    agent: str


class WinnerParty(Out):
    name: str
    bidder_number: str
    #: Masked identity number.
    id_number: str | None


class ContractParties(Out):
    village: VillageParty
    winner: WinnerParty


class SignatureView(Out):
    role: str
    signer: str
    signed_at: str
    field: str
    certificate_sha256: str
    signed_sha256: str
    document_sha256: str


class CertificateInfo(Out):
    number: str | None
    sha256: str
    certified_at: str | None


class RentItemView(Out, kw_only=True):
    number: int
    #: Only in the contract's view (the settlement lists due dates).
    period_start: str | UnsetType = UNSET
    period_end: str | UnsetType = UNSET
    due_date: str
    amount_fen: int
    credited_fen: int
    payable_fen: int
    state: str


def rent_item_view(item: RentItem, *, periods: bool) -> RentItemView:
    return RentItemView(
        number=item.number,
        period_start=item.period_start.isoformat() if periods else UNSET,
        period_end=item.period_end.isoformat() if periods else UNSET,
        due_date=item.due_date.isoformat(),
        amount_fen=item.amount_fen,
        credited_fen=item.credited_fen,
        payable_fen=item.amount_fen - item.credited_fen,
        state=item.state,
    )


class ContractView(Out):
    id: int
    listing_id: int
    number: str
    state: str
    #: village | winner | None (both signed)
    next_signer: str | None
    #: village | winner | staff
    your_role: str
    parties: ContractParties
    final_fen: int
    lease_start: str
    sign_deadline: str
    overdue: bool
    pdf_sha256: str
    signatures: list[SignatureView]
    certificate: CertificateInfo | None
    rent_items: list[RentItemView]
    contract_value_fen: int
    drafted_at: str
    signed_at: str | None


class SignerCertificate(Out):
    subject: str
    serial: str
    sha256: str


class Signed(Out):
    id: int
    state: str
    role: str
    #: The exact PDF that was signed.
    signed_sha256: str
    #: The PDF after the signature.
    document_sha256: str
    signed_at: str
    certificate: SignerCertificate


class Certified(Out):
    id: int
    state: str
    certificate_number: str
    certificate_sha256: str


# --- the signature report ----------------------------------------------------------------------


class TimestampCheck(Out):
    at: str | None
    intact: bool
    valid: bool
    trusted: bool
    tsa: str


class SignatureCheck(Out, kw_only=True):
    """One signature or document timestamp; after an `error` only what was learnt before."""

    field: str
    #: signature | document_timestamp
    kind: str
    signer: str | UnsetType = UNSET
    signer_serial_number: str | UnsetType | None = UNSET
    certificate_sha256: str | UnsetType = UNSET
    signed_at: str | UnsetType | None = UNSET
    claimed_at: str | UnsetType | None = UNSET
    timestamp: TimestampCheck | UnsetType | None = UNSET
    intact: bool
    trusted: bool
    coverage: str | UnsetType | None = UNSET
    modification_level: str | UnsetType | None = UNSET
    docmdp_ok: bool | UnsetType | None = UNSET
    certifying: bool | UnsetType = UNSET
    docmdp_permission: str | UnsetType | None = UNSET
    ades: str | UnsetType = UNSET
    valid: bool
    error: str | UnsetType = UNSET


class Report(Out, kw_only=True):
    """The signature report of one PDF (`contracts.verify`)."""

    valid: bool
    complete: bool
    signatures: list[SignatureCheck]
    unsigned_fields: list[str]
    #: Only when the file could not be read as a PDF.
    error: str | UnsetType = UNSET
    validated_at: str | UnsetType | None = UNSET


class CertificateReport(Report, kw_only=True):
    sha256: str


class Verification(Report, kw_only=True):
    contract_id: int
    state: str
    document_sha256: str
    #: Only once the contract is certified: the report of the 交易鉴证书.
    certificate: CertificateReport | UnsetType = UNSET


# --- settlement --------------------------------------------------------------------------------


class Refunded(Out):
    registration_id: int
    amount_fen: int


class RefundsConfirmed(Out):
    listing_id: int
    bank_batch: str
    refunded: list[Refunded]
    count: int
    total_fen: int


class DepositLine(Out):
    registration_id: int
    #: None where the caller may not see whose number is whose.
    bidder_number: str | None
    deposit_fen: int
    deposit_state: str


class SettlementAccount(Out):
    listing_id: int
    deposits: list[DepositLine]
    paid_fen: int
    refunded_fen: int
    credited_fen: int
    forfeited_fen: int
    held_fen: int
    ledger_balance_fen: int
    balanced: bool
    rent_items: list[RentItemView]


# --- the platform CA ---------------------------------------------------------------------------


class Revocation(Out):
    id: int
    serial: str
    revoked_at: str
