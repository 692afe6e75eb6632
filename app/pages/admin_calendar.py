"""The settings page's calendar: the holidays and makeup workdays an administrator adds (one
date a line), each line checked on its own and every mistake reported with its line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from app.pages.labels import WEEKDAYS_ZH, zh_date, zh_day
from core.workdays import PublishedYear, published_years

_DATE = re.compile(r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?")


@dataclass
class CalendarLines:
    """The days typed into the two boxes, and what is wrong with them, by box."""

    holidays: list[date] = field(default_factory=list)
    makeup_workdays: list[date] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)


def _read(text: str, name: str, out: CalendarLines) -> dict[date, int]:
    """The dates of one box by the first line each is on; a line that is no date is reported."""
    days: dict[date, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        shown = line[:20]
        match = _DATE.fullmatch(line)
        if match is None:
            out.errors.setdefault(name, []).append(
                f"第 {number} 行“{shown}”不是日期，请写成 2027-10-01 的形式"
            )
            continue
        try:
            day = date(*(int(part) for part in match.groups()))
        except ValueError:
            out.errors.setdefault(name, []).append(f"第 {number} 行“{shown}”不是有效的日期")
            continue
        days.setdefault(day, number)
    return days


def read_calendar(holidays_text: str, makeup_text: str) -> CalendarLines:
    """Both boxes checked line by line: a date each, a makeup workday on a weekend, no day in
    both boxes, none against the State Council's published arrangement."""
    out = CalendarLines()
    off = _read(holidays_text, "holidays", out)
    worked = _read(makeup_text, "makeup_workdays", out)
    published_off: set[date] = set()
    published_worked: set[date] = set()
    for year in published_years():
        published_off |= year.holidays()
        published_worked |= year.makeup_workdays()
    for day, number in off.items():
        if day in worked:
            out.errors.setdefault("holidays", []).append(
                f"第 {number} 行 {zh_date(day)} 也填在了调休上班日中，一天只能是其中一种"
            )
        elif day in published_worked:
            out.errors.setdefault("holidays", []).append(
                f"第 {number} 行 {zh_date(day)} 按国务院通知是调休上班日，不能设为节假日"
            )
    for day, number in worked.items():
        if day.weekday() < 5:
            out.errors.setdefault("makeup_workdays", []).append(
                f"第 {number} 行 {zh_date(day)} 是{WEEKDAYS_ZH[day.weekday()]}，"
                "调休上班日应为星期六或星期日"
            )
        elif day in off:
            out.errors.setdefault("makeup_workdays", []).append(
                f"第 {number} 行 {zh_date(day)} 也填在了节假日中，一天只能是其中一种"
            )
        elif day in published_off:
            out.errors.setdefault("makeup_workdays", []).append(
                f"第 {number} 行 {zh_date(day)} 按国务院通知是节假日，不能设为调休上班日"
            )
    out.holidays, out.makeup_workdays = sorted(off), sorted(worked)
    return out


def festival_lines(year: PublishedYear) -> list[str]:
    """A published year's arrangement in sentences (春节：2月15日至2月23日放假，2月14日上班)."""

    def md(day: date) -> str:
        return f"{day.month}月{day.day}日"

    lines = []
    for festival in year.festival:
        first, last = festival.off
        text = f"{festival.name}：{md(first)}" + (f"至{md(last)}" if last != first else "") + "放假"
        if festival.makeup_workdays:
            text += "，" + "、".join(md(d) for d in festival.makeup_workdays) + "上班"
        lines.append(text)
    return lines


def day_list(days: tuple[date, ...]) -> list[str]:
    return [zh_day(d) for d in sorted(days)]
