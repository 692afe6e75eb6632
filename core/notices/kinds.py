"""What a notice can be about, and which of them a person may turn off.

Required kinds tell a person of a decision about their money or their rights, or of a step
only they can take (a result, a contract to sign, a refund, rent in arrears): they cannot be
turned off. The others are reminders and receipts, on by default. docs/domain.md §6
(Notices).
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    DEPOSIT_RECEIVED = "deposit_received"  # 保证金到账
    QUALIFIED = "qualified"  # 竞买资格审核通过
    REJECTED = "rejected"  # 竞买资格未通过 (with the reason)
    AUCTION_SOON = "auction_soon"  # 竞价 30 分钟后开始
    AUCTION_STARTED = "auction_started"  # 竞价已开始
    WON = "won"  # 竞得
    NOT_WON = "not_won"  # 未竞得 (with the refund date)
    OBJECTION_FILED = "objection_filed"  # 异议已受理 (receipt to the objector)
    OBJECTION_DECIDED = "objection_decided"  # 异议已处理
    CONTRACT_READY = "contract_ready"  # 合同待签署
    CONTRACT_SIGNED = "contract_signed"  # 合同已签署
    REFUND_PAID = "refund_paid"  # 保证金已退还
    RENT_DUE = "rent_due"  # 租金 7 日内到期
    RENT_OVERDUE = "rent_overdue"  # 租金逾期
    DEAL_VOIDED = "deal_voided"  # 成交已撤销 (to the winner whose deal it was)
    DEAL_OFFERED = "deal_offered"  # 递补成交通知 (to the runner-up, with the deadline)


REQUIRED = frozenset(
    {
        Kind.REJECTED,
        Kind.WON,
        Kind.NOT_WON,
        Kind.OBJECTION_DECIDED,
        Kind.CONTRACT_READY,
        Kind.REFUND_PAID,
        Kind.RENT_OVERDUE,
        Kind.DEAL_VOIDED,
        Kind.DEAL_OFFERED,
    }
)
OPTIONAL = frozenset(Kind) - REQUIRED

KIND_NAMES_ZH: dict[Kind, str] = {
    Kind.DEPOSIT_RECEIVED: "保证金到账",
    Kind.QUALIFIED: "资格审核通过",
    Kind.REJECTED: "资格审核未通过",
    Kind.AUCTION_SOON: "竞价即将开始",
    Kind.AUCTION_STARTED: "竞价已开始",
    Kind.WON: "竞得通知",
    Kind.NOT_WON: "未竞得通知",
    Kind.OBJECTION_FILED: "异议受理回执",
    Kind.OBJECTION_DECIDED: "异议处理结果",
    Kind.CONTRACT_READY: "合同待签署",
    Kind.CONTRACT_SIGNED: "合同已签署",
    Kind.REFUND_PAID: "保证金退还",
    Kind.RENT_DUE: "租金即将到期",
    Kind.RENT_OVERDUE: "租金逾期",
    Kind.DEAL_VOIDED: "成交撤销通知",
    Kind.DEAL_OFFERED: "递补成交通知",
}
