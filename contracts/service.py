"""Kept for `app/pages/queries.py`, which reads a contract through this name: the access
rules now live in `contracts.access` (the use cases in drafting, signatures, certification,
queries, verification)."""

from contracts.access import load, next_signer, signatures_of

__all__ = ["load", "next_signer", "signatures_of"]
