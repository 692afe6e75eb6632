"""The contract's clauses that depend on the deal: their Chinese wording (pure; no IO).

`contracts.content` places them in the document data; the templates print them as text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.money import format_yuan, yuan_in_words

if TYPE_CHECKING:
    from contracts.content import Item

#: Categories whose leases are rural land contracting-and-management disputes
#: (农村土地承包经营纠纷调解仲裁法 art. 2): they go to the 农村土地承包仲裁委员会.
RURAL_LAND = frozenset(
    {"land_management_rights", "forest_rights", "wasteland", "aquaculture_water"}
)

#: Each payment frequency as the contract's clause states it.
PAYMENT_CLAUSES_ZH = {
    "annual": "按年支付，每年一期，每期租金于该期开始之日前支付",
    "semiannual": "按半年支付，每半年一期，每期租金于该期开始之日前支付",
    "quarterly": "按季度支付，每三个月一期，每期租金于该期开始之日前支付",
    "monthly": "按月支付，每月一期，每期租金于该期开始之日前支付",
    "lump_sum": "一次性支付全部租期租金，于起租日前支付",
}

#: Days after signing within which the winner pays the performance deposit (履约保证金).
PERFORMANCE_DEPOSIT_DAYS = 10

#: Said of a lease start fixed in the listing: the announced terms bind, so the term and the
#: rent run from that day even where the contract is signed later.
FIXED_START_BASIS = "起租日为挂牌公告约定的日期，租赁期限和租金均自该日起算。"


def deposit_text(deposit_fen: int, credited: list[Item]) -> str:
    """The bid deposit: what it was, and the installments it pays once the contract is signed."""
    if not deposit_fen:
        return "本项目未收取竞买保证金。"
    head = (
        f"乙方已向交易平台缴纳竞买保证金人民币 {format_yuan(deposit_fen)} 元"
        f"（大写：{yuan_in_words(deposit_fen)}）。"
    )
    if not credited:
        return head
    span = (
        f"第 {credited[0].number} 期"
        if len(credited) == 1
        else f"第 {credited[0].number} 期至第 {credited[-1].number} 期"
    )
    return (
        head + f"本合同经双方签署生效后，该保证金自动转为租金，抵扣{span}应付租金"
        f"（明细见租金支付计划表），第 {credited[0].number} 期乙方实付 "
        f"{format_yuan(credited[0].payable_fen)} 元；交易平台将该款项划付甲方。"
        "乙方无正当理由未在签约期限内签署本合同的，保证金不予退还。"
    )


def performance_deposit(fen: int | None) -> dict[str, str] | None:
    """The performance deposit clause, or None where the listing asks for none. It is paid
    to the village apart from the bid deposit and is never credited to rent."""
    if not fen:
        return None
    amount, words = format_yuan(fen), yuan_in_words(fen)
    return {
        "amount": amount,
        "words": words,
        "days": str(PERFORMANCE_DEPOSIT_DAYS),
        "text": (
            f"乙方应于本合同签订之日起 {PERFORMANCE_DEPOSIT_DAYS} 日内向甲方交纳履约保证金"
            f"人民币 {amount} 元（大写：{words}）。履约保证金与竞买保证金分别计算，不抵作租金；"
            "合同期满乙方无违约的，甲方无息退还。"
        ),
    }


def dispute_clause(category: str, arbitration_commission: str = "") -> str:
    """Where disputes go: rural land to the land-contracting arbitration commission (or court);
    other assets to the commission the exchange names, or else to the court."""
    head = "因本合同发生的争议，由双方协商解决；协商不成的，"
    if category in RURAL_LAND:
        return (
            head
            + "可向租赁标的所在地农村土地承包仲裁委员会申请仲裁，也可以直接向人民法院提起诉讼。"
        )
    if arbitration_commission:
        return head + f"提交{arbitration_commission}按其仲裁规则仲裁。"
    return head + "向租赁标的所在地人民法院提起诉讼。"
