"""Which registrations a warning is about, for the reviewer's qualification cards.

A warning's evidence names the registrations it was found on (and their bidder numbers). A
card shows the warning as what was seen — shared with how many other registrations, seen
where — and never the shared value itself nor a bidder number: until the hammer nobody may
tie a number to a person (listings.policy, Facet.IDENTITIES), and the shared phone, address
or device is a dossier's (Facet.DOSSIERS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from oversight.models import WarningRow

#: The kinds found on bidders sharing something; the evidence lists them under "bidders".
SHARED_KINDS = frozenset({"shared_phone", "shared_ip", "shared_device", "shared_bank_account"})


@dataclass(frozen=True, slots=True)
class Concern:
    """One warning as it concerns one registration."""

    warning_id: int
    kind: str
    open: bool
    #: The other registrations of the listing it ties this one to (a shared attribute).
    others: tuple[int, ...] = ()
    #: Where the shared value was seen: "registration", "bid", "payment", "account".
    seen_in: tuple[str, ...] = ()
    #: A late refund's due date (ISO).
    due_at: str | None = None


def by_registration(rows: Sequence[WarningRow]) -> dict[int, list[Concern]]:
    """The concerns of each registration the warnings name, oldest warning first."""
    out: dict[int, list[Concern]] = {}
    for row in sorted(rows, key=lambda r: r.id):
        for registration_id, concern in _concerns(row):
            out.setdefault(registration_id, []).append(concern)
    return out


def _concerns(row: WarningRow) -> list[tuple[int, Concern]]:
    evidence: dict[str, Any] = row.evidence or {}
    is_open = row.state == "open"
    if row.kind in SHARED_KINDS:
        bidders = [b for b in evidence.get("bidders", []) if "registration_id" in b]
        ids = [int(b["registration_id"]) for b in bidders]
        return [
            (
                int(b["registration_id"]),
                Concern(
                    row.id,
                    row.kind,
                    is_open,
                    others=tuple(i for i in ids if i != int(b["registration_id"])),
                    seen_in=tuple(b.get("seen_in", ())),
                ),
            )
            for b in bidders
        ]
    if row.kind == "single_bidder" and "registration_id" in evidence:
        return [(int(evidence["registration_id"]), Concern(row.id, row.kind, is_open))]
    if row.kind == "refund_late":
        return [
            (
                int(d["registration_id"]),
                Concern(row.id, row.kind, is_open, due_at=d.get("refund_due_at")),
            )
            for d in evidence.get("deposits", [])
            if "registration_id" in d
        ]
    return []
