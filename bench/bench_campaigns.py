"""Segment preview latency and issuing a city-wide campaign, on a built snapshot, in one run.

    .venv/bin/python bench/bench_campaigns.py --var VAR --data DIR

VAR holds a snapshot (e.g. the var-full of bench_pipeline.py), DIR the generated operator it
was built from (its subscribers.parquet gives consent and numbers, its grids.parquet the grid
codes). The script makes a throwaway SQLite database with the org tree, then times:

- `segments.preview` (the service behind the live preview: rule check, Ibis compile, count and
  breakdowns by tier, grid and risk band) for three rules, 30 runs each: p50 and p95;
- issuing a campaign over every customer: `services.transition(move="issue")` (re-check the
  rule, freeze the audience with the stratified control split, quotas per grid), then the
  contact-policy filter over the treated audience with consent from the subscribers, and the
  dispatch plan written as Parquet.
Goals (issue 5): preview p95 < 300 ms at 1M rows (< 1.5 s at 10M); issuing 1M in < 30 s on
2 cores.

    .venv/bin/python bench/bench_campaigns.py --var VAR --data DIR --tile 10 --preview-only

times the previews over the newest snapshot of VAR repeated ten times (subscriber IDs suffixed
per copy, everything else equal): a 10M-row wide table when no 10M operator can be generated.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).parent))
from measure import peak_rss_mib

RULES = {
    "expiring, not key": {
        "all": [
            {"field": "contract_expiring_3m", "op": "is", "value": True},
            {"not": {"field": "value_tier", "op": "in", "value": ["key"]}},
        ]
    },
    "ARPU ≥ 80 and risk > 2%": {
        "all": [
            {"field": "arpu_3m", "op": ">=", "value": 80},
            {"field": "churn_risk", "op": ">", "value": 0.02},
        ]
    },
    "5G rule or falling spend": {
        "any": [
            {"field": "upgrade_5g_rule", "op": "is", "value": True},
            {"field": "arpu_log_change_2m", "op": "<", "value": -0.3},
        ]
    },
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def tile_snapshot(source_var: Path, target_var: Path, copies: int) -> Path:
    """A var whose only snapshot is the newest of `source_var` repeated `copies` times."""
    import json

    import duckdb

    manifests = sorted(
        (source_var / "insight").glob("*/*/manifest.json"), key=lambda p: p.parent.name
    )
    source = manifests[-1].parent
    target = target_var / "insight" / source.parent.name / source.name
    (target / "wide").mkdir(parents=True)
    manifest = json.loads(manifests[-1].read_text())
    for copy in range(copies):
        duckdb.execute(
            f"""COPY (SELECT * REPLACE (subscriber_id || '-{copy}' AS subscriber_id)
                      FROM read_parquet('{source / "wide" / "*.parquet"}'))
                TO '{target / "wide" / f"part-{copy:02d}.parquet"}' (FORMAT parquet)"""
        )
    manifest["rows"] = manifest["rows"] * copies
    (target / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    print(f"tiled {source} {copies}x into {target}")
    return target_var


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--var", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tile", type=int, default=1, help="repeat the wide table N times")
    parser.add_argument("--preview-only", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-campaigns-"))
    var = tile_snapshot(args.var, work / "var", args.tile) if args.tile > 1 else args.var
    os.environ["QUANWANG_VAR_DIR"] = str(var)
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'db.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    django.setup()
    import duckdb
    from django.core.management import call_command

    from quanwang.campaigns.choices import CampaignType, Channel
    from quanwang.campaigns.policy import SHANGHAI, ContactPolicy, apply_policy
    from quanwang.campaigns.segments import newest_snapshot, preview, save_segment
    from quanwang.campaigns.services import Design, create_campaign, transition
    from quanwang.core.choices import OrgLevel
    from quanwang.core.models import OrgUnit

    call_command("migrate", verbosity=0)
    snapshot = newest_snapshot()
    print(f"snapshot {snapshot.month} ({snapshot.rows:,} customers) in {var}")

    # Goals: < 300 ms at 1M rows, < 1.5 s at 10M.
    goal_ms = 1_500 if snapshot.rows > 5_000_000 else 300
    for name, rule in RULES.items():
        times, count = [], 0
        for _ in range(args.runs):
            started = time.perf_counter()
            count = preview(user=None, rule=rule, snapshot=snapshot).count
            times.append(1000 * (time.perf_counter() - started))
        print(
            f"preview {name!r}: {count:,} customers; p50 {statistics.median(times):.0f} ms, "
            f"p95 {percentile(times, 0.95):.0f} ms (goal < {goal_ms:,} ms)"
        )

    if args.preview_only:
        return

    def unit(code: str, name: str, level: OrgLevel, parent: OrgUnit | None) -> OrgUnit:
        path = f"{parent.path if parent else '/'}{code}/"
        return OrgUnit.objects.create(code=code, name=name, level=level, parent=parent, path=path)

    province = unit("P", "省", OrgLevel.GROUP, None)
    city = unit("C", "市", OrgLevel.CITY, province)
    county = unit("K", "县", OrgLevel.COUNTY, city)
    grids = duckdb.sql(f"SELECT grid_id, name FROM '{args.data / 'grids.parquet'}'").fetchall()
    for code, name in grids:
        unit(code, name, OrgLevel.GRID, county)
    everyone = save_segment(
        actor=None,
        name="全量",
        rule={"field": "tenure_months", "op": ">=", "value": 0},
        org_unit=province,
    )
    today = dt.date.today()
    campaign = create_campaign(
        actor=None,
        org_unit=province,
        design=Design(
            name="全量维系",
            campaign_type=CampaignType.RETENTION,
            hypothesis="bench",
            objective_metric="takers",
            objective_target=1,
            objective_deadline=today + dt.timedelta(days=30),
            segment_version=everyone,
            offers=[],
            channels=[Channel.SMS],
            starts_on=today,
            ends_on=today + dt.timedelta(days=30),
            budget=0,
        ),
    )
    campaign = transition(actor=None, campaign=campaign, move="submit")
    campaign = transition(actor=None, campaign=campaign, move="approve")

    started = time.perf_counter()
    campaign = transition(actor=None, campaign=campaign, move="issue", today=today)
    issued_s = time.perf_counter() - started
    started = time.perf_counter()
    audience = duckdb.sql(
        f"""SELECT a.subscriber_id, a.grid_id, a.in_control,
                   coalesce(s.do_not_disturb, false) AS do_not_disturb, s.consent_sms, s.msisdn
            FROM read_parquet('{campaign.audience_path}') a
            LEFT JOIN '{args.data / "subscribers.parquet"}' s USING (subscriber_id)"""
    ).to_arrow_table()
    decision = apply_policy(
        audience=audience,
        channel=Channel.SMS,
        send_at=dt.datetime.combine(today, dt.time(10), SHANGHAI),
        policy=ContactPolicy(),
    )
    import pyarrow.parquet as pq

    pq.write_table(decision.allowed, work / "plan.parquet", compression="zstd")
    pq.write_table(decision.excluded, work / "excluded.parquet", compression="zstd")
    policy_s = time.perf_counter() - started
    print(
        f"issue {campaign.audience_size:,} customers (freeze, control split, quotas): "
        f"{issued_s:.1f} s; contact policy + dispatch plan: {policy_s:.1f} s "
        f"({decision.allowed.num_rows:,} allowed, {dict(decision.excluded_counts())}); "
        f"total {issued_s + policy_s:.1f} s (goal < 30 s); peak RSS {peak_rss_mib():,.0f} MiB"
    )


if __name__ == "__main__":
    main()
