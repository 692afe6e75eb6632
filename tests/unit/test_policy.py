"""The disclosure policy (listings/policy.py, docs/security.md): its table, and the properties
that must hold for every role, region, phase and facet."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.accounts import Actor, Region, User
from core.errors import Conflict, NotFound
from listings.policy import (
    SEALED_PHASES,
    Action,
    Facet,
    Phase,
    may_do,
    may_see,
    phase_of,
    require,
)
from listings.rules import ListingState

TOWN = "福建省/泉州市/泉州台商投资区/洛阳镇"
VILLAGE = Region(path=f"{TOWN}/杏田村", name="杏田村", level="village")
OTHER_TOWN = Region(path="福建省/泉州市/泉州台商投资区/张坂镇", name="张坂镇", level="town")
OWN_TOWN = Region(path=TOWN, name="洛阳镇", level="town")
OTHER_VILLAGE = Region(path=f"{TOWN}/后坑村", name="后坑村", level="village")


def actor(role: str, region: Region | None) -> Actor:
    return Actor(User(id=1, username=role, role=role, display_name=role), region)


ACTORS = {
    "anonymous": None,
    "bidder": actor("bidder", None),
    "own village": actor("village", VILLAGE),
    "other village": actor("village", OTHER_VILLAGE),
    "reviewer inside": actor("reviewer", OWN_TOWN),
    "reviewer outside": actor("reviewer", OTHER_TOWN),
    "regulator inside": actor("regulator", OWN_TOWN),
    "regulator outside": actor("regulator", OTHER_TOWN),
    "admin": actor("admin", None),
}
OUTSIDERS = ("anonymous", "bidder", "other village", "reviewer outside", "regulator outside")
STATE_OF = {
    Phase.PREPARATION: "accepted",
    Phase.REGISTRATION: "announced",
    Phase.SEALED: "auction",
    Phase.ENDED: "sold",
}


def sees(who: str, facet: Facet, phase: Phase) -> bool:
    return may_see(ACTORS[who], facet, STATE_OF[phase], VILLAGE)


def test_every_listing_state_has_a_phase() -> None:
    assert {phase_of(s.value) for s in ListingState} == set(Phase)


@given(st.sampled_from(list(Facet)), st.sampled_from(list(Phase)))
def test_outsiders_see_no_facet_beyond_the_public_count(facet: Facet, phase: Phase) -> None:
    for who in OUTSIDERS:
        allowed = (facet is Facet.REGISTRATION_COUNT and phase in (Phase.SEALED, Phase.ENDED)) or (
            facet is Facet.LISTING and phase is not Phase.PREPARATION
        )
        assert sees(who, facet, phase) is allowed, (who, facet, phase)


@given(st.sampled_from([Facet.REGISTRATION, Facet.DEAL, Facet.CONTRACT]), st.sampled_from(Phase))
def test_a_bidder_sees_what_is_theirs_and_nothing_of_others(facet: Facet, phase: Phase) -> None:
    bidder = ACTORS["bidder"]
    assert bidder is not None
    state = STATE_OF[phase]
    assert may_see(bidder, facet, state, VILLAGE, owner=bidder.id)
    assert not may_see(bidder, facet, state, VILLAGE, owner=bidder.id + 1)
    assert not may_see(None, facet, state, VILLAGE, owner=bidder.id)


@pytest.mark.parametrize(
    ("registration", "expected"),
    [
        (None, False),  # no registration: the file names only
        ("pending_deposit", False),  # applied, deposit not paid: an application commits nobody
        ("deposit_paid", True),
        ("qualified", True),
        ("rejected", False),
    ],
)
def test_a_bidder_reads_the_documents_once_their_deposit_is_in(
    registration: str | None, expected: bool
) -> None:
    bidder = ACTORS["bidder"]
    for phase in (Phase.REGISTRATION, Phase.SEALED, Phase.ENDED):
        state = STATE_OF[phase]
        seen = may_see(bidder, Facet.DOCUMENTS, state, VILLAGE, registration=registration)
        assert seen is expected, (registration, phase)
    # Never before the announcement, and a registration state means nothing to others.
    assert not may_see(bidder, Facet.DOCUMENTS, "accepted", VILLAGE, registration="qualified")
    for who in ("anonymous", "other village", "reviewer outside", "regulator outside"):
        assert not may_see(ACTORS[who], Facet.DOCUMENTS, "sold", VILLAGE, registration="qualified")


@pytest.mark.parametrize(
    ("who", "action", "expected"),
    [
        ("own village", Action.ENTRUST, True),
        ("other village", Action.ENTRUST, False),
        ("reviewer inside", Action.ENTRUST, False),
        ("reviewer inside", Action.DECIDE, True),
        ("reviewer outside", Action.DECIDE, False),
        ("regulator inside", Action.DECIDE, False),  # oversight watches; it does not decide
        ("admin", Action.DECIDE, False),
        ("bidder", Action.DECIDE, False),
        ("anonymous", Action.ENTRUST, False),
    ],
)
def test_who_may_act(who: str, action: Action, expected: bool) -> None:
    assert may_do(ACTORS[who], action, VILLAGE) is expected


def test_a_bundle_asked_for_too_early_is_sealed_not_missing() -> None:
    with pytest.raises(Conflict) as sealed:
        require(ACTORS["regulator inside"], Facet.LEDGER_BUNDLE, "auction", VILLAGE)
    assert sealed.value.code == "ledger_bundle.sealed"
    with pytest.raises(NotFound):
        require(ACTORS["regulator outside"], Facet.LEDGER_BUNDLE, "auction", VILLAGE)
    with pytest.raises(NotFound):  # others are not told that they would see it later
        require(ACTORS["reviewer inside"], Facet.IDENTITIES, "auction", VILLAGE)


@given(st.sampled_from(list(ACTORS)), st.sampled_from(sorted(SEALED_PHASES)))
def test_nobody_ties_a_number_to_a_person_before_the_end(who: str, phase: Phase) -> None:
    for facet in (Facet.IDENTITIES, Facet.DOSSIERS, Facet.LEDGER_BUNDLE):
        assert not sees(who, facet, phase), (who, facet, phase)
    # While the auction is set or running not even the applicants' names are shown.
    assert not sees(who, Facet.APPLICANTS, Phase.SEALED)


@pytest.mark.parametrize(
    ("who", "facet", "phase", "expected"),
    [
        ("own village", Facet.HIDDEN_TERMS, Phase.REGISTRATION, True),
        ("own village", Facet.REGISTRATION_COUNT, Phase.REGISTRATION, False),
        ("own village", Facet.REGISTRATION_COUNT, Phase.SEALED, True),
        ("reviewer inside", Facet.REGISTRATION_COUNT, Phase.REGISTRATION, True),
        ("regulator inside", Facet.REGISTRATION_COUNT, Phase.REGISTRATION, False),
        ("regulator inside", Facet.REGISTRATIONS, Phase.REGISTRATION, False),
        ("regulator inside", Facet.REGISTRATIONS, Phase.SEALED, True),
        ("reviewer inside", Facet.APPLICANTS, Phase.REGISTRATION, True),
        ("reviewer inside", Facet.APPLICANTS, Phase.SEALED, False),
        ("reviewer inside", Facet.APPLICANTS, Phase.ENDED, True),
        ("reviewer inside", Facet.IDENTITIES, Phase.ENDED, True),
        ("reviewer inside", Facet.DOSSIERS, Phase.ENDED, False),
        ("regulator inside", Facet.DOSSIERS, Phase.ENDED, True),
        ("regulator inside", Facet.LEDGER_BUNDLE, Phase.PREPARATION, True),
        ("regulator inside", Facet.LEDGER_BUNDLE, Phase.ENDED, True),
        ("admin", Facet.TIMELINE, Phase.SEALED, True),
        ("bidder", Facet.DOCUMENTS, Phase.ENDED, False),
        ("reviewer inside", Facet.LISTING, Phase.PREPARATION, True),
        ("own village", Facet.LISTING, Phase.PREPARATION, True),
        ("regulator inside", Facet.DEAL, Phase.ENDED, True),
        ("reviewer outside", Facet.CONTRACT, Phase.ENDED, False),
    ],
)
def test_the_table_of_docs_security(who: str, facet: Facet, phase: Phase, expected: bool) -> None:
    assert sees(who, facet, phase) is expected


#: The columns of the table in docs/security.md §3.
COLUMNS = {
    "anonymous": ("anonymous", None, None),
    # Their registration (qualified), deal or contract.
    "bidder (own)": ("bidder", 1, "qualified"),
    "bidder (other)": ("bidder", 2, None),
    "village (own)": ("own village", None, None),
    "village (other)": ("other village", None, None),
    "reviewer in": ("reviewer inside", None, None),
    "reviewer out": ("reviewer outside", None, None),
    "regulator in": ("regulator inside", None, None),
    "regulator out": ("regulator outside", None, None),
    "admin": ("admin", None, None),
}
LETTERS = {Phase.PREPARATION: "P", Phase.REGISTRATION: "R", Phase.SEALED: "S", Phase.ENDED: "E"}


def policy_table() -> str:
    """docs/security.md §3 as the policy decides it: in which phases each may see each facet."""
    lines = [
        "| facet | " + " | ".join(COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    for facet in Facet:
        cells = []
        for who, owner, registration in COLUMNS.values():
            phases = [
                letter
                for phase, letter in LETTERS.items()
                if may_see(
                    ACTORS[who],
                    facet,
                    STATE_OF[phase],
                    VILLAGE,
                    owner=owner,
                    registration=registration,
                )
            ]
            cells.append(" ".join(phases) or "·")
        lines.append(f"| {facet.value} | " + " | ".join(cells) + " |")
    lines.append(
        "| *do: "
        + " / ".join(a.value for a in Action)
        + "* | "
        + " | ".join(
            " / ".join("✓" if may_do(ACTORS[who], a, VILLAGE) else "·" for a in Action)
            for who, _, _ in COLUMNS.values()
        )
        + " |"
    )
    return "\n".join(lines)


def test_the_table_in_the_docs_is_the_policy() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs/security.md").read_text()
    start, end = "<!-- policy-table -->\n", "\n<!-- /policy-table -->"
    assert start in docs and end in docs, "docs/security.md lost its policy table markers"
    shown = docs.split(start, 1)[1].split(end, 1)[0]
    assert shown == policy_table(), (
        "docs/security.md §3 differs from the policy; it should be:\n" + policy_table()
    )
