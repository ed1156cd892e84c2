"""What the console load test (`bench_load.py`) needs on a demo operator, made once.

    QUANWANG_VAR_DIR=VAR [DATABASE_URL=...] .venv/bin/python bench/load_prepare.py OUT.json

- an issued campaign with a task step sent to the task lists (the demo has only a draft), so
  the task list has rows: every customer whose contract ends within 3 months, province-wide;
- for each login the load test uses, subscriber IDs and masked numbers in that user's scope,
  for the customer-360 search.

Idempotent: a second run finds the campaign and only samples the IDs again. Prints what it
did; writes the samples as JSON to OUT.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import django

BENCH_CAMPAIGN = "压测任务清单（bench）"
LOGINS = ("admin", "county_manager", "grid_manager")
SAMPLES = 200


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "load-samples.json")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    django.setup()
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    campaign_tasks()
    samples: dict[str, Any] = {}
    for login in LOGINS:
        user = user_model.objects.get(username=login)
        samples[login] = search_samples(user)
        print(f"  {login}: {len(samples[login]['ids'])} IDs to search in scope")
    out.write_text(json.dumps(samples, ensure_ascii=False))
    print(f"samples: {out}")


def campaign_tasks() -> None:
    from django.utils import timezone

    from quanwang.campaigns.choices import Channel
    from quanwang.campaigns.models import Campaign, Offer
    from quanwang.campaigns.policy import SHANGHAI
    from quanwang.campaigns.services import start_dispatch
    from quanwang.campaigns.tasks import task_steps
    from quanwang.core.jobs import execute_job
    from quanwang.core.models import OrgUnit

    existing = Campaign.objects.filter(name=BENCH_CAMPAIGN).first()
    if existing is not None and task_steps(existing.pk):
        print(f"  campaign #{existing.pk} {BENCH_CAMPAIGN}: there already")
        return
    root = OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
    offer = Offer.objects.order_by("pk").first()
    if root is None or offer is None:
        raise SystemExit("no demo operator here: run `quanwang demo` first")
    today = timezone.localdate()
    campaign = existing
    if campaign is None:
        campaign = issued(root, offer, today)
    # Ten in the morning, Shanghai time: inside any sending window.
    at = dt.datetime.combine(today, dt.time(10, 0), tzinfo=SHANGHAI)
    job = start_dispatch(
        actor=None, campaign=campaign, step="t1", channel=Channel.TASK,
        text="上门介绍续约优惠", send_at=at, background=False,
    )  # fmt: skip
    finished = execute_job(job_id=job.pk)
    print(f"  campaign #{campaign.pk} {BENCH_CAMPAIGN}: task step {finished.status}")
    if not task_steps(campaign.pk):
        raise SystemExit(f"the task step was not planned: {finished.error or finished.result}")


def issued(root: Any, offer: Any, today: dt.date) -> Any:
    """The bench campaign, designed, approved and issued by the system."""
    from quanwang.campaigns.choices import CampaignType, Channel
    from quanwang.campaigns.segments import save_segment
    from quanwang.campaigns.services import Design, create_campaign, transition

    version = save_segment(
        actor=None,
        name="合约3个月内到期（压测）",
        rule={"all": [{"field": "contract_expiring_3m", "op": "is", "value": True}]},
        org_unit=root,
    )
    campaign = create_campaign(
        actor=None,
        org_unit=root,
        design=Design(
            name=BENCH_CAMPAIGN,
            campaign_type=CampaignType.RETENTION,
            hypothesis="压测：网格经理回访合约到期客户",
            objective_metric="续约客户数",
            objective_target=Decimal("100"),
            objective_deadline=today + dt.timedelta(days=30),
            segment_version=version,
            offers=[offer],
            channels=[Channel.TASK],
            starts_on=today,
            ends_on=today + dt.timedelta(days=30),
            budget=Decimal("10000"),
        ),
    )
    for move in ("submit", "approve", "issue"):
        campaign = transition(actor=None, campaign=campaign, move=move, comment="压测")
    return campaign


def search_samples(user: Any) -> dict[str, list[str]]:
    """Subscriber IDs and masked numbers (138****1234) of customers in the user's scope."""
    import duckdb

    from quanwang.data.customers import customer_scope
    from quanwang.data.warehouse import Warehouse

    where, params = customer_scope(user).sql("grid_id")
    rows = (
        duckdb.connect()
        .execute(
            f"SELECT * FROM (SELECT subscriber_id, msisdn FROM "
            f"{Warehouse().relation('subscribers')} WHERE {where}) "
            f"USING SAMPLE reservoir({SAMPLES} ROWS) REPEATABLE (7)",
            params,
        )
        .fetchall()
    )
    return {
        "ids": [str(r[0]) for r in rows],
        "masked": [f"{r[1][:3]}****{r[1][-4:]}" for r in rows if r[1] and len(r[1]) == 11],
    }


if __name__ == "__main__":
    main()
