"""A bidder's path from registration to refund (or to the lease) in words: where their
registration and deposit stand, what the link to their deposit page says, what happens next
and when, and — for the winner — what they pay and when (the payment plan).

Pure: the caller reads the rows; the dates are written with the pages' formatters (deadlines
by `core.clock.deadline_zh`, as the contract and the notices write them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.pages.labels import OUTCOMES_ZH, bj, deadline, yuan
from auction.models import Auction, Deal
from contracts.models import Contract, ContractState
from core.settings import ExchangeSettings
from listings import economics
from listings.models import Listing, Registration
from listings.schemas import Terms

#: A deposit's state that says more than the registration's (after the hammer).
_DEPOSIT_STATUS = {
    "refundable": "保证金待退还",
    "refunded": "保证金已退还",
    "credited_to_rent": "保证金已转作租金",
    "forfeited": "保证金不予退还",
}
_REGISTRATION_STATUS = {
    "pending_deposit": "待缴纳保证金",
    "deposit_paid": "保证金已到账，待资格审核",
    "qualified": "已确认竞买资格",
    "rejected": "未通过资格审核",
}
#: The link from a listing or the registrations list to the deposit page, by what it holds.
_DEPOSIT_LINK = {
    "refundable": "查看保证金退还情况",
    "refunded": "查看保证金退还情况",
    "credited_to_rent": "查看保证金转作租金情况",
    "forfeited": "查看保证金处理结果",
}
_REGISTRATION_LINK = {
    "pending_deposit": "查看缴款说明",
    "deposit_paid": "查看保证金到账情况",
    "qualified": "查看竞买资格与保证金",
    "rejected": "查看审核结果",
}


def status_of(r: Registration) -> str:
    """Where the registration and its deposit stand, in a few words."""
    return _DEPOSIT_STATUS.get(r.deposit_state) or _REGISTRATION_STATUS.get(r.state, "")


def link_of(r: Registration) -> str:
    """The words of the link to the registration's deposit page: they follow its state."""
    return _DEPOSIT_LINK.get(r.deposit_state) or _REGISTRATION_LINK.get(r.state, "查看报名详情")


@dataclass(frozen=True, slots=True)
class Step:
    """One stage of the path, done, current or still to come."""

    label: str
    state: str  # done | current | todo | skipped


def steps_of(r: Registration, listing: Listing) -> list[Step]:
    """报名 → 缴纳保证金 → 资格审核 → 网络竞价 → 结果与保证金, as far as this bidder got."""
    paid = r.state in ("deposit_paid", "qualified", "rejected") or r.deposit_state != "pending"
    decided = r.state in ("qualified", "rejected")
    ended = listing.state in ("sold", "failed")
    out = [Step("报名", "done"), Step("缴纳保证金", "done" if paid else "current")]
    out.append(Step("资格审核", "done" if decided else ("current" if paid else "todo")))
    no_auction = listing.outcome in ("no_bidders", "too_few_bidders", "agreement")
    if r.state == "rejected" or (ended and no_auction):
        out.append(Step("网络竞价", "skipped"))
    elif listing.state == "auction":
        out.append(Step("网络竞价", "current"))
    else:
        out.append(Step("网络竞价", "done" if ended and decided else "todo"))
    settled = r.deposit_state in ("refunded", "credited_to_rent", "forfeited")
    out.append(Step("结果与保证金", "done" if settled else ("current" if ended else "todo")))
    return out


def next_steps(
    r: Registration,
    listing: Listing,
    *,
    deal: Deal | None,
    contract: Contract | None,
    auction: Auction | None,
    settings: ExchangeSettings,
) -> list[str]:
    """What happens next for this bidder and when, in sentences. `settings` are the
    exchange's as the listing's announcement fixed them (listings.announced.as_announced)."""
    closes = listing.registration_closes_at
    if listing.state == "announced":
        return _while_open(r, closes, listing)
    if r.state in ("pending_deposit", "rejected"):
        lead = (
            "报名截止前保证金未到账，未取得竞买资格。"
            if r.state == "pending_deposit"
            else "您未通过资格审核，不能参加本项目竞价。"
        )
        return [lead, *_refund(r)]
    if listing.state == "auction":
        if auction is not None and auction.status not in ("scheduled", "ended"):
            return [f"网络竞价正在进行，您的竞买号是 {r.bidder_number}。请进入竞价大厅出价。"]
        return [
            f"您已取得竞买资格（竞买号 {r.bidder_number}）。网络竞价于 "
            f"{bj(listing.auction_starts_at)} 开始，请届时进入竞价大厅。"
        ]
    if listing.state == "failed" and (deal is None or deal.registration_id != r.id):
        why = OUTCOMES_ZH.get(listing.outcome or "", "流拍")
        return [f"本项目没有成交（{why}）。", *_refund(r)]
    if deal is not None and deal.registration_id == r.id:
        return _won(r, listing, deal, contract, settings)
    if deal is not None and deal.state == "offered" and deal.runner_up_id == r.id:
        assert deal.offer_expires_at is not None
        return [
            "原竞得人的成交已撤销，本项目向您递补成交（以您最后一次有效出价）。"
            f"请在 {deadline(deal.offer_expires_at)}前 在项目页面接受或放弃；逾期未答复视为放弃。"
        ]
    if deal is not None and deal.runner_up_id == r.id and r.deposit_state == "held":
        return [
            "您未竞得，是本项目的候补竞买人：成交合同签订前您的保证金继续冻结；"
            "原竞得人的成交撤销时，将向您发出递补成交通知；合同签订后您的保证金原路退还。"
        ]
    return ["您未竞得本项目。", *_refund(r)]


def _while_open(r: Registration, closes: datetime | None, listing: Listing) -> list[str]:
    if r.state == "pending_deposit":
        return [
            f"请在 {deadline(closes)}前（报名截止）缴纳保证金 {yuan(r.deposit_fen)}，"
            "以到账时间为准；到账后交易中心进行资格审核。逾期未到账的，不能取得竞买资格。"
        ]
    if r.state == "deposit_paid":
        return [
            "保证金已到账，等待交易中心资格审核。报名截止时尚未审核的，自动取得竞买资格；"
            f"网络竞价于 {bj(listing.auction_starts_at)} 开始。"
        ]
    if r.state == "qualified":
        return [
            f"您已取得竞买资格，竞买号 {r.bidder_number}（仅本项目有效，竞价中他人只看到此号码）。"
            f"网络竞价于 {bj(listing.auction_starts_at)} 开始，请届时进入竞价大厅。"
        ]
    return ["您未通过资格审核，不能参加本项目竞价。", *_refund(r)]


def _refund(r: Registration) -> list[str]:
    """What becomes of the deposit of a bidder who will not lease the asset."""
    money = yuan(r.deposit_fen)
    if r.deposit_state == "refundable" and r.refund_due_at is not None:
        return [f"您的保证金 {money} 将于 {deadline(r.refund_due_at)}前 原路退还，不计利息。"]
    if r.deposit_state == "refunded":
        return [f"您的保证金 {money} 已原路退还。"]
    if r.deposit_state == "forfeited":
        return [f"您的保证金 {money} 按竞买须知不予退还。"]
    if r.deposit_state == "pending":
        return ["您没有缴纳保证金，无需退还。"]
    return [f"您的保证金 {money} 将按竞买须知原路退还。"]


def _won(
    r: Registration,
    listing: Listing,
    deal: Deal,
    contract: Contract | None,
    settings: ExchangeSettings,
) -> list[str]:
    days = settings.contract_sign_deadline_working_days
    if deal.state in ("voided", "offered"):
        return ["您竞得的成交已撤销。", *_refund(r)]
    if deal.state == "publicity":
        return [
            f"您竞得本项目。成交结果公示至 {deadline(listing.publicity_ends_at)}；"
            "公示期满且没有待处理的异议，成交即确认。",
            f"成交确认后生成合同，须在 {days} 个工作日内完成电子签署（村集体先签，您后签），"
            "签署期限届时在“我的成交”中显示。",
            "签约后您的保证金转作首期租金，此后按付款计划缴纳租金（见“我的成交”）。",
        ]
    if contract is None:
        return ["成交已确认，合同正在生成。"]
    if contract.state in (ContractState.DRAFTED, ContractState.SIGNED_BY_VILLAGE):
        who = (
            "村集体签署后，请您"
            if contract.state == ContractState.DRAFTED
            else "村集体已签署，请您"
        )
        return [
            f"成交已确认，合同已生成。{who}在 {deadline(contract.sign_deadline)}前 "
            "在“我的成交”中完成电子签署；逾期未签署的，保证金不予退还。",
            "签约后您的保证金转作首期租金，此后按付款计划缴纳租金。",
        ]
    return ["合同已签订，请按付款计划按期缴纳租金（见“我的成交”）。"]


# ----- the winner's payment plan -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanLine:
    """One installment before the lease's dates are known (the contract fixes them)."""

    number: int
    months: str  # e.g. 起租后第 1–12 个月
    due: str  # e.g. 起租日前
    amount_fen: int
    credited_fen: int

    @property
    def payable_fen(self) -> int:
        return self.amount_fen - self.credited_fen


def projected_plan(terms: Terms, final_fen: int, deposit_fen: int) -> list[PlanLine]:
    """The installments at the final price, the deposit credited from the first (as the
    contract will: contracts.content.schedule), with the periods counted from the lease start."""
    out, left = [], deposit_fen
    for inst in economics.schedule_of(terms, final_fen):
        credited = min(left, inst.amount_fen)
        left -= credited
        first, last = inst.months
        months = f"起租后第 {first} 个月" if first == last else f"起租后第 {first}–{last} 个月"
        due = "起租日前" if inst.due_month == 0 else f"起租后第 {inst.due_month + 1} 个月开始之日前"
        out.append(PlanLine(inst.number, months, due, inst.amount_fen, credited))
    return out
