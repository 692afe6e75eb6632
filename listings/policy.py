"""Who may see what of a listing: the one place that decides (docs/security.md).

Every controller, page and export that shows more of a listing than its public facts asks
`may_see` (or `require`, which answers "not found" rather than disclose). The answer depends
on the actor's role, their jurisdiction (staff see the listings of their region only; an
administrator's is the whole exchange), whether they act for the listing's village, and the
listing's phase. Pure: no IO, no clock.
"""

from __future__ import annotations

from enum import StrEnum

from core.accounts import Actor, Region, within
from core.errors import NotFound
from listings.rules import ListingState


class Phase(StrEnum):
    """The listing's phase as far as disclosure goes."""

    PREPARATION = "preparation"  # drafted, under review, accepted, withdrawn: not yet public
    REGISTRATION = "registration"  # announced: registration open
    SEALED = "sealed"  # registration closed, the auction scheduled or running
    ENDED = "ended"  # sold or failed: the hammer has fallen


_PHASES = {
    ListingState.DRAFT: Phase.PREPARATION,
    ListingState.SUBMITTED: Phase.PREPARATION,
    ListingState.RETURNED: Phase.PREPARATION,
    ListingState.ACCEPTED: Phase.PREPARATION,
    ListingState.WITHDRAWN: Phase.PREPARATION,
    ListingState.ANNOUNCED: Phase.REGISTRATION,
    ListingState.AUCTION: Phase.SEALED,
    ListingState.SOLD: Phase.ENDED,
    ListingState.FAILED: Phase.ENDED,
}


#: From the first bidder number until the hammer: the phases in which numbers are sealed.
SEALED_PHASES = frozenset({Phase.REGISTRATION, Phase.SEALED})


#: Log entries that show, one by one, that someone applied: a count while registration is open.
REGISTRATION_ENTRIES = frozenset(
    {
        "registration.applied",
        "registration.proof_added",
        "deposit.paid",
        "payment.rejected",
        "registration.qualified",
        "registration.rejected",
        "deposit.refundable",
        "deposit.refunded",
    }
)


#: Keys of log payloads and warning evidence that, beside the registrations list (which names
#: applicants by registration), tie a bidder number to a person.
LINKING_KEYS = frozenset({"bidder_id", "registration_id", "payment_id", "user_id"})


def phase_of(state: str) -> Phase:
    return _PHASES[ListingState(state)]


class Facet(StrEnum):
    """What of a listing beyond its public announcement someone may ask to see."""

    HIDDEN_TERMS = "hidden_terms"  # the reserve price, priority holders' full ID numbers
    DOCUMENTS = "documents"  # the files (ownership proof, resolution); their names are public
    REGISTRATION_COUNT = "registration_count"  # how many applied
    REGISTRATIONS = "registrations"  # the applications: states, deposits, payment references
    APPLICANTS = "applicants"  # who applied: names, masked IDs and phones
    IDENTITIES = "identities"  # which person holds which bidder number
    DOSSIERS = "dossiers"  # bidders' full ID numbers, phones, addresses and devices
    TIMELINE = "timeline"  # the listing's history from the log, with the staff who acted
    LEDGER_BUNDLE = "ledger_bundle"  # the log's entries with proofs, for offline checking


#: Staff who run the exchange's business (as opposed to overseeing it).
_EXCHANGE = frozenset({"reviewer", "admin"})
_STAFF = frozenset({"reviewer", "regulator", "admin"})
_OVERSIGHT = frozenset({"regulator", "admin"})


def may_see(actor: Actor | None, facet: Facet, state: str, village: Region) -> bool:
    """Whether `actor` may see `facet` of a listing in `state` that belongs to `village`."""
    phase = phase_of(state)
    inside = actor is not None and within(village, actor.region)
    staff = inside and actor is not None and actor.role in _STAFF
    own_village = inside and actor is not None and actor.role == "village"
    overseer = inside and actor is not None and actor.role in _OVERSIGHT
    match facet:
        case Facet.HIDDEN_TERMS | Facet.DOCUMENTS:
            return staff or own_village
        case Facet.REGISTRATION_COUNT:
            # While registration is open a count tells rivals (and colluders) how many to beat.
            exchange = inside and actor is not None and actor.role in _EXCHANGE
            return exchange or phase in (Phase.SEALED, Phase.ENDED)
        case Facet.REGISTRATIONS:
            # The list is a count: regulators too see it only once registration has closed.
            exchange = inside and actor is not None and actor.role in _EXCHANGE
            return exchange or (staff and phase in (Phase.SEALED, Phase.ENDED))
        case Facet.TIMELINE:
            return staff
        case Facet.APPLICANTS:
            # Needed to qualify them; once the auction is set, names could only help to
            # guess numbers (with few bidders), so they rest until the hammer.
            return may_see(actor, Facet.REGISTRATIONS, state, village) and phase is not Phase.SEALED
        case Facet.IDENTITIES:
            # Sealed from qualification until the hammer: nobody can tie a number to a person.
            return staff and phase is Phase.ENDED
        case Facet.DOSSIERS:
            # What oversight needs to find collusion, for oversight only, after the end.
            return overseer and phase is Phase.ENDED
        case Facet.LEDGER_BUNDLE:
            # Entries name the users who acted; withheld while bidder numbers are in play.
            return overseer and phase not in SEALED_PHASES
    raise AssertionError(facet)


def require(actor: Actor | None, facet: Facet, state: str, village: Region) -> None:
    """`may_see`, or "not found": what one may not see is not disclosed to exist."""
    if not may_see(actor, facet, state, village):
        raise NotFound(f"{facet.value}.not_found", _NOT_FOUND[facet])


_NOT_FOUND = {
    Facet.HIDDEN_TERMS: "挂牌项目不存在",
    Facet.DOCUMENTS: "材料不存在",
    Facet.REGISTRATION_COUNT: "挂牌项目不存在",
    Facet.REGISTRATIONS: "挂牌项目不存在",
    Facet.APPLICANTS: "挂牌项目不存在",
    Facet.IDENTITIES: "挂牌项目不存在",
    Facet.DOSSIERS: "挂牌项目不存在",
    Facet.TIMELINE: "挂牌项目不存在",
    Facet.LEDGER_BUNDLE: "该项目的交易日志包暂不可导出：竞价结束后方可导出",
}
