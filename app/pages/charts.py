"""Bar charts drawn on the server as inline SVG (no script, no library): the geometry here,
the drawing in the `hbar_chart` macro of app/templates/_charts.html. One row per label with
one bar per series (the dashboard's deal totals; the income board's due beside received)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

#: Width of the longest bar, and the rows' height per bar (bar 18 + gap).
WIDTH: Final = 320
BAR_STEP: Final = 22
ROW_GAP: Final = 6
#: CSS classes of the series, in order (app.css: .chart .bar, .chart .bar.alt).
SERIES_CLASSES: Final = ("bar", "bar alt")


def hbars(
    rows: Sequence[tuple[str, Sequence[int], Sequence[str]]], width: int = WIDTH
) -> dict[str, Any]:
    """`rows` of (label, values, notes) — one value and its note per series — as bars scaled
    to the largest value; a positive value never draws narrower than 2 units, zero draws none."""
    top = max((v for _, values, _ in rows for v in values), default=0) or 1
    series = max((len(values) for _, values, _ in rows), default=1)
    step = series * BAR_STEP + ROW_GAP
    out = []
    for i, (label, values, notes) in enumerate(rows):
        y = i * step
        out.append(
            {
                "label": label,
                "y": y,
                "bars": [
                    {
                        "y": y + j * BAR_STEP,
                        "w": max(2, round(v * width / top)) if v > 0 else 0,
                        "cls": SERIES_CLASSES[j % len(SERIES_CLASSES)],
                        "note": note,
                    }
                    for j, (v, note) in enumerate(zip(values, notes, strict=True))
                ],
            }
        )
    return {"rows": out, "height": len(rows) * step + 8}
