"""Money in integer fen (分): parsing, display, half-up rounding and Chinese capital amounts."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

Fen = int


class MoneyFormatError(ValueError):
    """Raised when a yuan amount typed by a user cannot be read."""


# ASCII digits only: \d would also accept full-width and other Unicode digits.
_YUAN_RE = re.compile(r"(?P<int>[1-9][0-9]{0,2}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<dec>[0-9]+))?")
_SYMBOLS = ("¥", "￥")


def parse_yuan(text: str) -> Fen:
    """Parse a non-negative yuan amount such as "¥12,000.50" into fen.

    Commas must group thousands exactly; at most two decimals; no sign, exponent or letters.
    """
    s = text.strip()
    if s.startswith(_SYMBOLS):
        s = s[1:]
    if not s:
        raise MoneyFormatError("金额不能为空")
    if s.startswith("-"):
        raise MoneyFormatError(f"金额不能为负数：{text.strip()}")
    m = _YUAN_RE.fullmatch(s)
    if m is None:
        raise MoneyFormatError(f"金额格式不正确：{text.strip()}")
    dec = m.group("dec") or ""
    if len(dec) > 2:
        raise MoneyFormatError(f"金额最多保留两位小数：{text.strip()}")
    return int(m.group("int").replace(",", "")) * 100 + int(dec.ljust(2, "0"))


def format_yuan(fen: Fen, *, symbol: bool = False) -> str:
    """Format fen as yuan with thousands separators and two decimals: "-¥1,234.05"."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}{'¥' if symbol else ''}{yuan:,}.{cents:02d}"


def yuan_decimal(fen: Fen) -> Decimal:
    """Fen as an exact yuan amount, two decimals, for files (never a float): 1200000 →
    Decimal("12000.00"), whose str() is "12000.00"."""
    return Decimal(int(fen)).scaleb(-2)


def round_half_up(x: Fraction) -> int:
    """Round to the nearest integer, halves away from zero (四舍五入): 0.5 → 1, -0.5 → -1."""
    a = abs(x)
    # floor(|x| + 1/2) in exact integer arithmetic.
    q = (2 * a.numerator + a.denominator) // (2 * a.denominator)
    return -q if x < 0 else q


def apply_percent(fen: Fen, percent: Fraction | int) -> Fen:
    """Return fen × percent / 100, rounded half-up to a whole fen."""
    # A float would silently turn the result inexact; refuse it at runtime too.
    if not isinstance(percent, Fraction | int):
        raise TypeError("percent must be int or Fraction")
    return round_half_up(Fraction(fen) * percent / 100)


def format_percent(rate: Fraction, places: int = 2) -> str:
    """Show a rate as a percentage (no "%" sign), half-up: Fraction(2, 3) → "66.67"."""
    if places < 0:
        raise ValueError("places must be >= 0")
    scaled = round_half_up(rate * 100 * 10**places)
    sign = "-" if scaled < 0 else ""  # taken after rounding so tiny negatives give "0.00"
    whole, frac = divmod(abs(scaled), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}" if places else f"{sign}{whole}"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿", "万亿")


def _section_words(n: int) -> str:
    """Words for 1..9999 within one 4-digit section; an internal zero run gives one 零."""
    out: list[str] = []
    zero_pending = False
    for power in (3, 2, 1, 0):
        d = n // 10**power % 10
        if d == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        out.append(_DIGITS[d] + _SMALL_UNITS[power])
    return "".join(out)


def _yuan_words(yuan: int) -> str:
    sections: list[int] = []
    while yuan:
        yuan, section = divmod(yuan, 10000)
        sections.append(section)
    if len(sections) > len(_BIG_UNITS):
        raise ValueError("金额过大，无法转换为大写")
    parts: list[str] = []
    skipped = False
    for i in reversed(range(len(sections))):
        section = sections[i]
        if section == 0:
            skipped = bool(parts)
            continue
        # A gap before this section (a skipped section, or a leading zero digit) reads as 零.
        if parts and (skipped or section < 1000):
            parts.append("零")
        skipped = False
        parts.append(_section_words(section) + _BIG_UNITS[i])
    return "".join(parts)


def yuan_in_words(fen: Fen) -> str:
    """Chinese capital amount (大写金额) as written on bank bills and contracts.

    Convention, following 《正确填写票据和结算凭证的基本规定》:
    * 拾 always carries its digit, also when leading: 10 元 → "壹拾元整".
    * A run of zeros inside the yuan part is written as a single 零 (壹仟零壹元); a zero at
      the start of a 万/亿 section also gives 零 (壹万零伍佰元); trailing zeros are silent.
    * "整" follows 元 when there are no 角/分, and never follows 角 or 分.
    * 零 is written between 元 and 角 when the 元 digit is 0 (壹佰元零贰角; the rule allows
      either, we always write it), and between 元 and 分 when 角 is 0 (壹元零伍分).
    * Below one yuan the amount starts at 角 or 分: 10 fen → "壹角"; zero → "零元整".
    * Negative amounts are prefixed with "负". Supported up to 9999万亿 yuan.
    """
    if fen < 0:
        return "负" + yuan_in_words(-fen)
    yuan, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    if yuan == 0 and cents == 0:
        return "零元整"
    out = _yuan_words(yuan) + "元" if yuan else ""
    if cents == 0:
        return out + "整"
    if yuan and (jiao == 0 or yuan % 10 == 0):
        out += "零"
    if jiao:
        out += _DIGITS[jiao] + "角"
    if fen_digit:
        out += _DIGITS[fen_digit] + "分"
    return out
