"""Statistics as files, in two kinds.

For people (`format=csv`, `format=xlsx`): Chinese headers, amounts in yuan, a labelled 合计
row. The CSV is UTF-8 with a BOM (Excel opens it as UTF-8) and writes amounts as exact decimal
strings from fen ("12000.00"); the XLSX writes them as numbers formatted `#,##0.00`, rates as
percentages, months and dates as dates. `sheet_csv` and `sheet_xlsx` write any such table.

For programs (`format=csv_fen`): a row of field names, a row of Chinese labels, amounts in
integer fen, the totals last — the API's contract (docs/api.md §3.6). `table_csv` and
`table_xlsx` write any such table (the income board's files too)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final, Literal

from core.money import yuan_decimal
from oversight.stats.shaping import StatsResult

MEASURES: Final = (
    "listings",
    "failed",
    "deals",
    "listing_total_fen",
    "deal_total_fen",
    "premium_rate",
    "premium_rate_median",
    "premium_per_year_fen",
    "premium_over_term_fen",
    "contract_value_fen",
)
MEASURE_NAMES_ZH: Final = {
    "listings": "挂牌宗数",
    "failed": "流拍宗数",
    "deals": "成交宗数",
    "listing_total_fen": "挂牌总额（分）",
    "deal_total_fen": "成交总额（分）",
    "premium_rate": "溢价率（%，按金额加权）",
    "premium_rate_median": "溢价率中位数（%）",
    "premium_per_year_fen": "年增收（分）",
    "premium_over_term_fen": "期内增收（分）",
    "contract_value_fen": "合同总价值（分）",
}
DIMENSION_NAMES_ZH: Final = {
    "county": "县（区）",
    "town": "乡镇",
    "village": "村",
    "category": "资产类别",
    "month": "月份",
    "buyer_type": "受让方类型",
}
TOTAL_ZH: Final = "合计"

# ----- for people --------------------------------------------------------------------------

Kind = Literal["text", "count", "yuan", "percent", "month", "date"]


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a file for people: the row's key, its Chinese header, how it is written
    (`yuan` reads fen; `percent` reads "56.34"; `month` "2026-12"; `date` "2027-02-01")."""

    key: str
    label: str
    kind: Kind = "text"


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str
    columns: Sequence[Column]
    rows: Sequence[Mapping[str, Any]]
    #: The 合计 row's figures (its first column is labelled 合计), if the table has one.
    total: Mapping[str, Any] | None = None


#: Number formats of the XLSX by kind (counts without decimals, yuan with two).
XLSX_FORMATS: Final[dict[Kind, str]] = {
    "count": "#,##0",
    "yuan": "#,##0.00",
    "percent": "0.00%",
    "month": "yyyy-mm",
    "date": "yyyy-mm-dd",
}


def _cell(column: Column, value: Any) -> Any:
    """The value as the file holds it: yuan as an exact Decimal, a rate as a fraction
    (Decimal, 56.34 % → 0.5634), months and dates as dates; None stays empty."""
    if value is None or value == "":
        return None
    match column.kind:
        case "yuan":
            return yuan_decimal(int(value))
        case "count":
            return int(value)
        case "percent":
            return Decimal(str(value)).scaleb(-2)
        case "month":
            return date.fromisoformat(f"{value}-01")
        case "date":
            return date.fromisoformat(str(value))
    return str(value)


def _rows(sheet: Sheet) -> Iterable[tuple[bool, list[Any]]]:
    """(is the 合计 row, its cells) for every row of the sheet."""
    for row in sheet.rows:
        yield False, [_cell(c, row.get(c.key)) for c in sheet.columns]
    if sheet.total is not None:
        cells = [_cell(c, sheet.total.get(c.key)) for c in sheet.columns]
        cells[0] = TOTAL_ZH
        yield True, cells


def _csv_text(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if column.kind == "percent":
        return f"{value.scaleb(2):.2f}"  # back to "56.34" (%, as the header says)
    if column.kind == "month" and isinstance(value, date):
        return value.strftime("%Y-%m")
    return str(value)


def sheet_csv(sheet: Sheet) -> bytes:
    """UTF-8 with BOM; one header row of Chinese labels; amounts "12000.00"; 合计 last."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.label for c in sheet.columns])
    for _, cells in _rows(sheet):
        writer.writerow([_csv_text(c, v) for c, v in zip(sheet.columns, cells, strict=True)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def sheet_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """One worksheet per sheet: a bold header row of Chinese labels (frozen), each cell with
    its kind's number format, the 合计 row bold."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    formats = {
        (kind, bold): book.add_format({"num_format": fmt, "bold": bold})
        for kind, fmt in XLSX_FORMATS.items()
        for bold in (False, True)
    }
    plain = {False: book.add_format({}), True: book.add_format({"bold": True})}
    header = book.add_format({"bold": True, "bg_color": "#F0F3F6", "border": 1})
    for sheet in sheets:
        ws = book.add_worksheet(sheet.name)
        for col, column in enumerate(sheet.columns):
            ws.write_string(0, col, column.label, header)
            ws.set_column(col, col, max(12, len(column.label) * 2))
        for r, (total, cells) in enumerate(_rows(sheet), start=1):
            for col, (column, value) in enumerate(zip(sheet.columns, cells, strict=True)):
                if value is None:
                    continue
                style = formats.get((column.kind, total), plain[total])
                if isinstance(value, date):
                    ws.write_datetime(r, col, value, style)
                elif isinstance(value, int | Decimal):
                    ws.write_number(r, col, value, style)  # exact: Decimal is written as is
                else:
                    ws.write_string(r, col, str(value), plain[total])
        ws.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


def _people_columns(result: StatsResult) -> list[Column]:
    columns = []
    for dim in result.query.group_by:
        key = {"category": "category_name", "buyer_type": "buyer_type_name"}.get(dim, dim)
        kind: Kind = "month" if dim == "month" else "text"
        columns.append(Column(key, DIMENSION_NAMES_ZH[dim], kind))
    for m in MEASURES:
        label = MEASURE_NAMES_ZH[m].replace("（分）", "（元）")
        kind = "yuan" if m.endswith("_fen") else "percent" if "rate" in m else "count"
        columns.append(Column(m, label, kind))
    return columns


def stats_sheet(result: StatsResult) -> Sheet:
    return Sheet("统计", _people_columns(result), result.rows, result.totals)


def to_csv(result: StatsResult) -> bytes:
    """The statistic for people: Chinese headers, yuan, 合计 (Excel opens it as is)."""
    return sheet_csv(stats_sheet(result))


def to_xlsx(result: StatsResult) -> bytes:
    return sheet_xlsx([stats_sheet(result)])


# ----- for programs ------------------------------------------------------------------------

Columns = Sequence[tuple[str, str]]


def _export_columns(result: StatsResult) -> list[tuple[str, str]]:
    columns: list[tuple[str, str]] = []
    names = DIMENSION_NAMES_ZH
    for dim in result.query.group_by:
        if dim in ("county", "town", "village"):
            columns += [(dim, names[dim]), (f"{dim}_path", f"{names[dim]}路径")]
        elif dim == "category":
            columns += [("category", "类别代码"), ("category_name", names[dim])]
        elif dim == "buyer_type":
            columns += [("buyer_type_name", names[dim])]
        else:
            columns += [("month", names[dim])]
    return columns + [(m, MEASURE_NAMES_ZH[m]) for m in MEASURES]


def to_csv_fen(result: StatsResult) -> bytes:
    """The statistic for programs: field names, labels, integer fen, the totals last."""
    return table_csv(_export_columns(result), [*result.rows, result.totals])


def table_csv(columns: Columns, rows: Iterable[dict[str, Any]]) -> bytes:
    """UTF-8 with BOM (Excel opens it as UTF-8); a header of field names and one of labels."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([key for key, _ in columns])
    writer.writerow([label for _, label in columns])
    for row in rows:
        writer.writerow(["" if row.get(key) is None else row.get(key) for key, _ in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def table_xlsx(sheets: Sequence[tuple[str, Columns, Iterable[dict[str, Any]]]]) -> bytes:
    """One worksheet per (name, columns, rows): a row of labels, one of field names, the rows;
    integers (counts, fen) as numbers, everything else as text."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    bold = book.add_format({"bold": True})
    for name, columns, rows in sheets:
        sheet = book.add_worksheet(name)
        for col, (key, label) in enumerate(columns):
            sheet.write_string(0, col, label, bold)
            sheet.write_string(1, col, key)
            sheet.set_column(col, col, max(12, len(label) * 2))
        for r, row in enumerate(rows, start=2):
            for col, (key, _) in enumerate(columns):
                value = row.get(key)
                if value is None:
                    continue
                if isinstance(value, int) and not isinstance(value, bool):
                    sheet.write_number(r, col, value)  # counts and fen: exact below 2^53
                else:
                    sheet.write_string(r, col, str(value))
        sheet.freeze_panes(2, 0)
    book.close()
    return buffer.getvalue()
