"""Warnings (预警): anomalies found by set-based queries, stored once with their evidence.

Each detector is one SQL query over a set of listings (all of them in the periodic scan, the
few the log shows changed in between). A finding has a stable `key`, so finding it again
only refreshes the evidence of a still-open warning; (kind, key) is UNIQUE, so two workers
can never store it twice. Raising, re-evidencing and acknowledging are ledgered (subject
`warnings`), so a warning cannot be quietly removed or its acknowledgement back-dated.

* `findings` — what a finding is, the kinds, and the helpers every detector shares;
* `bidders` — single qualified bidder; bidders sharing a phone, IP, device or bank account;
* `outcomes` — deals at the listing price, listings failed twice;
* `terms` — terms longer than the settings allow, contracts unsigned, leases expiring;
* `deposits`, `arrears` — deposits not refunded in time; rent overdue (yellow, then red);
* `scan` — every detector over a set of listings, and storing what they found;
* `review` — what regulators do with warnings: list, read (sealed), acknowledge;
* `concerns` — which registrations a warning is about (the reviewer's qualification cards).

A shared **bank account** is found from the `payer_account` the bank's callback (or a
reviewer's manual confirmation) reports with each accepted deposit.
"""

# The pages read and acknowledge warnings through the package (app/pages/oversight*.py,
# app/pages/review.py).
from oversight.warnings.concerns import Concern, by_registration
from oversight.warnings.findings import KIND_NAMES_ZH
from oversight.warnings.review import acknowledge, load, search, views

__all__ = ["KIND_NAMES_ZH", "Concern", "acknowledge", "by_registration", "load", "search", "views"]
