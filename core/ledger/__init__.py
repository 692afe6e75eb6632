"""The tamper-evident transaction log of the exchange."""

from core.ledger.chain import (
    GENESIS,
    Chain,
    Entries,
    append,
    document_of,
    entries_of,
    entry_hash,
    timestamp,
    verify_chain,
    verify_subject,
)
from core.ledger.models import LedgerEntry, LedgerHead
from core.ledger.tables import LedgerCheckpoint, LedgerNode, LedgerTree

__all__ = [
    "GENESIS",
    "Chain",
    "Entries",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerHead",
    "LedgerNode",
    "LedgerTree",
    "append",
    "document_of",
    "entries_of",
    "entry_hash",
    "timestamp",
    "verify_chain",
    "verify_subject",
]
