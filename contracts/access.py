"""Who may see a contract and in which role; the contract's rows as its use cases read them.

A contract is visible to its two parties (the village collective, the winner) and to staff
within their jurisdiction; anyone else gets 404, as if it did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.models import Contract, ContractState, RentItem, Signature
from core.accounts import Actor, Region
from core.errors import Conflict, NotFound
from listings import Listing, policy
from listings.policy import Facet

VILLAGE, WINNER, STAFF, PLATFORM = "village", "winner", "staff", "platform"
#: How each signing role is named in the documents.
ROLE_ZH = {VILLAGE: "甲方（出租方）", WINNER: "乙方（承租方）", PLATFORM: "鉴证方"}


@dataclass(frozen=True, slots=True)
class Access:
    contract: Contract
    village: Region
    #: village | winner | staff
    role: str


async def load(
    session: AsyncSession,
    who: Actor,
    contract_id: int,
    *,
    lock: bool = False,
) -> Access:
    """The contract for its parties and staff within their jurisdiction; 404 for anyone else."""
    # Locked, it is re-read under the lock even if this session saw the row before.
    contract = await session.get(
        Contract, contract_id, with_for_update=lock, populate_existing=lock
    )
    if contract is None:
        raise NotFound("contract.not_found", "合同不存在")
    village = await session.get(Region, contract.village_id)
    assert village is not None
    listing_state = await session.scalar(
        select(Listing.state).where(Listing.id == contract.listing_id)
    )
    assert listing_state is not None
    policy.require(who, Facet.CONTRACT, listing_state, village, owner=contract.winner_id)
    if who.id == contract.winner_id:
        return Access(contract, village, WINNER)
    return Access(contract, village, VILLAGE if policy.acts_for(who, village) else STAFF)


async def relock(session: AsyncSession, who: Actor, seen: Contract) -> Contract:
    """The contract locked for the write that records a signature, if it is still in the
    state and at the file version `seen` (read before the slow signing); else 409."""
    locked = (await load(session, who, seen.id, lock=True)).contract
    if locked.state != seen.state or locked.pdf_sha256 != seen.pdf_sha256:
        raise Conflict("contract.changed", "合同状态已变化，请刷新后重试")
    return locked


async def signatures_of(session: AsyncSession, contract_id: int) -> list[Signature]:
    rows = await session.scalars(
        select(Signature)
        .where(Signature.contract_id == contract_id)
        .order_by(Signature.signed_at, Signature.id)
    )
    return list(rows)


async def rent_items_of(session: AsyncSession, contract_id: int) -> list[RentItem]:
    rows = await session.scalars(
        select(RentItem).where(RentItem.contract_id == contract_id).order_by(RentItem.number)
    )
    return list(rows)


def next_signer(state: str) -> str | None:
    return {ContractState.DRAFTED: VILLAGE, ContractState.SIGNED_BY_VILLAGE: WINNER}.get(state)


def is_overdue(contract: Contract, now: datetime) -> bool:
    return next_signer(contract.state) is not None and now >= contract.sign_deadline


async def overdue(session: AsyncSession, now: datetime) -> list[Contract]:
    """Contracts past their signing deadline and not yet signed by both (for warnings)."""
    rows = await session.scalars(
        select(Contract)
        .where(
            Contract.state.in_([ContractState.DRAFTED, ContractState.SIGNED_BY_VILLAGE]),
            Contract.sign_deadline <= now,
        )
        .order_by(Contract.sign_deadline)
    )
    return list(rows)
