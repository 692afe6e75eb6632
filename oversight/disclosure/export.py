"""The income board as files: the income of every region by year (CSV, or the first sheet of
the XLSX) and, on a village's board, its leases in force (`table=leases`, or the second
sheet). Same figures as the JSON answer; names of lessees masked as there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from oversight.disclosure.board import LEVEL_NAMES_ZH
from oversight.disclosure.schemas import Disclosure, RegionIncome
from oversight.stats.export import Columns, table_csv, table_xlsx

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


def to_csv(board: Disclosure, table: str = "income") -> bytes:
    if table == "leases":
        return table_csv(LEASE_COLUMNS, lease_rows(board))
    return table_csv(INCOME_COLUMNS, income_rows(board))


def to_xlsx(board: Disclosure) -> bytes:
    sheets: list[tuple[str, Columns, list[dict[str, Any]]]] = [
        ("租金收入", INCOME_COLUMNS, income_rows(board))
    ]
    if any(v.leases is not None for v in board.villages):
        sheets.append(("在租项目", LEASE_COLUMNS, lease_rows(board)))
    return table_xlsx(sheets)
