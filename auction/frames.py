"""The frames of the live protocol (docs/api.md §5) as typed structs.

Server → client frames form one tagged union on `type`: the room events (`bid`, `phase`,
`ended`, each with its `seq`), the `snapshot`, and the replies to one client (`accepted`,
`rejected`, `pong`, `error`). Client → server frames are decoded into `Hello` and
`ClientFrame`, bounded like the HTTP bodies. Timestamps are the strings of `iso` below
(milliseconds, Z).
The field names here are the protocol: a unit test checks docs/api.md §5 against them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, overload

import msgspec

from auction.engine import Mode, Status


@overload
def iso(at: datetime) -> str: ...
@overload
def iso(at: None) -> None: ...
@overload
def iso(at: datetime | None) -> str | None: ...
def iso(at: datetime | None) -> str | None:
    """Millisecond UTC timestamps: what a browser's Date.parse reads exactly."""
    if at is None:
        return None
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- client → server --------------------------------------------------------------------


class Hello(msgspec.Struct):
    """The first frame of a connection: who is watching and what it has seen."""

    type: Annotated[str, msgspec.Meta(max_length=16)]
    token: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    last_seq: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] | None = None


class ClientFrame(msgspec.Struct):
    """A client frame after the hello (bid, match, ping), bounded like the HTTP bid body."""

    type: Annotated[str, msgspec.Meta(max_length=16)]
    ref: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    amount_fen: Annotated[int, msgspec.Meta(ge=1, le=10**13)] | None = None
    based_on_seq: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None = None
    t: int | float | None = None  # the client's own clock, echoed back untouched


# --- the snapshot ---------------------------------------------------------------------------


class Result(msgspec.Struct):
    """How an ended auction ended: sold (price and winner) or unsold (both null)."""

    result: Literal["sold", "unsold"]
    final_fen: int | None
    winner_number: str | None


class You(msgspec.Struct):
    """The viewer's own bidder number (a signed-in bidder qualified for this auction)."""

    bidder_number: str


class FixedEnd(msgspec.Struct):
    """A fixed-end auction's timing: a bid with less than `extension_seconds` left moves the
    end to `extension_seconds` after it, never past `hard_deadline`."""

    scheduled_end: str
    extension_seconds: int
    hard_deadline: str | None


class Snapshot(msgspec.Struct, omit_defaults=True):
    """The auction as it stands: `GET /api/v1/auctions/{listing_id}` (without `type`)."""

    listing_id: int
    status: Status
    seq: int
    round: int
    current_fen: int
    leader_number: str | None
    ends_at: str | None
    server_time: str
    increment_fen: int
    max_steps: int
    starts_at: str
    minimum_fen: int
    mode: Mode
    fixed_end: FixedEnd | None = None
    result: Result | None = None
    you: You | None = None


class SnapshotFrame(Snapshot, tag_field="type", tag="snapshot"):
    """Sent after the replay on connecting: the state the room's events continue from."""


# --- room events ----------------------------------------------------------------------------


# The events' fields keep the engine's names (`auction.wire` converts by name); the wire
# names differ only where `name=` says so.


class BidFrame(msgspec.Struct, tag_field="type", tag="bid"):
    """To the room: a bid (or a priority match) was accepted."""

    seq: int
    round: int
    amount_fen: int
    bidder: str = msgspec.field(name="bidder_number")
    matched: bool
    at: str
    ends_at: str
    minimum_fen: int


class PhaseFrame(msgspec.Struct, tag_field="type", tag="phase"):
    """To the room: the auction started, moved to the countdown, paused or resumed."""

    seq: int
    status: Status
    ends_at: str | None
    at: str
    reason: str | None


class EndedFrame(msgspec.Struct, tag_field="type", tag="ended"):
    """To the room: the auction ended, sold or not."""

    seq: int
    result: Literal["sold", "unsold"]
    final_fen: int | None
    winner: str | None = msgspec.field(name="winner_number")
    rounds: int
    reason: Literal["sold", "no_bids", "below_reserve"]
    at: str


EventFrame = BidFrame | PhaseFrame | EndedFrame

# --- replies to one client --------------------------------------------------------------


class Accepted(msgspec.Struct, tag_field="type", tag="accepted"):
    """To the bidder: its bid or match is committed (`seq` of the resulting `bid` event)."""

    ref: str
    seq: int | None
    round: int | None
    amount_fen: int | None


class Rejected(msgspec.Struct, tag_field="type", tag="rejected"):
    """To the bidder: its bid or match was not accepted, and why."""

    ref: str
    code: str
    message: str


class Pong(msgspec.Struct, tag_field="type", tag="pong"):
    """The answer to a `ping`: the client's `t` and the server's clock."""

    t: int | float | None
    server_time: str


class Error(msgspec.Struct, tag_field="type", tag="error"):
    """A client frame that is not valid JSON, out of bounds, or of an unknown type."""

    code: str
    message: str


ServerFrame = SnapshotFrame | EventFrame | Accepted | Rejected | Pong | Error


def kind(frame: msgspec.Struct | type[msgspec.Struct]) -> str:
    """A frame's `type` (its tag)."""
    cls = frame if isinstance(frame, type) else type(frame)
    return str(cls.__struct_config__.tag)
