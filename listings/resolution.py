"""The village's resolution (四议两公开) checked and written out: pure, no IO, no clock.

The thresholds are the law's (docs/domain.md §3): 村民委员会组织法 art. 22 — a villagers'
meeting (村民会议) is held with more than half of the villagers aged 18 or over, or two thirds
or more of the households, present; art. 26 — a representatives' meeting (村民代表会议) with two
thirds or more of its members present; either decides by more than half of those present.
土地管理法 art. 63 — leasing out collective operating construction land needs the consent of
two thirds or more of the villagers' meeting's members or of the representatives. "以上"
includes the number itself (民法典 art. 1259); "过半数" does not.
"""

from __future__ import annotations

from datetime import date

from core.errors import DomainError, InvalidInput, RuleViolation
from listings.schemas import CATEGORY_NAMES_ZH, MEETING_KINDS_ZH, Resolution

#: Categories whose lease needs two thirds of all members' consent, with the law that says so.
TWO_THIRDS_OF_MEMBERS = {"collective_construction_land": "土地管理法第六十三条"}


def _at_least_two_thirds(n: int) -> int:
    return (2 * n + 2) // 3


def _more_than_half(n: int) -> int:
    return n // 2 + 1


def quorum(resolution: Resolution) -> int:
    """The fewest present with which the meeting could be held."""
    if resolution.meeting_kind == "villagers_meeting" and resolution.attendance_basis == "persons":
        return _more_than_half(resolution.entitled)
    return _at_least_two_thirds(resolution.entitled)


def _quorum_rule(resolution: Resolution) -> str:
    if resolution.meeting_kind == "representatives_meeting":
        return "村民代表会议须有三分之二以上的组成人员参加"
    if resolution.attendance_basis == "households":
        return "村民会议须有本村三分之二以上的户的代表参加"
    return "村民会议须有本村十八周岁以上村民的过半数参加"


def votes_needed(resolution: Resolution, category: str) -> int:
    """The fewest votes for with which the resolution is adopted."""
    least = _more_than_half(resolution.present)
    if category in TWO_THIRDS_OF_MEMBERS:
        least = max(least, _at_least_two_thirds(resolution.entitled))
    return least


def _unit(resolution: Resolution) -> str:
    return "户" if resolution.attendance_basis == "households" else "人"


def check(resolution: Resolution, *, category: str, today: date) -> None:
    """The facts agree with one another and with the law, and the meeting has been held by
    `today` (the server's date in China). The first fault found is raised."""
    found = faults(resolution, category=category, today=today)
    if found:
        raise found[0]


def faults(resolution: Resolution, *, category: str, today: date) -> list[DomainError]:
    """Every fault of the facts, in the order `check` looks for them (a form shows them all
    at once, each next to its input)."""
    r, unit = resolution, _unit(resolution)
    kind = MEETING_KINDS_ZH[r.meeting_kind]
    found: list[DomainError] = []
    if r.attendance_basis == "households" and r.meeting_kind != "villagers_meeting":
        found.append(InvalidInput("resolution.basis", "只有村民会议可以按户计算到会人数"))
    if r.present > r.entitled:
        found.append(
            InvalidInput(
                "resolution.present_exceeds_entitled",
                f"实到 {r.present} {unit}，多于应到 {r.entitled} {unit}",
            )
        )
    votes = r.votes_for + r.votes_against + r.abstentions
    if votes > r.present:
        found.append(
            InvalidInput(
                "resolution.votes_exceed_present",
                f"同意、反对、弃权合计 {votes} 票，多于实到 {r.present} {unit}",
            )
        )
    # The quorum and the votes needed only mean something once the counts agree.
    counts_agree = not found
    if r.meeting_date > today:
        found.append(
            InvalidInput(
                "resolution.meeting_in_future",
                f"会议日期 {zh_date(r.meeting_date)} 晚于今天（{zh_date(today)}）："
                "须为已召开的会议",
            )
        )
    if r.publicity_end < r.publicity_start:
        found.append(
            InvalidInput("resolution.publicity_order", "决议公示的结束日期不得早于开始日期")
        )
    if r.publicity_start < r.meeting_date:
        found.append(
            InvalidInput(
                "resolution.publicity_before_meeting", "决议公示的开始日期不得早于会议日期"
            )
        )
    if not counts_agree:
        return found
    least = quorum(r)
    if r.present < least:
        found.append(
            RuleViolation(
                "resolution.no_quorum",
                f"{_quorum_rule(r)}：应到 {r.entitled} {unit}，至少须到 {least} {unit}，"
                f"实到 {r.present} {unit}",
                quorum=least,
            )
        )
    adopting = _more_than_half(r.present)
    needed = votes_needed(r, category)
    if r.votes_for < adopting:
        found.append(
            RuleViolation(
                "resolution.not_adopted",
                f"{kind}所作决定须经到会人员过半数同意：实到 {r.present} {unit}，"
                f"至少须 {adopting} 票同意，同意 {r.votes_for} 票",
                votes_needed=adopting,
            )
        )
    elif r.votes_for < needed:
        found.append(
            RuleViolation(
                "resolution.two_thirds_required",
                f"{CATEGORY_NAMES_ZH.get(category, category)}出租须经{kind}三分之二以上成员同意"
                f"（{TWO_THIRDS_OF_MEMBERS[category]}）：应到 {r.entitled} {unit}，"
                f"至少须 {needed} 票同意，同意 {r.votes_for} 票",
                votes_needed=needed,
            )
        )
    return found


def require_at_submission(resolution: Resolution | None, *, documents: int, required: bool) -> None:
    """An entrustment goes to review with its resolution's facts and at least one uploaded
    resolution document (`documents` of kind `village_resolution`), unless its category is
    exempt (`required` false: `ExchangeSettings.resolution_optional_categories`)."""
    if not required:
        return
    if resolution is None:
        raise RuleViolation(
            "submit.resolution_missing",
            "提交审核前须填写村集体决议情况（四议两公开：村民会议或村民代表会议的日期、"
            "到会人数、表决结果和决议公示期）",
        )
    if documents == 0:
        raise RuleViolation(
            "submit.resolution_document_missing",
            "提交审核前须上传村民会议或村民代表会议的决议文件",
        )


def zh_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def describe(resolution: Resolution) -> str:
    """The resolution in one sentence, as the announcement and the certificate print it."""
    r, unit = resolution, _unit(resolution)
    return (
        f"{zh_date(r.meeting_date)}{MEETING_KINDS_ZH[r.meeting_kind]}，"
        f"应到{r.entitled}{unit}，实到{r.present}{unit}，"
        f"同意{r.votes_for}票，反对{r.votes_against}票，弃权{r.abstentions}票；"
        f"决议公示期{zh_date(r.publicity_start)}至{zh_date(r.publicity_end)}"
    )
