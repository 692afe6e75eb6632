"""`ruralx demo --listings N`: a synthetic county to measure statistics and warnings on.

One county (惠安县 of 泉州市) of 15 towns × 20 villages, village officials, bidders (one in
five an organisation), and N listings over the last five years with realistic categories,
prices, terms and outcomes: most sold (by auction, some by agreement with a single bidder),
some failed and relisted, the most recent still open. Registrations carry addresses and
devices, with a few planted anomalies (shared phone / IP / device) for the warnings. Every
deal has its lease: signed ones with rent paid on time, late, partly or not at all.

Rows are written in bulk with explicit ids (one transaction; PostgreSQL sequences are moved
past them afterwards) — not through the use cases: the data is synthetic and says so in the
ledger (one `demo.generated` entry), and its listings have no per-listing ledger history.
The listing facts are computed on the way (the same function the oversight job uses) and
the warnings detected once at the end.

* `county` — the county's names and the synthetic values (ids, devices, terms);
* `people` — village officials and bidders;
* `market` — listings with their registrations, deals and facts;
* `leases` — a contract per deal with its rent items and, once signed, payment histories;
* `bulk` — writing rows in bulk with explicit ids;
* `generator` — `populate` and `generate`, the whole run.
"""
