"""Canonical JSON (RFC 8785 restricted to integers): the bytes every ledger entry is hashed over."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, TypeAlias

import msgspec

JSONValue: TypeAlias = "bool | int | str | Sequence[JSONValue] | Mapping[str, JSONValue] | None"

# Integers beyond ±(2**53 − 1) are not exactly representable as I-JSON numbers, so a
# JavaScript or RFC 8785 verifier would read a different value than the one we hashed.
MAX_SAFE_INTEGER: Final = 2**53 - 1

_SHORT_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def canonical_json(obj: JSONValue) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of a JSON value made of None/bool/int/str/list/dict.

    Floats raise TypeError (money is integer fen; RFC 8785 number formatting is avoided
    entirely); integers outside ±(2**53 − 1) and strings that are not valid Unicode raise
    ValueError. Object keys are sorted by UTF-16 code units as RFC 8785 §3.2.3 requires,
    which equals code-point order unless keys mix U+E000–U+FFFF with astral characters.
    """
    if _plain(obj):
        # The common case, checked above to be one where msgspec's sorted output is RFC 8785's:
        # exact-type values, safe integers, ASCII keys (code-point order = UTF-16 order).
        try:
            return _encode_sorted(obj)
        except UnicodeEncodeError as exc:  # a lone surrogate
            raise ValueError("string is not valid Unicode (lone surrogate)") from exc
    return canonical_json_reference(obj)


def canonical_json_reference(obj: JSONValue) -> bytes:
    """The same bytes, written out by hand from RFC 8785: the reference the fast path is
    checked against, and the path for values it does not take (e.g. non-ASCII keys)."""
    parts: list[str] = []
    _encode_json(obj, parts)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be UTF-8
        raise ValueError("string is not valid Unicode (lone surrogate)") from exc


def _encode_json(obj: object, out: list[str]) -> None:
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        if not -MAX_SAFE_INTEGER <= obj <= MAX_SAFE_INTEGER:
            raise ValueError(f"integer {obj} is outside the I-JSON safe range; use a string")
        out.append(str(int(obj)))  # int(): an IntEnum's str() would not be its value
    elif isinstance(obj, str):
        out.append(_json_string(obj))
    elif isinstance(obj, Mapping):
        items: list[tuple[str, object]] = []
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"object keys must be str, not {type(key).__name__}")
            items.append((key, value))
        items.sort(key=lambda item: _utf16_sort_key(item[0]))
        out.append("{")
        for position, (key, value) in enumerate(items):
            if position:
                out.append(",")
            out.append(_json_string(key))
            out.append(":")
            _encode_json(value, out)
        out.append("}")
    elif isinstance(obj, list | tuple):
        out.append("[")
        for position, value in enumerate(obj):
            if position:
                out.append(",")
            _encode_json(value, out)
        out.append("]")
    else:
        raise TypeError(f"{type(obj).__name__} is not canonical-JSON serialisable")


_encode_sorted = msgspec.json.Encoder(order="sorted").encode


def _plain(obj: object) -> bool:
    """Whether `obj` is made only of exact None/bool/str/safe int/list/tuple/dict, ASCII keys."""
    kind = type(obj)
    if kind is dict:
        for key, value in obj.items():  # type: ignore[attr-defined]
            if type(key) is not str or not key.isascii() or not _plain_leaf(value):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_plain_leaf(value) for value in obj)  # type: ignore[attr-defined]
    return _plain_leaf(obj)


def _plain_leaf(obj: object) -> bool:
    # The scalars inline, containers by recursion: every ledger payload is a flat-ish dict,
    # and a call per value was most of what checking one cost (two checks per entry).
    kind = type(obj)
    if kind is str or obj is None or kind is bool:
        return True
    if kind is int:
        return -MAX_SAFE_INTEGER <= obj <= MAX_SAFE_INTEGER  # type: ignore[operator]
    if kind is dict or kind is list or kind is tuple:
        return _plain(obj)
    return False


def _utf16_sort_key(key: str) -> bytes:
    try:
        return key.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise ValueError("object key is not valid Unicode (lone surrogate)") from exc


def _json_string(value: str) -> str:
    # ECMAScript JSON.stringify escaping (RFC 8785 §3.2.2.2): only '"', '\\' and C0 controls.
    chunks = ['"']
    for ch in value:
        escaped = _SHORT_ESCAPES.get(ch)
        if escaped is not None:
            chunks.append(escaped)
        elif ch < " ":
            chunks.append(f"\\u{ord(ch):04x}")
        else:
            chunks.append(ch)
    chunks.append('"')
    return "".join(chunks)
