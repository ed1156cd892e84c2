"""Targets, KPIs, the performance leaderboard (龙虎榜) and incentives (考核激励).

One Django app (label `performance`) in parts, each with the same skeleton:

- `kpis/`: the KPI catalogue. Each KPI is an Ibis expression over warehouse facts (and the
  operations facts extracted to Parquet), so it runs on DuckDB and Spark; custom KPIs are
  small definitions checked at save. Every value drills down to its rows.
- `actuals/`: the nightly step that computes every KPI at every grain and open period in one
  pass, incrementally, kept as immutable Parquet versions naming their snapshot and time;
  who is responsible for what and since when (staff attribution).
- `targets/`: SMART targets set at the top and decomposed down the tree, reconciled, with
  history, progress, pace, forecast and early warnings.
- `boards/`: the 龙虎榜 per KPI and composite, daily with movement, shared as PNG and XLSX,
  and the morning-meeting sheet (晨会).
- `grades/`: staff grades 三级十档 moved by approved rules.
- `incentives/`: versioned incentive rules and monthly statements kept as a ledger.

See docs/performance.md.
"""
