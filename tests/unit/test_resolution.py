"""listings/resolution.py: the village's resolution (四议两公开) against the law's thresholds
(村民委员会组织法 arts. 22, 26; 土地管理法 art. 63), the order of its dates, the requirement
at submission, and its sentence. The thresholds below are written from the law as
docs/domain.md §3 states it, as fractions, not from the code's integer arithmetic."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import DomainError, InvalidInput, RuleViolation
from core.settings import ExchangeSettings, merge
from listings.resolution import check, describe, quorum, require_at_submission, votes_needed
from listings.schemas import Resolution

TODAY = date(2026, 12, 1)
OPERATING = "collective_operating_assets"


def resolution(**changes: Any) -> Resolution:
    facts: dict[str, Any] = {
        "meeting_kind": "representatives_meeting",
        "meeting_date": date(2026, 11, 10),
        "entitled": 30,
        "present": 27,
        "votes_for": 25,
        "votes_against": 1,
        "abstentions": 1,
        "publicity_start": date(2026, 11, 11),
        "publicity_end": date(2026, 11, 17),
    }
    return Resolution(**(facts | changes))


def refused(facts: Resolution, category: str = OPERATING, today: date = TODAY) -> DomainError:
    with pytest.raises(DomainError) as caught:
        check(facts, category=category, today=today)
    return caught.value


# --- the thresholds, by example ----------------------------------------------------------------


def test_a_representatives_meeting_needs_two_thirds_present() -> None:
    # 30 representatives: two thirds is 20; 19 present is too few.
    error = refused(resolution(present=19, votes_for=19, votes_against=0, abstentions=0))
    assert isinstance(error, RuleViolation) and error.code == "resolution.no_quorum"
    assert error.extra == {"quorum": 20}
    assert "应到 30 人，至少须到 20 人，实到 19 人" in error.message
    check(resolution(present=20, votes_for=11, votes_against=9, abstentions=0), **_operating())


def test_a_decision_needs_more_than_half_of_those_present() -> None:
    # 20 present: half is 10, which is not more than half; 11 is.
    error = refused(resolution(present=20, votes_for=10, votes_against=10, abstentions=0))
    assert isinstance(error, RuleViolation) and error.code == "resolution.not_adopted"
    assert error.extra == {"votes_needed": 11}
    assert "实到 20 人，至少须 11 票同意，同意 10 票" in error.message
    check(resolution(present=20, votes_for=11, votes_against=0, abstentions=0), **_operating())


def _operating() -> dict[str, Any]:
    return {"category": OPERATING, "today": TODAY}


def test_a_villagers_meeting_needs_half_the_villagers_or_two_thirds_of_households() -> None:
    villagers = resolution(meeting_kind="villagers_meeting", entitled=600, votes_against=0)
    assert refused(msgspec.structs.replace(villagers, present=300, votes_for=200)).code == (
        "resolution.no_quorum"
    )
    check(msgspec.structs.replace(villagers, present=301, votes_for=151), **_operating())
    households = msgspec.structs.replace(villagers, attendance_basis="households", entitled=150)
    too_few = msgspec.structs.replace(households, present=99, votes_for=99, abstentions=0)
    error = refused(too_few)
    assert error.code == "resolution.no_quorum" and "三分之二以上的户" in error.message
    assert "应到 150 户" in error.message
    check(msgspec.structs.replace(households, present=100, votes_for=51), **_operating())


def test_households_are_counted_only_at_a_villagers_meeting() -> None:
    error = refused(resolution(attendance_basis="households"))
    assert isinstance(error, InvalidInput) and error.code == "resolution.basis"


def test_construction_land_needs_two_thirds_of_all_members() -> None:
    # 30 representatives, 27 present: 14 would carry an ordinary decision, but leasing
    # collective operating construction land needs 20 (土地管理法 art. 63).
    facts = resolution(votes_for=19, votes_against=8, abstentions=0)
    check(facts, **_operating())
    error = refused(facts, "collective_construction_land")
    assert error.code == "resolution.two_thirds_required" and error.extra == {"votes_needed": 20}
    assert "土地管理法第六十三条" in error.message
    check(resolution(votes_for=20), category="collective_construction_land", today=TODAY)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"present": 31}, "resolution.present_exceeds_entitled"),
        (
            {"votes_for": 25, "votes_against": 2, "abstentions": 1},
            "resolution.votes_exceed_present",
        ),
        ({"meeting_date": date(2026, 12, 2)}, "resolution.meeting_in_future"),
        ({"publicity_end": date(2026, 11, 10)}, "resolution.publicity_order"),
        ({"publicity_start": date(2026, 11, 9)}, "resolution.publicity_before_meeting"),
    ],
)
def test_inconsistent_facts_are_invalid_input(changes: dict[str, Any], code: str) -> None:
    error = refused(resolution(**changes))
    assert isinstance(error, InvalidInput) and error.code == code


def test_a_meeting_today_and_a_one_day_publicity_on_its_day_are_accepted() -> None:
    check(
        resolution(meeting_date=TODAY, publicity_start=TODAY, publicity_end=TODAY), **_operating()
    )
    assert refused(resolution(meeting_date=TODAY), today=TODAY - timedelta(days=1)).code == (
        "resolution.meeting_in_future"
    )


# --- the thresholds, as properties ----------------------------------------------------------------


@given(
    kind=st.sampled_from(["villagers_meeting", "representatives_meeting"]),
    households=st.booleans(),
    construction=st.booleans(),
    entitled=st.integers(1, 400),
    data=st.data(),
)
def test_check_accepts_exactly_the_lawful_counts(
    kind: str, households: bool, construction: bool, entitled: int, data: st.DataObject
) -> None:
    present = data.draw(st.integers(0, entitled))
    votes_for = data.draw(st.integers(0, present))
    basis = "households" if households and kind == "villagers_meeting" else "persons"
    facts = resolution(
        meeting_kind=kind,
        attendance_basis=basis,
        entitled=entitled,
        present=present,
        votes_for=votes_for,
        votes_against=present - votes_for,
        abstentions=0,
    )
    category = "collective_construction_land" if construction else OPERATING
    share_present = Fraction(present, entitled)
    if kind == "villagers_meeting" and basis == "persons":
        held = share_present > Fraction(1, 2)
    else:
        held = share_present >= Fraction(2, 3)
    adopted = present > 0 and Fraction(votes_for, present) > Fraction(1, 2)
    if construction:
        adopted = adopted and Fraction(votes_for, entitled) >= Fraction(2, 3)
    lawful = held and adopted
    try:
        check(facts, category=category, today=TODAY)
    except RuleViolation:
        assert not lawful
    else:
        assert lawful
    # The thresholds the messages name are the least counts that pass.
    assert (present >= quorum(facts)) == held
    if present:
        assert (votes_for >= votes_needed(facts, category)) == adopted


# --- submission ----------------------------------------------------------------------------------


def test_submission_needs_the_facts_then_a_document_unless_exempt() -> None:
    with pytest.raises(RuleViolation) as missing:
        require_at_submission(None, documents=1, required=True)
    assert missing.value.code == "submit.resolution_missing"
    with pytest.raises(RuleViolation) as no_file:
        require_at_submission(resolution(), documents=0, required=True)
    assert no_file.value.code == "submit.resolution_document_missing"
    require_at_submission(resolution(), documents=1, required=True)
    require_at_submission(None, documents=0, required=False)


def test_exempt_categories_are_a_setting_of_known_categories() -> None:
    settings = merge(ExchangeSettings(), {"resolution_optional_categories": ["farm_facilities"]})
    assert not settings.resolution_required("farm_facilities")
    assert settings.resolution_required(OPERATING)
    assert ExchangeSettings().resolution_required("farm_facilities")
    with pytest.raises(InvalidInput) as caught:
        merge(ExchangeSettings(), {"resolution_optional_categories": ["orchards"]})
    assert caught.value.code == "settings.invalid"


# --- the sentence ---------------------------------------------------------------------------------


def test_the_resolution_in_one_sentence() -> None:
    assert describe(resolution()) == (
        "2026年11月10日村民代表会议，应到30人，实到27人，同意25票，反对1票，弃权1票；"
        "决议公示期2026年11月11日至2026年11月17日"
    )
    households = resolution(
        meeting_kind="villagers_meeting", attendance_basis="households", entitled=150, present=120
    )
    assert describe(households).startswith("2026年11月10日村民会议，应到150户，实到120户，")
