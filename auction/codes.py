"""Why a command is rejected: the codes (docs/domain.md §5) and what a bidder is told."""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    NOT_RUNNING = "not_running"
    NOT_QUALIFIED = "not_qualified"
    BELOW_MINIMUM = "below_minimum"
    NOT_STEP_MULTIPLE = "not_step_multiple"
    TOO_MANY_STEPS = "too_many_steps"
    SELF_OUTBID = "self_outbid"
    STALE = "stale"
    RATE_LIMITED = "rate_limited"
    NOT_PRIORITY_HOLDER = "not_priority_holder"
    NOTHING_TO_MATCH = "nothing_to_match"
    NOT_PAUSED = "not_paused"
    ALREADY_ENDED = "already_ended"


MESSAGES_ZH: dict[Code, str] = {
    Code.NOT_RUNNING: "竞价当前未在进行中，不能出价",
    Code.NOT_QUALIFIED: "您未取得本场竞价的竞买资格",
    Code.BELOW_MINIMUM: "出价低于当前最低可出价，请提高出价",
    Code.NOT_STEP_MULTIPLE: "出价须为当前价加上加价幅度的整数倍",
    Code.TOO_MANY_STEPS: "单次加价超过允许的最大加价幅度倍数",
    Code.SELF_OUTBID: "您已是当前最高出价人，不能自行加价",
    Code.STALE: "出价前价格已被他人刷新，请按最新价格重新出价",
    Code.RATE_LIMITED: "出价过于频繁，请稍后再试",
    Code.NOT_PRIORITY_HOLDER: "您不享有本场竞价的优先权",
    Code.NOTHING_TO_MATCH: "当前没有可以行使优先权跟价的出价",
    Code.NOT_PAUSED: "竞价未处于暂停状态，无需恢复",
    Code.ALREADY_ENDED: "竞价已结束",
}
