"""The public income board (村务公开, 公共收益动态公示): per village, the leases in force with
the lessee masked, the rent due and received by year and by month, the arrears; rolled up per
town and county. Public: nobody signs in to read it (docs/oversight.md, "Income disclosure").

* `rules` — the sums and the lease figures (pure);
* `board` — the two queries (one GROUP BY over the rent items of every village, one over a
  village's leases) and the assembled answer;
* `schemas` — the wire structs;
* `export` — the board as CSV and XLSX.
"""

from oversight.disclosure.board import board, county_paths

__all__ = ["board", "county_paths"]
