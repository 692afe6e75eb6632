"""Statistics as files: CSV (UTF-8 with BOM, for Excel) and XLSX, with a row of field names
and a row of Chinese labels. `table_csv` and `table_xlsx` write any such table (the income
board's too)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, Final

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


def _export_columns(result: StatsResult) -> list[tuple[str, str]]:
    columns: list[tuple[str, str]] = []
    names = {
        "county": "县（区）",
        "town": "乡镇",
        "village": "村",
        "category": "资产类别",
        "month": "月份",
        "buyer_type": "受让方类型",
    }
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


def _export_rows(result: StatsResult) -> list[dict[str, Any]]:
    return [*result.rows, result.totals]


def to_csv(result: StatsResult) -> bytes:
    return table_csv(_export_columns(result), _export_rows(result))


def to_xlsx(result: StatsResult) -> bytes:
    return table_xlsx([("统计", _export_columns(result), _export_rows(result))])


Columns = Sequence[tuple[str, str]]


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
