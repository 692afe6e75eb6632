"""A bid command and its answer, and the first answers a retried `ref` is given again."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auction.codes import MESSAGES_ZH, Code
from auction.frames import EventFrame
from auction.models import Bid
from core.accounts import Actor


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to one command; `frames` are what the room must be told."""

    accepted: bool
    code: str | None
    seq: int | None
    round: int | None
    amount_fen: int | None
    frames: tuple[EventFrame, ...] = ()
    replayed: bool = False

    @property
    def message(self) -> str | None:
        return MESSAGES_ZH[Code(self.code)] if self.code else None


@dataclass(frozen=True, slots=True)
class BidRequest:
    """A bid or priority match as it reached the book, with where it came from."""

    bidder: Actor
    amount_fen: int | None
    ref: str
    based_on_seq: int | None
    match: bool
    channel: str
    ip: str | None
    device: str | None

    @property
    def key(self) -> tuple[int, str]:
        return (self.bidder.id, self.ref)


async def first_answers(
    session: AsyncSession, listing_id: int, keys: list[tuple[int, str]]
) -> dict[tuple[int, str], Outcome]:
    """First answers already recorded for (bidder, ref) pairs: a retry is answered the same."""
    bidders = {bidder for bidder, _ in keys}
    refs = {ref for _, ref in keys}
    rows = await session.execute(
        select(
            Bid.bidder_id, Bid.ref, Bid.outcome, Bid.code, Bid.seq, Bid.round, Bid.amount_fen
        ).where(Bid.listing_id == listing_id, Bid.bidder_id.in_(bidders), Bid.ref.in_(refs))
    )
    return answers(rows, set(keys))


def answers(
    rows: Iterable[Sequence[Any]], wanted: set[tuple[int, str]]
) -> dict[tuple[int, str], Outcome]:
    """Recorded (bidder_id, ref, outcome, code, seq, round, amount_fen) rows as first answers;
    the query matches bidders and refs separately, so only the wanted pairs are kept."""
    return {
        (bidder_id, ref): Outcome(
            outcome == "accepted", code, seq, round_, amount_fen, replayed=True
        )
        for bidder_id, ref, outcome, code, seq, round_, amount_fen in rows
        if (bidder_id, ref) in wanted
    }
