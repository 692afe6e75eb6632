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
from core.errors import Conflict, NotFound, PermissionDenied
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
    """What of a listing someone may ask to see: the announcement itself, and beyond it."""

    LISTING = "listing"  # the listing at all: public once announced
    REGISTRATION = "registration"  # one application: its bidder's, or as REGISTRATIONS
    DEAL = "deal"  # the deal as its parties see it (the winner named); once sold, public masked
    CONTRACT = "contract"  # the lease and its signatures: the parties and staff inside
    HIDDEN_TERMS = "hidden_terms"  # the reserve price, priority holders' full ID numbers
    DOCUMENTS = "documents"  # the files (ownership proof, resolution); their names are public
    #   (the asset's photos are part of the announcement: LISTING)
    REGISTRATION_COUNT = "registration_count"  # how many applied
    REGISTRATIONS = "registrations"  # the applications: states, deposits, payment references
    APPLICANTS = "applicants"  # who applied: names, masked IDs and phones
    IDENTITIES = "identities"  # which person holds which bidder number
    DOSSIERS = "dossiers"  # bidders' full ID numbers, phones, addresses and devices
    TIMELINE = "timeline"  # the listing's history from the log, with the staff who acted
    LEDGER_BUNDLE = "ledger_bundle"  # the log's entries with proofs, for offline checking


#: A bidder's own registration in these states opens the listing's documents to them: they
#: have paid the deposit (and wait for qualification) or are qualified. An application alone
#: is free and anonymous to make, so it opens nothing beyond the announcement.
DOCUMENTS_OPEN_TO = frozenset({"deposit_paid", "qualified"})

#: Staff who run the exchange's business (as opposed to overseeing it).
_EXCHANGE = frozenset({"reviewer", "admin"})
_STAFF = frozenset({"reviewer", "regulator", "admin"})
_OVERSIGHT = frozenset({"regulator", "admin"})


def acts_for(actor: Actor | None, village: Region) -> bool:
    """A village official of this village: the collective's side of every deal."""
    return actor is not None and actor.role == "village" and within(village, actor.region)


def is_inside(actor: Actor | None, village: Region | None) -> bool:
    """Staff whose jurisdiction holds `village` (None: a fact of the whole exchange, which only
    staff with the whole exchange as jurisdiction hold)."""
    return (
        actor is not None
        and actor.role in _STAFF
        and (within(village, actor.region) if village is not None else actor.region is None)
    )


def may_see(
    actor: Actor | None,
    facet: Facet,
    state: str,
    village: Region,
    *,
    owner: int | None = None,
    registration: str | None = None,
) -> bool:
    """Whether `actor` may see `facet` of a listing in `state` that belongs to `village`;
    `owner` is the user the object is about (a registration's bidder, a deal's winner);
    `registration` the state of the actor's own registration for this listing, if any."""
    phase = phase_of(state)
    inside = actor is not None and within(village, actor.region)
    staff = inside and actor is not None and actor.role in _STAFF
    own_village = acts_for(actor, village)
    overseer = inside and actor is not None and actor.role in _OVERSIGHT
    own = actor is not None and owner is not None and actor.role == "bidder" and actor.id == owner
    match facet:
        case Facet.LISTING:
            if phase is not Phase.PREPARATION:
                return True
            # A draft is the village's until submitted; reviewers see it from submission on.
            reviewer = staff and actor is not None and actor.role == "reviewer"
            return own_village or (staff and not reviewer) or (reviewer and state != "draft")
        case Facet.REGISTRATION:
            return own or may_see(actor, Facet.REGISTRATIONS, state, village)
        case Facet.DEAL | Facet.CONTRACT:
            return own or own_village or staff
        case Facet.HIDDEN_TERMS:
            return staff or own_village
        case Facet.DOCUMENTS:
            # Bidders who committed to the listing (paid its deposit) read what they bid for.
            committed = (
                actor is not None
                and actor.role == "bidder"
                and registration in DOCUMENTS_OPEN_TO
                and phase is not Phase.PREPARATION
            )
            return staff or own_village or committed
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


def require(
    actor: Actor | None,
    facet: Facet,
    state: str,
    village: Region,
    *,
    owner: int | None = None,
    registration: str | None = None,
) -> None:
    """`may_see`, or "not found": what one may not see is not disclosed to exist. Where an
    export is asked for by someone who will get it once the hammer falls, they are told so
    instead (409 `<facet>.sealed`)."""
    if may_see(actor, facet, state, village, owner=owner, registration=registration):
        return
    sealed = phase_of(state) in SEALED_PHASES
    if sealed and facet in _SEALED and may_see(actor, facet, "sold", village, owner=owner):
        raise Conflict(f"{facet.value}.sealed", _SEALED[facet])
    raise NotFound(f"{facet.value}.not_found", _NOT_FOUND[facet])


class Action(StrEnum):
    """What someone may do to a listing."""

    ENTRUST = "entrust"  # edit, attach, submit, withdraw, relist: the village's own
    DECIDE = "decide"  # review, announce, qualify, confirm deposits, pause: reviewers inside


def may_do(actor: Actor | None, action: Action, village: Region) -> bool:
    match action:
        case Action.ENTRUST:
            return acts_for(actor, village)
        case Action.DECIDE:
            return actor is not None and actor.role == "reviewer" and within(village, actor.region)
    raise AssertionError(action)


def require_to(actor: Actor, action: Action, village: Region) -> None:
    """`may_do`, or 403 naming why: the listing itself is visible to whoever asks this."""
    if may_do(actor, action, village):
        return
    if action is Action.ENTRUST:
        raise PermissionDenied("listing.not_your_village", "只能办理本村的委托事项")
    actor.require("reviewer")
    raise PermissionDenied("listing.outside_jurisdiction", "该项目不在您的管辖范围内")


_SEALED = {
    Facet.LEDGER_BUNDLE: "竞价结束前不导出该项目的交易日志包（其中记录可将竞买号与竞买人对应）",
}
_NOT_FOUND = {
    Facet.LISTING: "挂牌项目不存在",
    Facet.REGISTRATION: "报名记录不存在",
    Facet.DEAL: "该项目尚未成交",
    Facet.CONTRACT: "合同不存在",
    Facet.HIDDEN_TERMS: "挂牌项目不存在",
    Facet.DOCUMENTS: "材料不存在",
    Facet.REGISTRATION_COUNT: "挂牌项目不存在",
    Facet.REGISTRATIONS: "挂牌项目不存在",
    Facet.APPLICANTS: "挂牌项目不存在",
    Facet.IDENTITIES: "挂牌项目不存在",
    Facet.DOSSIERS: "挂牌项目不存在",
    Facet.TIMELINE: "挂牌项目不存在",
    Facet.LEDGER_BUNDLE: "交易日志包不存在",
}
