"""Statistics for regulators: listing facts kept per listing and summed in rollups, grouped
sums, CSV and XLSX.

Facts are (re)computed per listing when the log shows it changed (`listing_facts`), and the
rollups moved by the difference (`rollups`), so a statistic is one aggregate over a few rollup
cells plus the facts of a period's partial months (`compute`, `period`) and, for the medians,
reads of one premium-rate bin per group (`medians`) — no JSON, no Fractions per row at query
time. Sums are exact integers; rates are exact fractions formatted half-up with two decimals
only at the end (`shaping`). `query` parses what was asked, `export` writes CSV and XLSX.
"""

# The pages read statistics through the package (app/pages/oversight.py).
from oversight.stats.compute import statistics
from oversight.stats.listing_facts import follow_region_rename
from oversight.stats.query import StatsQuery
from oversight.stats.shaping import StatsResult

__all__ = ["StatsQuery", "StatsResult", "follow_region_rename", "statistics"]
