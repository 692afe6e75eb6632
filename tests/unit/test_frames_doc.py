"""docs/api.md §5 documents every server → client frame with exactly the structs' fields."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import msgspec

from auction import frames

API_MD = Path(__file__).parents[2] / "docs" / "api.md"


def documented() -> dict[str, list[str]]:
    """Each `#### \\`name\\`` heading of §5 with the fields of the table under it, in order."""
    text = API_MD.read_text(encoding="utf-8")
    section = text[text.index("## §5 ") : text.index("## §6 ")]
    tables: dict[str, list[str]] = {}
    name = None
    for line in section.splitlines():
        if heading := re.fullmatch(r"#### `([\w.]+)`", line):
            name = heading[1]
            tables[name] = []
        elif name is not None and (row := re.match(r"\| `(\w+)` \|", line)):
            tables[name].append(row[1])
        elif line.startswith("#") or line.startswith("**"):
            name = None
    return tables


def fields(struct: type[msgspec.Struct]) -> list[str]:
    return [f.encode_name for f in msgspec.structs.fields(struct)]


def test_every_server_frame_is_documented_with_its_fields() -> None:
    expected = {
        frames.kind(member): fields(member) for member in typing.get_args(frames.ServerFrame)
    }
    expected["snapshot.fixed_end"] = fields(frames.FixedEnd)
    expected["snapshot.result"] = fields(frames.Result)
    expected["snapshot.you"] = fields(frames.You)
    assert documented() == expected


def test_the_union_decodes_every_frame_by_its_type() -> None:
    for member in typing.get_args(frames.ServerFrame):
        assert msgspec.structs.fields(member)  # every frame says something
        assert member.__struct_config__.tag_field == "type"
