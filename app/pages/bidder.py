"""Bidders' pages: my registrations, the deposit page of one registration (the exchange's
account, amount, transfer reference, deadline, status, what happens next), my deals with the
payment plan (and contracts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.pages import bidder_path, queries
from app.pages.common import FORM, Pages, Req, posted_form, redirect, render
from auction.models import Auction, Deal
from contracts.drafting import current_contract
from contracts.models import Contract
from core import settings as exchange_settings
from core.accounts import Actor
from core.clock import local_date
from core.errors import DomainError, NotFound
from core.settings import ExchangeSettings
from core.web import actor, allow, services
from listings import policy, qualification, reading
from listings import registration as reg
from listings.announced import as_announced
from listings.api import checked_upload, store
from listings.documents import UPLOAD_BODY
from listings.models import Listing, Registration
from listings.policy import Facet


@dataclass(frozen=True, slots=True)
class Account:
    """Where deposits go: the exchange's deposit account (保证金专户) from its settings."""

    bank: str
    name: str
    number: str
    phone: str

    @property
    def complete(self) -> bool:
        return bool(self.bank and self.name and self.number)


def account_of(settings: ExchangeSettings) -> Account:
    return Account(
        bank=settings.deposit_bank_name,
        name=settings.deposit_account_name,
        number=settings.deposit_account_number,
        phone=settings.service_phone,
    )


@dataclass
class Standing:
    """A registration as the bidder's pages show it: status, link, steps, what comes next."""

    status: str
    link: str
    steps: list[bidder_path.Step]
    next: list[str] = field(default_factory=list)


async def standing_of(
    session: AsyncSession,
    r: Registration,
    listing: Listing,
    settings: ExchangeSettings,
    deal: Deal | None = None,
    auction: Auction | None = None,
) -> Standing:
    """Where the registration stands and what happens next (the winner's contract read here)."""
    won = deal is not None and deal.registration_id == r.id
    contract: Contract | None = await current_contract(session, listing.id) if won else None
    return Standing(
        status=bidder_path.status_of(r),
        link=bidder_path.link_of(r),
        steps=bidder_path.steps_of(r, listing),
        next=bidder_path.next_steps(
            r,
            listing,
            deal=deal,
            contract=contract,
            auction=auction,
            settings=as_announced(listing, settings),
        ),
    )


class BidderPages(Pages):
    path = "/me"
    guards = (allow("bidder"),)

    @get("/registrations")
    async def registrations(self, request: Req) -> Response[Any]:
        return await _registrations(request)

    @get("/registrations/{registration_id:int}")
    async def registration(self, request: Req, registration_id: FromPath[int]) -> Response[Any]:
        """The deposit page of one registration."""
        who = actor(request)
        svc = services(request)
        async with svc.db.read() as session:
            r = await reg.load_registration(session, who, registration_id)
            visible = await reading.load(session, who, r.listing_id)
            policy.require(
                who,
                Facet.REGISTRATION,
                visible.listing.state,
                visible.village,
                owner=r.bidder_id,
            )
            settings = await exchange_settings.load(session)
            deal = await session.get(Deal, r.listing_id)
            auction = await session.get(Auction, r.listing_id)
            standing = await standing_of(session, r, visible.listing, settings, deal, auction)
            payments = [
                p for p in await queries.payments_of(session, [r.id]) if p.outcome == "accepted"
            ]
        return render(
            request,
            "me_registration.html",
            title=f"报名与保证金：{visible.listing.title}",
            r=r,
            listing=visible.listing,
            standing=standing,
            auction=auction,
            payments=payments,
            account=account_of(settings),
            now=svc.now(),
        )

    @post(
        "/registrations/{registration_id:int}/proof",
        opt=FORM,
        request_max_body_size=UPLOAD_BODY,
    )
    async def proof(self, request: Req, registration_id: FromPath[int]) -> Response[Any]:
        """The proof of a claimed priority right, uploaded after registering."""
        values = await posted_form(request)
        svc, who = services(request), actor(request)
        try:
            checked = await checked_upload(svc, values.get("proof"))
            async with svc.db.write() as session:
                await qualification.attach_proof(
                    session, who, registration_id, file=checked, store=store(svc), now=svc.now()
                )
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await _registrations(request, (registration_id, exc.message), exc.status)
        return redirect(f"/me/registrations#reg-{registration_id}", "uploaded")

    @get("/deals")
    async def deals(self, request: Req) -> Response[Any]:
        """The winner's deals: each with its state, what happens next, the payment plan (what
        he pays and when, and what he has paid) and the contract; the collective's income is
        the village's and the regulators' to read, not his."""
        who = actor(request)
        svc = services(request)
        today = local_date(svc.now())
        async with svc.db.read() as session:
            settings = await exchange_settings.load(session)
            items = []
            for listing_id in await queries.my_deal_ids(session, who):
                listing = await session.get(Listing, listing_id)
                assert listing is not None
                deal, contract = await queries.deal_and_contract(session, who, listing_id, today)
                items.append(
                    {
                        "listing": listing,
                        "deal": deal,
                        "contract": contract,
                        **await _winner_part(session, who, listing, settings),
                    }
                )
        return render(
            request,
            "me_deals.html",
            title="我的成交",
            items=items,
            sign_as="竞得人",
        )


async def _winner_part(
    session: AsyncSession, who: Actor, listing: Listing, settings: ExchangeSettings
) -> dict[str, Any]:
    """The winner's standing and, until the contract fixes the dates, the payment plan
    projected from the final price and the terms."""
    mine = await reg.own_registration(session, who, listing.id)
    deal = await session.get(Deal, listing.id)
    if mine is None or deal is None:
        return {"standing": None, "plan": []}
    standing = await standing_of(session, mine, listing, settings, deal)
    deposit = mine.deposit_fen if mine.deposit_state in ("held", "paid") else 0
    plan = (
        bidder_path.projected_plan(listing.terms, deal.final_fen, deposit)
        if deal.registration_id == mine.id
        else []
    )
    return {"standing": standing, "plan": plan, "registration": mine}


async def _registrations(
    request: Req,
    proof_error: tuple[int, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    who = actor(request)
    async with services(request).db.read() as session:
        rows = await queries.my_registrations(session, who)
        proofs = await qualification.documents_of(session, [r.id for r, _ in rows])
        settings = await exchange_settings.load(session)
        standings = {
            r.id: await standing_of(session, r, row.listing, settings, row.deal, row.auction)
            for r, row in rows
        }
    return render(
        request,
        "me_registrations.html",
        status=status,
        title="我的报名",
        rows=rows,
        proofs=proofs,
        proof_error=proof_error,
        standings=standings,
        account=account_of(settings),
    )
