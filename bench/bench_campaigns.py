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
Goals (issue 5): preview p95 < 300 ms at 1M rows; issuing 1M in < 30 s on 2 cores.
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--var", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-campaigns-"))
    os.environ["QUANWANG_VAR_DIR"] = str(args.var)
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
    print(f"snapshot {snapshot.month} ({snapshot.rows:,} customers) in {args.var}")

    for name, rule in RULES.items():
        times, count = [], 0
        for _ in range(args.runs):
            started = time.perf_counter()
            count = preview(user=None, rule=rule, snapshot=snapshot).count
            times.append(1000 * (time.perf_counter() - started))
        print(
            f"preview {name!r}: {count:,} customers; p50 {statistics.median(times):.0f} ms, "
            f"p95 {percentile(times, 0.95):.0f} ms (goal < 300 ms)"
        )

    province = OrgUnit.objects.create(code="P", name="省", level=OrgLevel.GROUP, parent=None)
    city = OrgUnit.objects.create(code="C", name="市", level=OrgLevel.CITY, parent=province)
    county = OrgUnit.objects.create(code="K", name="县", level=OrgLevel.COUNTY, parent=city)
    grids = duckdb.sql(f"SELECT grid_id, name FROM '{args.data / 'grids.parquet'}'").fetchall()
    for code, name in grids:
        OrgUnit.objects.create(code=code, name=name, level=OrgLevel.GRID, parent=county)
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
