"""The auction API's HTTP answers: a bid's answer, and a rejection as a problem (docs/api.md
§3.4). The snapshot is `auction.frames.Snapshot`, the same the websocket sends."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from auction.answers import Outcome
from auction.codes import MESSAGES_ZH, Code
from core.errors import DomainError


class BidAnswer(msgspec.Struct):
    """An accepted bid or match; `replayed` when a retried `ref` got its first answer."""

    state: Literal["accepted"]
    ref: str
    seq: int | None
    round: int | None
    amount_fen: int | None
    replayed: bool

    @classmethod
    def of(cls, ref: str, outcome: Outcome) -> BidAnswer:
        return cls(
            "accepted", ref, outcome.seq, outcome.round, outcome.amount_fen, outcome.replayed
        )


class BidRejected(DomainError):
    """A command the engine (or the rate limit) refused: a rule violation."""

    status = 422
    title = "出价未被接受"


class BidRaced(BidRejected):
    """Refused because the auction moved on: not running, a newer price, already leading."""

    status = 409


class BidNotAllowed(BidRejected):
    """Refused because the bidder has no right to it."""

    status = 403


class BidTooFrequent(BidRejected):
    status = 429


_BY_CODE: dict[Code, type[BidRejected]] = {
    Code.NOT_RUNNING: BidRaced,
    Code.STALE: BidRaced,
    Code.SELF_OUTBID: BidRaced,
    Code.NOT_QUALIFIED: BidNotAllowed,
    Code.NOT_PRIORITY_HOLDER: BidNotAllowed,
    Code.RATE_LIMITED: BidTooFrequent,
    Code.NOT_PAUSED: BidRaced,
    Code.ALREADY_ENDED: BidRaced,
}


def rejection(code: str, **extra: Any) -> BidRejected:
    """The problem for a rejection code: rule violations 422, races 409, rights 403; `extra`
    are its context members (the command's `ref`, the auction's `current_fen` and `seq`)."""
    return _BY_CODE.get(Code(code), BidRejected)(code, MESSAGES_ZH[Code(code)], **extra)
