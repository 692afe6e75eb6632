"""Tests for core.ids: resident ID and USCC validation, and display masking."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from core.ids import (
    InvalidIdNumber,
    birth_date_of,
    is_organisation,
    mask_id_number,
    mask_name,
    mask_phone,
    resident_id_check_char,
    uscc_check_char,
    validate_id,
    validate_resident_id,
    validate_uscc,
)

# Independently known valid numbers: the example in GB 11643-1999, and a public USCC
# (check character recomputed by hand from the GB 32100 weights: sum mod 31 = 28 → "3").
GB11643_EXAMPLE = "11010519491231002X"
PUBLIC_USCC = "91350100M000100Y43"

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _code(exc: pytest.ExceptionInfo[InvalidIdNumber]) -> str:
    return exc.value.code


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    region = draw(st.from_regex(r"[1-9][0-9]{5}", fullmatch=True))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)))
    seq = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    first17 = f"{region}{born:%Y%m%d}{seq}"
    return first17 + resident_id_check_char(first17)


@st.composite
def usccs(draw: st.DrawFn) -> str:
    def chars(n: int) -> str:
        return "".join(draw(st.lists(st.sampled_from(USCC_CHARSET), min_size=n, max_size=n)))

    first17 = chars(2) + draw(st.from_regex(r"[0-9]{6}", fullmatch=True)) + chars(9)
    return first17 + uscc_check_char(first17)


# --- resident ID -------------------------------------------------------------------


def test_known_resident_id() -> None:
    assert resident_id_check_char(GB11643_EXAMPLE[:17]) == "X"
    assert validate_resident_id(GB11643_EXAMPLE) == GB11643_EXAMPLE
    assert validate_resident_id(GB11643_EXAMPLE.lower()) == GB11643_EXAMPLE
    assert validate_resident_id(f"  {GB11643_EXAMPLE} ") == GB11643_EXAMPLE
    assert birth_date_of(GB11643_EXAMPLE) == date(1949, 12, 31)
    assert validate_id("resident_id", GB11643_EXAMPLE.lower()) == GB11643_EXAMPLE


def test_built_resident_id() -> None:
    first17 = "35010219800229123"  # Fuzhou, born on a leap day
    number = first17 + resident_id_check_char(first17)
    assert validate_resident_id(number) == number
    assert birth_date_of(number) == date(1980, 2, 29)


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("", "id.format"),
        ("11010519491231002", "id.format"),  # 17 chars
        ("11010519491231002XX", "id.format"),  # 19 chars
        ("110105491231002", "id.format"),  # old 15-digit number: not accepted
        ("1101051949123100XX", "id.format"),
        ("11010519491231002Y", "id.format"),
        ("１1010519491231002X", "id.format"),  # full-width digit
        ("01010519491231002X", "id.region"),
        ("110105194902300020", "id.birthdate"),  # 30 February
        ("110105189912310020", "id.birthdate"),  # before 1900
        ("110105194913010020", "id.birthdate"),  # month 13
        ("110105194912310021", "id.checksum"),
    ],
)
def test_invalid_resident_ids(number: str, code: str) -> None:
    with pytest.raises(InvalidIdNumber) as exc:
        validate_resident_id(number)
    assert _code(exc) == code
    assert exc.value.message  # a user-facing Chinese message
    assert isinstance(exc.value, ValueError)


def test_resident_check_char_needs_17_digits() -> None:
    with pytest.raises(InvalidIdNumber) as exc:
        resident_id_check_char("1101051949123100")
    assert _code(exc) == "id.format"


@given(resident_ids())
def test_generated_resident_ids_are_valid(number: str) -> None:
    assert validate_resident_id(number) == number
    assert validate_resident_id(number.lower()) == number


@given(
    resident_ids(),
    st.integers(min_value=0, max_value=17),
    st.sampled_from("0123456789XxAZ -"),
)
def test_any_single_change_to_a_resident_id_is_rejected(number: str, pos: int, repl: str) -> None:
    assume(repl.upper() != number[pos])
    corrupted = number[:pos] + repl + number[pos + 1 :]
    with pytest.raises(InvalidIdNumber):
        validate_resident_id(corrupted)


# --- USCC ----------------------------------------------------------------------------


def test_known_uscc() -> None:
    assert uscc_check_char(PUBLIC_USCC[:17]) == "3"
    assert validate_uscc(PUBLIC_USCC) == PUBLIC_USCC
    assert validate_uscc(PUBLIC_USCC.lower()) == PUBLIC_USCC
    assert validate_id("uscc", f" {PUBLIC_USCC}") == PUBLIC_USCC


def test_built_uscc_for_a_village_collective() -> None:
    first17 = "N2350102MA0000001"  # N = agriculture authority, 2 = village collective
    code = first17 + uscc_check_char(first17)
    assert validate_uscc(code) == code


@pytest.mark.parametrize("bad", "IOSVZ")
def test_uscc_rejects_confusable_letters(bad: str) -> None:
    for pos in (0, 10, 17):
        corrupted = PUBLIC_USCC[:pos] + bad + PUBLIC_USCC[pos + 1 :]
        with pytest.raises(InvalidIdNumber) as exc:
            validate_uscc(corrupted)
        assert _code(exc) == "id.format"
    with pytest.raises(InvalidIdNumber):
        uscc_check_char(PUBLIC_USCC[:16] + bad)


@pytest.mark.parametrize(
    ("code", "err"),
    [
        ("", "id.format"),
        (PUBLIC_USCC[:17], "id.format"),
        (PUBLIC_USCC + "0", "id.format"),
        ("9135A100M000100Y43", "id.region"),
        ("91350100M000100Y44", "id.checksum"),
    ],
)
def test_invalid_usccs(code: str, err: str) -> None:
    with pytest.raises(InvalidIdNumber) as exc:
        validate_uscc(code)
    assert _code(exc) == err


@given(usccs())
def test_generated_usccs_are_valid(code: str) -> None:
    assert validate_uscc(code) == code


@given(
    usccs(),
    st.integers(min_value=0, max_value=17),
    st.sampled_from(USCC_CHARSET + "abIOSVZ -"),
)
def test_any_single_change_to_a_uscc_is_rejected(code: str, pos: int, repl: str) -> None:
    assume(repl.upper() != code[pos])
    corrupted = code[:pos] + repl + code[pos + 1 :]
    with pytest.raises(InvalidIdNumber):
        validate_uscc(corrupted)


def test_is_organisation() -> None:
    assert is_organisation("uscc")
    assert not is_organisation("resident_id")


# --- masking -------------------------------------------------------------------------


def test_mask_id_number() -> None:
    assert mask_id_number("35010219800229123X") == "350***********123X"
    assert mask_id_number(PUBLIC_USCC) == "913***********0Y43"
    assert mask_id_number("123456") == "******"


@given(st.one_of(resident_ids(), usccs()))
def test_mask_id_number_keeps_length(number: str) -> None:
    masked = mask_id_number(number)
    assert len(masked) == len(number) == 18
    assert masked[:3] == number[:3] and masked[-4:] == number[-4:]
    assert set(masked[3:-4]) == {"*"}


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert len(mask_phone("0591-87654321")) == len("0591-87654321")
    assert mask_phone("110") == "***"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("李小明", "李**"),
        ("欧阳娜娜", "欧***"),
        ("张", "张"),
        ("", ""),
        ("福建某农业公司", "福**司"),
        ("下岐村股份经济合作社", "下岐**作社"),
        ("天福公司", "天***"),  # short: the organisation rule would reveal every character
        ("天福农业社", "天**社"),
        ("欧阳明明华", "欧**华"),
        ("福建某公司x", "福**x"),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@given(st.text(alphabet="张李欧阳福建农业合作社公司村", max_size=20))
def test_a_masked_name_never_shows_more_than_half(name: str) -> None:
    shown = [c for c in mask_name(name) if c != "*"]
    assert len(shown) <= max(1, len(name.strip()) // 2)
