"""The door's rules for text and integers (core/hygiene.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.hygiene import FORBIDDEN, INT64_MAX, INT64_MIN, _plain_int64, check_text, check_tree

ORDINARY = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cc", "Cf", "Cs"), include_characters="\t\n\r"
    )
)


@given(ORDINARY)
def test_ordinary_text_passes(text: str) -> None:
    check_text(text)


@given(
    ORDINARY,
    st.sampled_from("\x00\x1b\x7f\x85\u061c\u200b\u200e\u202a\u202e\u2066\ufeff"),
    ORDINARY,
)
def test_a_control_character_anywhere_is_refused(before: str, bad: str, after: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_text(before + bad + after)
    assert refused.value.code == "text.control_character"
    with pytest.raises(InvalidInput):
        check_tree({"terms": [{"name": before + bad + after}]})
    with pytest.raises(InvalidInput):
        check_tree({before + bad: 1})


def test_chinese_punctuation_is_not_a_control() -> None:
    check_text("杏田村“水泥地面”——公开招租…（第1期）")
    assert FORBIDDEN.search("\u2014\u201c\u201d\u2026") is None


@pytest.mark.parametrize(
    ("value", "fits"),
    [
        (str(INT64_MAX), True),
        (str(INT64_MIN), True),
        (str(INT64_MAX + 1), False),
        (str(INT64_MIN - 1), False),
        ("1e20", False),
        ("12.0", False),
        ("007", True),
        ("99999999999999999999", False),
    ],
)
def test_integers_must_be_plain_and_64_bit(value: str, fits: bool) -> None:
    assert _plain_int64(value) is fits


def test_json_integers_must_fit_64_bits() -> None:
    check_tree({"registration_ids": [INT64_MAX, INT64_MIN], "flag": True})
    with pytest.raises(InvalidInput) as refused:
        check_tree({"registration_ids": [1, INT64_MAX + 1]})
    assert refused.value.code == "request.integer_out_of_range"
