"""Render the deal's documents to PDF/A with typst, deterministically, with a glyph check.

* The data goes in as JSON through `sys.inputs` and the templates only lay its strings out
  (`contracts/templates/*.typ`); nothing of it is spliced into markup.
* The same data and the same timestamp give the same bytes: the creation date is fixed to
  a time of the deal, system fonts are ignored except the one CJK family chosen here.
* Every character of the data and of the template must be in the font's cmap, or
  `GlyphMissing` names the font and the characters (no empty boxes in a contract).
* A CJK font is required: Noto Serif/Sans CJK SC (Debian `fonts-noto-cjk`) or WenQuanYi
  Micro Hei (`fonts-wqy-microhei`); without one, `FontMissing` says what to install.
"""

from __future__ import annotations

import json
import struct
import threading
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import typst

from contracts.content import strings_of

TEMPLATES = Path(__file__).parent / "templates"
KINDS = ("contract", "confirmation", "certificate")
#: PDF/A-2b: embedded fonts, no external dependencies; archivable.
PDF_STANDARD: Final = "a-2b"

#: (body family, heading family), first available wins.
FONT_CHOICES: tuple[tuple[str, str], ...] = (
    ("Noto Serif CJK SC", "Noto Sans CJK SC"),
    ("Noto Sans CJK SC", "Noto Sans CJK SC"),
    ("Noto Serif CJK SC", "Noto Serif CJK SC"),
    ("WenQuanYi Micro Hei", "WenQuanYi Micro Hei"),
)
INSTALL_HINT = "请以 root 安装中文字体：apt-get install -y fonts-noto-cjk（或 fonts-wqy-microhei）"


class FontMissing(RuntimeError):
    """No CJK font the documents can use is installed."""


class GlyphMissing(ValueError):
    """Some characters to be printed are not in the font (they would print as empty boxes)."""

    def __init__(self, font: str, chars: Iterable[str]) -> None:
        self.font = font
        self.chars = "".join(sorted(set(chars)))
        listed = "、".join(f"“{c}”(U+{ord(c):04X})" for c in self.chars)
        super().__init__(f"字体 {font} 缺少以下字符的字形，无法生成文档：{listed}")


class RenderError(RuntimeError):
    """typst refused the template or the data (a bug of the template, never of user input)."""


# --- fonts -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FontFace:
    family: str
    path: str
    index: int
    weight: int


@dataclass(frozen=True, slots=True)
class FontSet:
    body: str
    heading: str
    faces: tuple[FontFace, ...]

    @property
    def directories(self) -> list[str]:
        """typst loads fonts by directory; the families used are picked by name."""
        return sorted({str(Path(f.path).parent) for f in self.faces})


@lru_cache(maxsize=1)
def fonts() -> FontSet:
    """The installed CJK fonts the documents use (looked up once per process)."""
    available: dict[str, list[FontFace]] = {}
    for info in typst.Fonts(include_system_fonts=True, include_embedded_fonts=False).fonts():
        if info.path and info.style == "normal":
            available.setdefault(info.family, []).append(
                FontFace(info.family, str(info.path), info.index, info.weight)
            )
    for body, heading in FONT_CHOICES:
        if body in available and heading in available:
            faces = tuple(available[body] + (available[heading] if heading != body else []))
            return FontSet(body, heading, faces)
    wanted = "、".join(dict.fromkeys(b for b, _ in FONT_CHOICES))
    raise FontMissing(f"未找到中文字体（需要 {wanted} 之一）。{INSTALL_HINT}")


class Coverage:
    """The code points a font maps to glyphs, from its `cmap` (format 4 or 12)."""

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        ranges.sort()
        merged: list[tuple[int, int]] = []
        for start, end in ranges:
            if merged and start <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        self._starts = [s for s, _ in merged]
        self._ends = [e for _, e in merged]

    def __contains__(self, char: object) -> bool:
        if not isinstance(char, str) or len(char) != 1:
            return False
        cp = ord(char)
        i = bisect_right(self._starts, cp) - 1
        return i >= 0 and cp <= self._ends[i]


@lru_cache(maxsize=8)
def coverage(path: str, index: int) -> Coverage:
    data = Path(path).read_bytes()
    offset = 0
    if data[:4] == b"ttcf":
        (count,) = struct.unpack_from(">I", data, 8)
        if index >= count:
            raise FontMissing(f"字体文件 {path} 中没有第 {index} 个字体")
        (offset,) = struct.unpack_from(">I", data, 12 + 4 * index)
    (num_tables,) = struct.unpack_from(">H", data, offset + 4)
    cmap = None
    for i in range(num_tables):
        tag, _, table_offset, _ = struct.unpack_from(">4sIII", data, offset + 12 + 16 * i)
        if tag == b"cmap":
            cmap = table_offset
    if cmap is None:
        raise FontMissing(f"字体文件 {path} 没有 cmap 表")
    (n,) = struct.unpack_from(">H", data, cmap + 2)
    subtables = {}
    for i in range(n):
        platform, encoding, sub = struct.unpack_from(">HHI", data, cmap + 4 + 8 * i)
        subtables[(platform, encoding)] = cmap + sub
    for key in ((3, 10), (0, 4), (0, 6), (3, 1), (0, 3)):
        if key in subtables:
            return Coverage(_cmap_ranges(data, subtables[key]))
    raise FontMissing(f"字体文件 {path} 没有 Unicode cmap 子表")


def _cmap_ranges(data: bytes, at: int) -> list[tuple[int, int]]:
    (fmt,) = struct.unpack_from(">H", data, at)
    if fmt == 12:
        (groups,) = struct.unpack_from(">I", data, at + 12)
        return [
            (start, end)
            for start, end, _ in struct.iter_unpack(">III", data[at + 16 : at + 16 + 12 * groups])
        ]
    if fmt == 4:
        (seg2,) = struct.unpack_from(">H", data, at + 6)
        segs = seg2 // 2
        ends = struct.unpack_from(f">{segs}H", data, at + 14)
        starts = struct.unpack_from(f">{segs}H", data, at + 16 + seg2)
        # Glyph 0 mappings are rare enough in CJK fonts to count a segment as covered.
        return [(s, e) for s, e in zip(starts, ends, strict=True) if s != 0xFFFF]
    raise FontMissing(f"不支持的 cmap 子表格式 {fmt}")


#: Zero-width characters typst lays out without a glyph.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")


def check_glyphs(texts: Iterable[str], font_set: FontSet | None = None) -> None:
    """Raise GlyphMissing if any printable character is missing from a face we use."""
    font_set = font_set or fonts()
    wanted = {c for t in texts for c in t if not c.isspace() and c not in _INVISIBLE}
    for face in font_set.faces:
        cov = coverage(face.path, face.index)
        missing = [c for c in wanted if c not in cov]
        if missing:
            raise GlyphMissing(face.family, missing)


@lru_cache(maxsize=4)
def template_text(kind: str) -> str:
    """The text a template itself prints (its own source, base included, as a superset)."""
    return (TEMPLATES / f"{kind}.typ").read_text("utf-8") + (TEMPLATES / "base.typ").read_text(
        "utf-8"
    )


# --- rendering ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignatureBox:
    """Where the template drew a signature area: page index (0-based) and a PDF rectangle."""

    page: int
    box: tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Rendered:
    pdf: bytes
    boxes: dict[str, SignatureBox]


def canonical(data: dict[str, Any]) -> bytes:
    """The one serialisation of document data (key order does not survive a JSONB column)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


_compilers: dict[str, tuple[threading.Lock, typst.Compiler]] = {}
_compilers_lock = threading.Lock()


def _compiler(kind: str, font_set: FontSet) -> tuple[threading.Lock, typst.Compiler]:
    with _compilers_lock:
        entry = _compilers.get(kind)
        if entry is None:
            compiler = typst.Compiler(
                input=str(TEMPLATES / f"{kind}.typ"),
                root=str(TEMPLATES),
                font_paths=typst.Fonts(
                    include_system_fonts=False,
                    include_embedded_fonts=False,
                    font_paths=font_set.directories,
                ),
                ignore_system_fonts=True,
            )
            entry = _compilers[kind] = (threading.Lock(), compiler)
        return entry


def _inputs(kind: str, data: dict[str, Any], font_set: FontSet) -> dict[str, str]:
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    check_glyphs([*strings_of(data), template_text(kind)], font_set)
    payload = {**data, "fonts": {"body": font_set.body, "heading": font_set.heading}}
    return {"data": canonical(payload).decode()}


def render(kind: str, data: dict[str, Any], *, at: datetime) -> Rendered:
    """One document as PDF/A bytes; the same data and `at` always give the same bytes."""
    font_set = fonts()
    inputs = _inputs(kind, data, font_set)
    lock, compiler = _compiler(kind, font_set)
    with lock:
        try:
            pdf, warnings = compiler.compile_with_warnings(
                format="pdf",
                sys_inputs=inputs,
                pdf_standards=[PDF_STANDARD],
                timestamp=int(at.timestamp()),
            )
            boxes = _boxes(compiler) if kind == "contract" else {}
        except typst.TypstError as exc:
            raise RenderError(f"typst 渲染 {kind} 失败：{exc.message} {exc.diagnostic}") from exc
    font_warnings = [w.message for w in warnings if "font" in w.message.lower()]
    if font_warnings:
        raise FontMissing(f"{'; '.join(font_warnings)}。{INSTALL_HINT}")
    assert isinstance(pdf, bytes)
    return Rendered(pdf, boxes)


def query(kind: str, data: dict[str, Any], selector: str, field: str | None = None) -> Any:
    """Elements of the laid-out document (typst query), e.g. to see how data was placed."""
    font_set = fonts()
    inputs = _inputs(kind, data, font_set)
    lock, compiler = _compiler(kind, font_set)
    with lock:
        compiler.compile(format="pdf", sys_inputs=inputs)
        found = json.loads(compiler.query(selector, field=field))
    return found[0] if field is not None and len(found) == 1 else found


def count(kind: str, data: dict[str, Any], selector: str) -> int:
    return len(query(kind, data, selector))


#: A4 height in PDF points: typst positions are from the top, PDF's from the bottom.
_PAGE_HEIGHT_PT = 841.89


def _boxes(compiler: typst.Compiler) -> dict[str, SignatureBox]:
    out = {}
    for role in ("village", "winner"):
        raw = json.loads(compiler.query(f"<sig-{role}>", field="value", one=True))
        x, y, w, h = raw["x"], raw["y"], raw["w"], raw["h"]
        top = _PAGE_HEIGHT_PT - y
        out[role] = SignatureBox(
            page=int(raw["page"]) - 1, box=(round(x), round(top - h), round(x + w), round(top))
        )
    return out
