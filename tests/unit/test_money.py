"""Tests for core.money: yuan parsing/formatting, half-up rounding and 大写金额."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import (
    MoneyFormatError,
    apply_percent,
    format_percent,
    format_yuan,
    parse_yuan,
    round_half_up,
    yuan_in_words,
)

fens = st.integers(min_value=0, max_value=10**15)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12000", 1_200_000),
        ("12,000", 1_200_000),
        ("12,000.00", 1_200_000),
        ("12000.5", 1_200_050),
        ("¥12,000.00", 1_200_000),
        ("￥1.05", 105),
        ("  12,000.00 ", 1_200_000),
        ("0", 0),
        ("0.01", 1),
        ("1,234,567.89", 123_456_789),
    ],
)
def test_parse_yuan_accepts(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "¥",
        "-1",
        "-¥1.00",
        "¥-1",
        "1.005",
        "1,2,000",
        "12,00",
        "1,0000",
        ",100",
        "12a",
        "abc",
        "1e3",
        "NaN",
        "inf",
        "1.",
        ".5",
        "+5",
        "１２",  # full-width digits
        "1 000",
    ],
)
def test_parse_yuan_rejects(text: str) -> None:
    with pytest.raises(MoneyFormatError):
        parse_yuan(text)


def test_parse_errors_are_chinese() -> None:
    with pytest.raises(MoneyFormatError, match="两位小数"):
        parse_yuan("1.234")
    with pytest.raises(MoneyFormatError, match="负数"):
        parse_yuan("-3")


@pytest.mark.parametrize(
    ("fen", "plain", "with_symbol"),
    [
        (1_200_000, "12,000.00", "¥12,000.00"),
        (0, "0.00", "¥0.00"),
        (5, "0.05", "¥0.05"),
        (-105, "-1.05", "-¥1.05"),
        (123_456_789, "1,234,567.89", "¥1,234,567.89"),
    ],
)
def test_format_yuan(fen: int, plain: str, with_symbol: str) -> None:
    assert format_yuan(fen) == plain
    assert format_yuan(fen, symbol=True) == with_symbol


@given(fens)
def test_parse_format_round_trip(fen: int) -> None:
    assert parse_yuan(format_yuan(fen)) == fen
    assert parse_yuan(format_yuan(fen, symbol=True)) == fen


@pytest.mark.parametrize(
    ("x", "n"),
    [
        (Fraction(1, 2), 1),
        (Fraction(-1, 2), -1),
        (Fraction(3, 2), 2),
        (Fraction(-3, 2), -2),
        (Fraction(49, 100), 0),
        (Fraction(-49, 100), 0),
        (Fraction(51, 100), 1),
        (Fraction(7), 7),
        (Fraction(0), 0),
    ],
)
def test_round_half_up(x: Fraction, n: int) -> None:
    assert round_half_up(x) == n


@given(st.fractions())
def test_round_half_up_matches_definition(x: Fraction) -> None:
    expected = math.floor(abs(x) + Fraction(1, 2))
    assert round_half_up(x) == (-expected if x < 0 else expected)


def test_apply_percent_examples() -> None:
    assert apply_percent(1_200_000, 5) == 60_000
    assert apply_percent(105, 10) == 11  # 10.5 fen rounds up
    assert apply_percent(1, 50) == 1
    assert apply_percent(1, Fraction(49)) == 0
    assert apply_percent(-105, 10) == -11
    with pytest.raises(TypeError):
        apply_percent(100, 0.5)  # type: ignore[arg-type]


percents = st.fractions(max_denominator=1000) | st.integers(-200, 200)


@given(st.integers(-(10**12), 10**12), percents)
def test_apply_percent_matches_exact_rounding(fen: int, percent: Fraction | int) -> None:
    exact = Fraction(fen) * percent / 100
    result = apply_percent(fen, percent)
    assert abs(exact - result) <= Fraction(1, 2)
    if abs(exact - result) == Fraction(1, 2):  # a tie goes away from zero
        assert abs(result) > abs(exact)


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (Fraction(1), "100.00"),
        (Fraction(1, 3), "33.33"),
        (Fraction(2, 3), "66.67"),
        (Fraction(-1, 8), "-12.50"),
        (Fraction(0), "0.00"),
        (Fraction(1, 200000), "0.00"),
        (Fraction(1, 20000), "0.01"),  # 0.005 % rounds half-up
        (Fraction(-1, 1_000_000), "0.00"),  # no "-0.00"
    ],
)
def test_format_percent(rate: Fraction, text: str) -> None:
    assert format_percent(rate) == text


def test_format_percent_places() -> None:
    assert format_percent(Fraction(2, 3), 0) == "67"
    assert format_percent(Fraction(2, 3), 4) == "66.6667"


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (2_400_000, "贰万肆仟元整"),
        (1_200_000, "壹万贰仟元整"),
        (24_000_000, "贰拾肆万元整"),
        (100_000_005, "壹佰万元零伍分"),
        (10, "壹角"),
        (5, "伍分"),
        (15, "壹角伍分"),
        (0, "零元整"),
        (10_020, "壹佰元零贰角"),
        (110_000, "壹仟壹佰元整"),
        (1_000_000_000, "壹仟万元整"),
        (10_000_000, "壹拾万元整"),
        (1_000, "壹拾元整"),
        (105, "壹元零伍分"),
        # Examples from 《正确填写票据和结算凭证的基本规定》:
        (168_032, "壹仟陆佰捌拾元零叁角贰分"),
        (10_700_053, "壹拾万柒仟元零伍角叁分"),
        (140_950, "壹仟肆佰零玖元伍角"),
        (600_714, "陆仟零柒元壹角肆分"),
        (32_504, "叁佰贰拾伍元零肆分"),
        # Zero runs across and inside 万/亿 sections.
        (100_100, "壹仟零壹元整"),
        (100_050_000, "壹佰万零伍佰元整"),
        (10_000_000_100, "壹亿零壹元整"),
        (100_500_000_000, "壹拾亿零伍佰万元整"),
        (1_234_567_890_12, "壹拾贰亿叁仟肆佰伍拾陆万柒仟捌佰玖拾元零壹角贰分"),
        (-105, "负壹元零伍分"),
    ],
)
def test_yuan_in_words(fen: int, words: str) -> None:
    assert yuan_in_words(fen) == words


@given(fens)
def test_yuan_in_words_properties(fen: int) -> None:
    words = yuan_in_words(fen)
    assert not any(c.isdigit() for c in words)
    assert words.endswith("整") == (fen % 100 == 0)
    assert "零零" not in words
