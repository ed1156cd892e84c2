"""Bench: the leaderboard page and the morning-meeting sheet, p95 against the 200 ms goal.

World: one city of 30 counties × 10 grids (300 grids), 2,000 stores, 300 grid managers, 10
KPIs at grid, store and staff grains, and a month of daily boards (30 kept days, each built
from its own actuals). Requests through the Django test client as a county manager (the
board of the county's grids and of the city's stores, both with movement) and a grid
manager (the peer board and the team's morning sheet). Baseline: the same board ranked
straight from the actuals Parquet file on each request (no kept day), like a page that
recomputes.

    QUANWANG_VAR_DIR=/tmp/var-bench-boards .venv/bin/python bench/bench_performance_boards.py
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
os.environ.setdefault("QUANWANG_VAR_DIR", tempfile.mkdtemp(prefix="bench-boards-"))
os.environ["DATABASE_URL"] = "sqlite:///" + os.path.join(os.environ["QUANWANG_VAR_DIR"], "b.db")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

settings.DATABASES["default"].setdefault("TEST", {})["MIGRATE"] = False
settings.ALLOWED_HOSTS = ["*"]
setup_test_environment()
connection.creation.create_test_db(verbosity=0, keepdb=False)

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402

from quanwang.channels.models import Store  # noqa: E402
from quanwang.core.choices import OrgLevel, Role  # noqa: E402
from quanwang.core.models import OrgUnit, RoleAssignment, Staff  # noqa: E402
from quanwang.performance.actuals import reading as actuals_reading  # noqa: E402
from quanwang.performance.actuals.store import publish  # noqa: E402
from quanwang.performance.boards import ranking  # noqa: E402
from quanwang.performance.boards.build import build_day  # noqa: E402

COUNTIES, GRIDS, STORES, KPIS = 30, 10, 2000, 10
DAYS = int(os.environ.get("BENCH_DAYS", "30"))
END = dt.date(2024, 6, 30)


def world() -> tuple[list[OrgUnit], list[str], list[str], list[str]]:
    province = OrgUnit.objects.create(code="P", name="省", level=OrgLevel.GROUP, path="/P/")
    city = OrgUnit.objects.create(
        code="C", name="市", level=OrgLevel.CITY, parent=province, path="/P/C/"
    )
    counties, grids = [], []
    for c in range(COUNTIES):
        county = OrgUnit.objects.create(
            code=f"C-{c:02d}",
            name=f"区县{c}",
            level=OrgLevel.COUNTY,
            parent=city,
            path=f"/P/C/C-{c:02d}/",
        )
        counties.append(county)
        for g in range(GRIDS):
            code = f"C-{c:02d}-G{g:02d}"
            grids.append(
                OrgUnit(
                    code=code,
                    name=f"网格{c}-{g}",
                    level=OrgLevel.GRID,
                    parent=county,
                    path=f"{county.path}{code}/",
                )
            )
    OrgUnit.objects.bulk_create(grids)
    grids = list(OrgUnit.objects.filter(level=OrgLevel.GRID).order_by("code"))
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"gm{i}") for i in range(len(grids))]
    )
    Staff.objects.bulk_create(
        [
            Staff(
                employee_no=f"E{i:04d}", name=f"员工{i}", mobile="13800000000", org_unit=g, user=u
            )
            for i, (g, u) in enumerate(zip(grids, users, strict=True))
        ]
    )
    RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(user=u, role=Role.GRID_MANAGER, org_unit=g)
            for g, u in zip(grids, users, strict=True)
        ]
    )
    Store.objects.bulk_create(
        [
            Store(
                store_id=f"S{i:05d}",
                name=f"门店{i}",
                store_type="franchise",
                org_unit=grids[i % len(grids)],
            )
            for i in range(STORES)
        ]
    )
    return (
        counties,
        [g.code for g in grids],
        [f"E{i:04d}" for i in range(len(grids))],
        [f"S{i:05d}" for i in range(STORES)],
    )


def actuals(
    day: dt.date, grids: list[str], staff: list[str], stores: list[str], rng: random.Random
) -> None:
    rows = []
    periods = (f"{day:%Y-%m}", f"{day.year}Q{(day.month - 1) // 3 + 1}")
    for k in range(KPIS):
        for period in periods:
            for grain, keys in (("org_unit", grids), ("staff", staff), ("store", stores)):
                for i, key in enumerate(keys):
                    rows.append(
                        {
                            "kpi": f"kpi{k}",
                            "grain": grain,
                            "key": key,
                            "org_unit": grids[i % len(grids)],
                            "period": period,
                            "numerator": float(rng.randint(0, 1000)),
                            "denominator": None,
                        }
                    )
    publish(rows, as_of=day, snapshot="bench")


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] * 1000


def timed(client: Client, url: str, n: int = 40) -> tuple[float, float]:
    client.get(url)  # warm the process cache, as a running server is
    samples = []
    for _ in range(n):
        began = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - began)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(samples) * 1000, p95(samples)


def profile(user: object, url: str) -> None:
    import cProfile
    import pstats

    client = Client()
    client.force_login(user)
    client.get(url)
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(url)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> None:
    rng = random.Random(7)
    began = time.perf_counter()
    counties, grids, staff, stores = world()
    build_seconds = []
    for offset in range(DAYS - 1, -1, -1):
        day = END - dt.timedelta(days=offset)
        actuals(day, grids, staff, stores, rng)
        t = time.perf_counter()
        build_day(day=day)
        build_seconds.append(time.perf_counter() - t)
    print(f"world + {DAYS} days of boards in {time.perf_counter() - began:.1f} s; "
          f"build_day median {statistics.median(build_seconds):.2f} s")  # fmt: skip
    county_user = get_user_model().objects.create(username="county")
    RoleAssignment.objects.create(user=county_user, role=Role.COUNTY_MANAGER, org_unit=counties[0])
    city_user = get_user_model().objects.create(username="city")
    RoleAssignment.objects.create(
        user=city_user, role=Role.CITY_MARKETER, org_unit=OrgUnit.objects.get(code="C")
    )
    grid_user = get_user_model().objects.get(username="gm0")
    if os.environ.get("BENCH_PROFILE"):
        profile(city_user, "/performance/boards/?level=store&unit=C&board=kpi3")
        return
    results = []
    for who, user, url in (
        (
            "county manager: county's grids",
            county_user,
            "/performance/boards/?level=grid&unit=C-00&board=kpi0",
        ),
        (
            "city marketer: city's 2,000 stores",
            city_user,
            "/performance/boards/?level=store&unit=C&board=kpi3",
        ),
        (
            "grid manager: peer board",
            grid_user,
            "/performance/boards/?level=grid&unit=C-00&board=kpi1",
        ),
        (
            "grid manager: morning sheet",
            grid_user,
            f"/performance/boards/morning/teams/{grids[0]}/",
        ),
        ("county manager: morning sheet", county_user, "/performance/boards/morning/teams/C-00/"),
    ):
        client = Client()
        client.force_login(user)
        median, high = timed(client, url)
        results.append((who, median, high))
    # Baseline: rank the city's stores straight from the actuals on each request.
    samples = []
    for _ in range(20):
        actuals_reading._cache.clear()
        t = time.perf_counter()
        figures = actuals_reading.figures(kpi="kpi3", grain="store", period="2024-06")
        ranking.rank([(k, f.value) for k, f in figures.items()])
        samples.append(time.perf_counter() - t)
    print(f"{'page':40} {'median ms':>10} {'p95 ms':>8}  goal p95 < 200 ms")
    for who, median, high in results:
        print(f"{who:40} {median:10.1f} {high:8.1f}  {'ok' if high < 200 else 'MISSED'}")
    base = p95(samples)
    print(
        "baseline: rank 2,000 stores from the actuals Parquet per request (no page): "
        f"p95 {base:.1f} ms"
    )
    print(f"ratio city stores page p95 / baseline p95: {results[1][2] / base:.2f}")


if __name__ == "__main__":
    sys.exit(main())
