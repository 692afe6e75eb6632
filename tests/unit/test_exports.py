"""Files for people (oversight.stats.export): the CSV opens in Excel (UTF-8 BOM) with Chinese
headers, amounts in yuan as exact decimal strings from fen and a labelled 合计 row; the XLSX
holds the same as numbers with their formats (#,##0.00 for yuan, percentages, dates). The
XLSX is read back from its XML (the workbook format itself), so no reader library is needed."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from xml.etree import ElementTree

from hypothesis import given
from hypothesis import strategies as st

from core.money import format_yuan, yuan_decimal
from oversight.stats.export import Column, Sheet, sheet_csv, sheet_xlsx

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
#: The built-in number formats a workbook may name by id alone.
BUILTIN = {0: "General", 3: "#,##0", 4: "#,##0.00", 10: "0.00%", 14: "mm-dd-yy"}


def read_xlsx(content: bytes) -> dict[str, list[list[tuple[str, str]]]]:
    """Every sheet by name: its rows of (value as written, number format) — dates as serial
    numbers, strings resolved from the shared strings, ("", "") for an empty cell (columns
    A to Z)."""
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        shared = [
            "".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
            for si in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", NS)
        ]
        styles = ElementTree.fromstring(book.read("xl/styles.xml"))
        custom = {
            int(f.get("numFmtId", "0")): f.get("formatCode", "")
            for f in styles.findall("m:numFmts/m:numFmt", NS)
        }
        formats = [
            custom.get(int(xf.get("numFmtId", "0")), BUILTIN.get(int(xf.get("numFmtId", "0")), ""))
            for xf in styles.findall("m:cellXfs/m:xf", NS)
        ]
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels}
        out = {}
        for sheet in workbook.findall("m:sheets/m:sheet", NS):
            xml = ElementTree.fromstring(book.read(f"xl/{targets[sheet.get(R)]}"))
            rows = []
            for row in xml.findall("m:sheetData/m:row", NS):
                cells: list[tuple[str, str]] = []
                for c in row.findall("m:c", NS):
                    value = c.findtext("m:v", "", NS)
                    if c.get("t") == "s":
                        value = shared[int(value)]
                    column = ord(re.sub(r"\d", "", c.get("r", "A"))[-1]) - ord("A")
                    cells += [("", "")] * (column - len(cells))  # empty cells are not written
                    cells.append((value, formats[int(c.get("s", "0"))]))
                rows.append(cells)
            out[sheet.get("name", "")] = rows
    return out


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode()), "no BOM: Excel would not read it as UTF-8"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


SHEET = Sheet(
    "统计",
    [
        Column("village", "村"),
        Column("month", "月份", "month"),
        Column("deals", "成交宗数", "count"),
        Column("deal_total_fen", "成交总额（元）", "yuan"),
        Column("premium_rate", "溢价率（%）", "percent"),
        Column("lease_end", "租期结束", "date"),
    ],
    [
        {
            "village": "杏田村",
            "month": "2026-12",
            "deals": 1,
            "deal_total_fen": 24_000_000,
            "premium_rate": "100.00",
            "lease_end": "2037-01-31",
        },
        {
            "village": "玉埕村",
            "month": "2027-01",
            "deals": 0,
            "deal_total_fen": 5,
            "premium_rate": None,
        },
    ],
    {"deals": 1, "deal_total_fen": 24_000_005, "premium_rate": "100.00"},
)


def test_the_csv_is_for_excel_in_chinese_and_yuan() -> None:
    header, first, second, total = read_csv(sheet_csv(SHEET))
    assert header == ["村", "月份", "成交宗数", "成交总额（元）", "溢价率（%）", "租期结束"]
    assert not any(re.search(r"[A-Za-z]", h) for h in header)
    assert first == ["杏田村", "2026-12", "1", "240000.00", "100.00", "2037-01-31"]
    assert second == ["玉埕村", "2027-01", "0", "0.05", "", ""]
    assert total == ["合计", "", "1", "240000.05", "100.00", ""]


def test_the_xlsx_holds_numbers_with_their_formats() -> None:
    (name, rows), *_ = read_xlsx(sheet_xlsx([SHEET])).items()
    assert name == "统计"
    header, first, _, total = rows
    assert [v for v, _ in header] == [c.label for c in SHEET.columns]
    village, month, deals, amount, rate, end = first
    assert village == ("杏田村", "General")
    assert amount == ("240000.00", "#,##0.00")  # written exactly, shown as 240,000.00
    assert deals == ("1", "#,##0")
    assert rate == ("1.0000", "0.00%")
    serial = date(1899, 12, 30) + timedelta(days=int(month[0]))
    assert serial == date(2026, 12, 1) and month[1] == "yyyy-mm"
    assert date(1899, 12, 30) + timedelta(days=int(end[0])) == date(2037, 1, 31)
    assert end[1] == "yyyy-mm-dd"
    assert total[0] == ("合计", "General") and total[3] == ("240000.05", "#,##0.00")


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_yuan_in_files_is_the_exact_amount(fen: int) -> None:
    written = str(yuan_decimal(fen))
    assert re.fullmatch(r"-?\d+\.\d\d", written)
    assert Decimal(written) * 100 == fen
    assert written == format_yuan(fen).replace(",", "")
