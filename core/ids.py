"""Identity numbers of bidders (GB 11643 resident ID, GB 32100 USCC) and display masking."""

from __future__ import annotations

from datetime import date
from typing import Literal

IdType = Literal["resident_id", "uscc"]


class InvalidIdNumber(ValueError):
    """An identity number failed validation; `code` is stable, `message` is for users."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- GB 11643-1999 resident identity number (公民身份号码) ---------------------------

_RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RID_CHECK = "10X98765432"  # ISO 7064 MOD 11-2, indexed by the weighted sum mod 11
_ASCII_DIGITS = frozenset("0123456789")


def _is_digits(s: str) -> bool:
    # str.isdigit() would also accept full-width and superscript digits.
    return bool(s) and set(s) <= _ASCII_DIGITS


def resident_id_check_char(first17: str) -> str:
    """The 18th (check) character for the first 17 digits of a resident ID."""
    if len(first17) != 17 or not _is_digits(first17):
        raise InvalidIdNumber("id.format", "身份证号码前17位应为数字")
    return _RID_CHECK[sum(int(c) * w for c, w in zip(first17, _RID_WEIGHTS, strict=True)) % 11]


def _birth_date(number: str) -> date | None:
    y, m, d = int(number[6:10]), int(number[10:12]), int(number[12:14])
    try:
        born = date(y, m, d)
    except ValueError:
        return None
    # The future cannot be checked here (no clock); callers with a clock may add that.
    return born if born >= date(1900, 1, 1) else None


def validate_resident_id(s: str) -> str:
    """Validate an 18-character resident ID; returns it with a lowercase x made 'X'."""
    number = s.strip().upper()
    if len(number) != 18 or not _is_digits(number[:17]) or number[17] not in "0123456789X":
        raise InvalidIdNumber("id.format", "身份证号码应为18位：17位数字加1位数字或X")
    if number[0] == "0":
        raise InvalidIdNumber("id.region", "身份证号码的地区码不正确")
    if _birth_date(number) is None:
        raise InvalidIdNumber("id.birthdate", "身份证号码中的出生日期不正确")
    if resident_id_check_char(number[:17]) != number[17]:
        raise InvalidIdNumber("id.checksum", "身份证号码校验位不正确，请核对")
    return number


def birth_date_of(resident_id: str) -> date:
    """Birth date encoded in a resident ID (validated first)."""
    born = _birth_date(validate_resident_id(resident_id))
    assert born is not None  # validate_resident_id has rejected impossible dates
    return born


# --- GB 32100-2015 unified social credit code (统一社会信用代码) --------------------

# 31 characters: digits and capitals without I, O, S, V, Z (easily confused).
_USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_CHARSET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """The 18th (check) character for the first 17 characters of a USCC."""
    if len(first17) != 17 or any(c not in _USCC_VALUE for c in first17):
        raise InvalidIdNumber("id.format", "统一社会信用代码前17位含有无效字符")
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARSET[(31 - total % 31) % 31]


def validate_uscc(s: str) -> str:
    """Validate an 18-character unified social credit code; returns it upper-cased.

    Layout: 1 registration authority, 2 organisation category, 3–8 administrative
    division code, 9–17 organisation code, 18 check character. Authority and category
    codes are not checked against a list, since new ones are added over time.
    """
    code = s.strip().upper()
    if len(code) != 18 or any(c not in _USCC_VALUE for c in code):
        raise InvalidIdNumber(
            "id.format", "统一社会信用代码应为18位数字或大写字母（不含I、O、S、V、Z）"
        )
    if not _is_digits(code[2:8]):
        raise InvalidIdNumber("id.region", "统一社会信用代码第3至8位应为行政区划代码")
    if uscc_check_char(code[:17]) != code[17]:
        raise InvalidIdNumber("id.checksum", "统一社会信用代码校验位不正确，请核对")
    return code


def validate_id(id_type: IdType, s: str) -> str:
    """Validate and normalise an identity number of the given type."""
    if id_type == "resident_id":
        return validate_resident_id(s)
    if id_type == "uscc":
        return validate_uscc(s)
    raise ValueError(f"unknown id type: {id_type!r}")


def is_organisation(id_type: IdType) -> bool:
    """Organisations (companies, co-ops, collectives) register with a USCC."""
    return id_type == "uscc"


# --- Masking for public display ---------------------------------------------------


def _mask_middle(s: str, head: int, tail: int) -> str:
    # Same length as the input so the masked value still looks like the original kind.
    if len(s) <= head + tail:
        return "*" * len(s)
    return s[:head] + "*" * (len(s) - head - tail) + s[-tail:]


def mask_id_number(s: str) -> str:
    """Keep the first 3 and last 4 characters: "350***********123X"."""
    return _mask_middle(s.strip(), 3, 4)


def mask_phone(phone: str) -> str:
    """Keep the first 3 and last 4 digits: "138****5678"."""
    return _mask_middle(phone.strip(), 3, 4)


def mask_name(name: str) -> str:
    """Mask a person's or organisation's name for public display.

    Never more than half the characters show. Names of 8+ characters (organisations) keep
    the first and last two around "**": "下岐**作社"; of 5 to 7 the first and last one:
    "天福农业社" → "天**社"; shorter names only the first: "张*", "李**", "天福公司" → "天***".
    """
    n = name.strip()
    if len(n) >= 8:
        return n[:2] + "**" + n[-2:]
    if len(n) >= 5:
        return n[:1] + "**" + n[-1:]
    return n[:1] + "*" * (len(n) - 1)
