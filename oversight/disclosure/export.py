"""The income board as files: the income of every region by year (CSV, or the first sheet of
the XLSX) and, on a village's board, its leases in force (`table=leases`, or the second
sheet). Same figures as the JSON answer; names of lessees masked as there. For people (CSV,
XLSX: Chinese headers, yuan, each region's 合计 row) and for programs (`csv_fen`: field names,
fen), as the statistics (oversight.stats.export)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from oversight.disclosure.board import LEVEL_NAMES_ZH
from oversight.disclosure.schemas import Disclosure, RegionIncome
from oversight.stats.export import Column, Columns, Kind, Sheet, sheet_csv, sheet_xlsx, table_csv

INCOME_COLUMNS: Final = (
    ("level", "层级"),
    ("path", "地区路径"),
    ("name", "地区"),
    ("year", "年度"),
    ("leases_in_force", "在租项目数"),
    ("due_fen", "应收租金（分）"),
    ("received_fen", "实收租金（分）"),
    ("arrears_fen", "欠缴租金（分）"),
    ("waived_fen", "减免租金（分）"),
    ("collection_rate", "收缴率（%）"),
)
LEASE_COLUMNS: Final = (
    ("listing_id", "项目编号"),
    ("asset", "资产"),
    ("category_name", "资产类别"),
    ("lessee", "承租方"),
    ("lease_start", "租期开始"),
    ("lease_end", "租期结束"),
    ("lease_year", "当前租赁年度"),
    ("yearly_rent_fen", "当年年租金（分）"),
    ("first_year_rent_fen", "首年年租金（分）"),
    ("premium_rate", "溢价率（%）"),
    ("due_fen", "应收租金（分）"),
    ("received_fen", "实收租金（分）"),
    ("arrears_fen", "欠缴租金（分）"),
)


#: How each column is written for people (amounts in yuan, dates as dates).
KINDS: Final[dict[str, Kind]] = {
    "leases_in_force": "count",
    "due_fen": "yuan",
    "received_fen": "yuan",
    "arrears_fen": "yuan",
    "waived_fen": "yuan",
    "collection_rate": "percent",
    "lease_start": "date",
    "lease_end": "date",
    "lease_year": "count",
    "yearly_rent_fen": "yuan",
    "first_year_rent_fen": "yuan",
    "premium_rate": "percent",
}


def _for_people(columns: Columns) -> list[Column]:
    return [
        Column(key, label.replace("（分）", "（元）"), KINDS.get(key, "text"))
        for key, label in columns
    ]


def _regions(board: Disclosure) -> Iterator[RegionIncome]:
    yield from board.counties
    yield from board.towns
    yield from board.villages


def income_rows(board: Disclosure) -> list[dict[str, Any]]:
    """Per region (counties, towns, villages): a row per year, then its total ("合计")."""
    rows: list[dict[str, Any]] = []
    for region in _regions(board):
        income = region.income
        head = {"level": LEVEL_NAMES_ZH.get(region.level, region.level), "path": region.path}
        head["name"] = region.name
        for year in income.by_year:
            rows.append(
                {
                    **head,
                    "year": year.year,
                    "due_fen": year.due_fen,
                    "received_fen": year.received_fen,
                    "arrears_fen": year.arrears_fen,
                    "waived_fen": year.waived_fen,
                }
            )
        rows.append(
            {
                **head,
                "year": "合计",
                "leases_in_force": income.leases_in_force,
                "due_fen": income.due_fen,
                "received_fen": income.received_fen,
                "arrears_fen": income.arrears_fen,
                "waived_fen": income.waived_fen,
                "collection_rate": income.collection_rate,
            }
        )
    return rows


def lease_rows(board: Disclosure) -> list[dict[str, Any]]:
    rows = []
    for village in board.villages:
        for lease in village.leases or ():
            row = {key: getattr(lease, key) for key, _ in LEASE_COLUMNS}
            row["lease_start"] = lease.lease_start.isoformat()
            row["lease_end"] = lease.lease_end.isoformat()
            rows.append(row)
    return rows


def _sheets(board: Disclosure) -> list[Sheet]:
    sheets = [Sheet("租金收入", _for_people(INCOME_COLUMNS), income_rows(board))]
    if any(v.leases is not None for v in board.villages):
        sheets.append(Sheet("在租项目", _for_people(LEASE_COLUMNS), lease_rows(board)))
    return sheets


def to_csv(board: Disclosure, table: str = "income") -> bytes:
    """For people: Chinese headers, amounts in yuan ("24000.00"), each region's 合计 row."""
    income, *leases = _sheets(board)
    if table == "leases":
        return sheet_csv(leases[0] if leases else Sheet("在租项目", _for_people(LEASE_COLUMNS), []))
    return sheet_csv(income)


def to_csv_fen(board: Disclosure, table: str = "income") -> bytes:
    """For programs: field names, labels, integer fen."""
    if table == "leases":
        return table_csv(LEASE_COLUMNS, lease_rows(board))
    return table_csv(INCOME_COLUMNS, income_rows(board))


def to_xlsx(board: Disclosure) -> bytes:
    return sheet_xlsx(_sheets(board))
