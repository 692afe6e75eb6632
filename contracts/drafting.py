"""Drafting the lease from a deal, inside the deal's own transaction (`contracts.hooks`).

Kept cheap: it stores the data snapshot, the rent payables (`rent_items`, `pending`),
`deal.contract_id` and the ledger entry `contract.drafted`, and renders nothing. The
unsigned PDF is rendered from the snapshot on first request (`contracts.files`).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auction.models import Deal
from contracts import content, document, notices
from contracts.files import sha256
from contracts.models import Contract, ContractState, RentItem
from core import ledger
from core import settings as exchange_settings
from core.accounts import Region, User
from core.clock import end_of_day, local_date
from listings import Listing, Registration
from listings.announced import as_announced
from listings.reading import documents_of, record


async def current_contract(session: AsyncSession, listing_id: int) -> Contract | None:
    """The listing's contract in force; a voided one (the winner defaulted) stays on record."""
    return await session.scalar(
        select(Contract).where(
            Contract.listing_id == listing_id, Contract.state != ContractState.VOIDED
        )
    )


async def draft(session: AsyncSession, deal: Deal, now: datetime) -> Contract:
    """Draft the lease from the deal: snapshot, payables, `deal.contract_id`, ledger entry."""
    existing = await current_contract(session, deal.listing_id)
    if existing is not None:
        deal.contract_id = existing.id
        return existing
    listing = await session.get(Listing, deal.listing_id)
    registration = await session.get(Registration, deal.registration_id)
    assert listing is not None and registration is not None
    village = await session.get(Region, listing.village_id)
    winner = await session.get(User, registration.bidder_id)
    agent = await session.get(User, listing.created_by)
    assert village is not None and winner is not None and agent is not None
    # The signing period as the announcement stated it (a later change of settings never
    # reaches a listing already announced).
    settings = as_announced(listing, await exchange_settings.load(session))
    # Signing starts when the deal is confirmed (after the result publicity).
    deadline_day = settings.calendar().add_working_days(
        local_date(deal.confirmed_at or deal.decided_at),
        settings.contract_sign_deadline_working_days,
    )
    lease_start = content.lease_start_of(listing.terms, deadline_day)
    # Contracts of voided deals stay on record under their numbers.
    earlier = await session.scalar(
        select(func.count()).select_from(Contract).where(Contract.listing_id == listing.id)
    )
    deposit = registration.deposit_fen if registration.deposit_state == "held" else 0
    data = content.contract_data(
        deal=content.DealFacts(
            listing.id, deal.kind, deal.listing_fen, deal.final_fen, deal.rounds, deal.decided_at
        ),
        parties=content.Parties(
            village_name=village.name,
            village_path=village.path,
            village_agent=agent.display_name,
            winner_name=winner.display_name,
            winner_id_type=winner.id_type,
            winner_id_number=winner.id_number,
            winner_phone=winner.phone,
            winner_number=deal.winner_number,
        ),
        asset=content.Asset(
            listing.title,
            listing.category,
            listing.location,
            listing.area,
            listing.area_unit,
            listing.description,
        ),
        terms=listing.terms,
        deposit_fen=deposit,
        lease_start=lease_start,
        exchange=content.Exchange(
            settings.exchange_name,
            settings.exchange_address,
            settings.arbitration_commission,
            settings.seal_text,
        ),
        sign_deadline=deadline_day,
        entrustment=content.Entrustment(
            listing.resolution,
            tuple(d.kind for d in await documents_of(session, listing.id)),
        ),
        edition=int(earlier or 0) + 1,
    )
    items = content.schedule(listing.terms, deal.final_fen, lease_start, deposit)
    contract = Contract(
        listing_id=listing.id,
        number=data["numbers"]["contract"],
        state=ContractState.DRAFTED,
        village_id=village.id,
        winner_id=winner.id,
        registration_id=registration.id,
        data=data,
        template_version=content.TEMPLATE_VERSION,
        lease_start=lease_start,
        sign_deadline=end_of_day(deadline_day),
        render_at=deal.decided_at.replace(microsecond=0),
        drafted_at=now,
        updated_at=now,
    )
    session.add(contract)
    await session.flush()
    for item in items:
        # content.Item holds exactly the payable's own columns.
        row = asdict(item) | {"contract_id": contract.id, "listing_id": listing.id}
        session.add(RentItem(state="pending", **row))
    deal.contract_id = contract.id
    await session.flush()
    await record(
        session,
        listing.id,
        "contract.drafted",
        "system",
        now,
        contract_id=contract.id,
        number=contract.number,
        state=contract.state,
        sign_deadline=ledger.timestamp(contract.sign_deadline),
        lease_start=lease_start.isoformat(),
        contract_value_fen=sum(i.amount_fen for i in items),
        installments=len(items),
        data_sha256=sha256(document.canonical(data)),
    )
    await notices.contract_drafted(session, contract, now)
    return contract
