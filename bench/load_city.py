"""A demo operator of any size for the console load test, without training a churn model.

    QUANWANG_VAR_DIR=VAR [DATABASE_URL=...] .venv/bin/python bench/load_city.py \
        --subscribers 1000000 --model-from DEMO_VAR

`quanwang demo --subscribers 1000000` would do the same but also train the churn model on
6.4M rows (4-10 minutes on 2 cores, 8 GiB); the load test needs a scored snapshot, not a new
model, so the churn model of another var folder (the 100k demo's: same features) is copied in
and scores the city's snapshot. Steps: migrate, generate and import the city (`quanwang demo`'s
own code), the model, the snapshot (a pipeline job, with the per-unit summary), the demo
campaign. Each step prints its seconds.

`--org-only` loads only what lives in the operations database (org tree, staff, logins, the
demo campaign) onto a VAR whose warehouse and snapshot were copied from a built one: the same
city on PostgreSQL without generating and importing it again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--model-from", type=Path, help="a var folder with a churn model")
    parser.add_argument("--org-only", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction

    from quanwang.campaigns.demo import build_campaign_demo
    from quanwang.core.jobs import execute_job
    from quanwang.core.models import OrgUnit
    from quanwang.core.services.demo import create_logins
    from quanwang.data import demo
    from quanwang.data.generator import DEFAULT_START_MONTH
    from quanwang.insight.months import Month
    from quanwang.insight.services import start_pipeline

    began = time.monotonic()

    def step(text: str) -> None:
        print(f"[{time.monotonic() - began:7.1f} s] {text}", flush=True)

    call_command("migrate", verbosity=0, interactive=False)
    var = Path(settings.VAR_DIR)
    if args.org_only:
        out = var / "demo-operator"
        demo._load_org_tree(out)
        with transaction.atomic():
            demo._load_staff(out)
            logins = demo._logins()
            units = {
                u.code: u for u in OrgUnit.objects.filter(code__in={x.org_code for x in logins})
            }
            create_logins(logins=logins, units=units)
        step("org tree, staff and logins loaded")
    else:
        demo.build_operator_demo(
            subscribers=args.subscribers, months=args.months, seed=args.seed, say=step
        )
        step("generated and imported")
        if args.model_from is not None:
            source = args.model_from / "insight" / "models"
            target = var / "insight" / "models"
            shutil.copytree(source, target, dirs_exist_ok=True)
            step(f"churn model copied from {source}")
        month = str(Month.parse(DEFAULT_START_MONTH).shift(args.months - 1))
        job = start_pipeline(actor=None, month=month, org_unit=None, background=False)
        finished = execute_job(job_id=job.pk)
        if finished.result is None:
            raise SystemExit(f"the pipeline failed: {finished.error}")
        step(f"snapshot {month}: {finished.result}")
    build_campaign_demo(say=step)
    step("done")


if __name__ == "__main__":
    main()
