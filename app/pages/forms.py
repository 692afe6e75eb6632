"""Page forms: the values a person typed, and the errors shown next to their fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import msgspec

from core.clock import CHINA_TZ
from core.errors import DomainError
from core.money import MoneyFormatError, parse_yuan

# ----- forms ---------------------------------------------------------------------------


@dataclass
class FieldError:
    message: str
    code: str


@dataclass
class Form:
    """What a form page needs to re-render: the values typed and the errors per field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, FieldError] = field(default_factory=dict)
    #: An error that belongs to no single field (shown above the form).
    general: FieldError | None = None

    def error(self, name: str, message: str, code: str) -> None:
        self.errors.setdefault(name, FieldError(message, code))

    def fail(self, exc: DomainError, fields: Mapping[str, str] | None = None) -> None:
        """Place a service error next to its field (by code prefix) or above the form."""
        for prefix, name in (fields or {}).items():
            if exc.code == prefix or exc.code.startswith(prefix + "."):
                self.error(name, exc.message, exc.code)
                return
        self.general = FieldError(exc.message, exc.code)

    @property
    def ok(self) -> bool:
        return not self.errors and self.general is None


_PATH_RE = re.compile(r"\$\.([a-z_]+)(?:\.([a-z_]+))?")


def validation_field(exc: msgspec.ValidationError) -> str | None:
    """The (innermost named) field a msgspec validation error is about: `$.terms.term_years`."""
    match = _PATH_RE.search(str(exc))
    if match is None:
        return None
    return match.group(2) or match.group(1)


#: The largest amount the wire types take (listings.schemas.Fen).
MAX_FEN = 10**13


def money_field(
    form: Form, name: str, label: str, *, required: bool = True, positive: bool = False
) -> int | None:
    """Read a yuan amount typed into a form as fen; errors go next to the field."""
    raw = str(form.values.get(name, "") or "").strip()
    if not raw:
        if required:
            form.error(name, f"请填写{label}", "form.required")
        return None
    try:
        fen = parse_yuan(raw)
    except MoneyFormatError as exc:
        form.error(name, str(exc), "money.format")
        return None
    if positive and fen == 0:
        form.error(name, f"{label}应大于0", "form.range")
        return None
    if fen > MAX_FEN:
        form.error(name, f"{label}金额过大", "form.range")
        return None
    return fen


def text_field(
    form: Form, name: str, label: str, *, required: bool = False, limit: int
) -> str | None:
    """A line or a text of at most `limit` characters, trimmed; None when left empty."""
    raw = str(form.values.get(name, "") or "").strip()
    if not raw:
        if required:
            form.error(name, f"请填写{label}", "form.required")
        return None
    if len(raw) > limit:
        form.error(name, f"{label}不超过 {limit} 字（现为 {len(raw)} 字）", "form.too_long")
        return None
    return raw


def choice_field(
    form: Form,
    name: str,
    label: str,
    choices: Mapping[str, str],
    *,
    default: str | None = None,
    required: bool = True,
) -> str | None:
    """One of `choices` (by key); empty is `default`, else an error if required."""
    raw = str(form.values.get(name, "") or "").strip() or default
    if not raw:
        if required:
            form.error(name, f"请选择{label}", "form.required")
        return None
    if raw not in choices:
        form.error(name, f"请选择{label}", "request.invalid")
        return None
    return raw


def int_field(
    form: Form,
    name: str,
    label: str,
    *,
    required: bool = True,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    raw = str(form.values.get(name, "") or "").strip()
    if not raw:
        if required:
            form.error(name, f"请填写{label}", "form.required")
        return None
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        form.error(name, f"{label}应为整数", "form.integer")
        return None
    value = int(raw)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        form.error(name, f"{label}应在 {minimum} 至 {maximum} 之间", "form.range")
        return None
    return value


def date_field(form: Form, name: str, label: str, *, required: bool = True) -> date | None:
    """A `date` input (YYYY-MM-DD)."""
    raw = str(form.values.get(name, "") or "").strip()
    if not raw:
        if required:
            form.error(name, f"请填写{label}", "form.required")
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        form.error(name, f"{label}格式应为 2026-11-10", "form.date")
        return None


def local_datetime_field(form: Form, name: str, label: str) -> datetime | None:
    """A `datetime-local` input, read as Beijing time."""
    raw = str(form.values.get(name, "") or "").strip()
    if not raw:
        form.error(name, f"请填写{label}", "form.required")
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        form.error(name, f"{label}格式不正确", "form.datetime")
        return None
    return value.replace(tzinfo=CHINA_TZ) if value.tzinfo is None else value


#: The last page a paged list goes to: a URL cannot ask the database for any offset it likes.
MAX_PAGE = 10_000


def page_number(raw: object) -> int:
    """A paged list's page from its query string: 1 unless a whole number, at most MAX_PAGE."""
    text = str(raw or "").strip()
    if not (text.isascii() and text.isdigit()):
        return 1
    return MAX_PAGE if len(text) > 5 else max(1, min(int(text), MAX_PAGE))
