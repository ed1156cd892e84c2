"""Server time of each console page, per login, in one run (issue 15, "Speed").

    QUANWANG_VAR_DIR=VAR [DATABASE_URL=...] .venv/bin/python bench/bench_pages.py \
        [--logins admin,county_manager] [--repeat 20] [--pages insight,all] [--out FILE]

Each page is requested in this process through Django's test client (no HTTP server, no
network: the view, its queries and the template), logged in as each login of the demo operator.
The first request of a page is timed apart ("first": a fresh web process, whose per-process
caches are empty); then `--repeat` more give p50 and p95. Prints per page and login: status,
first, p50, p95 (ms), and p95 ÷ the 300 ms goal; `--out` writes the same as JSON. A page that
answers other than 200 is reported, not timed.

Pages that need an object (a campaign, a segment, a customer, a job, an org unit, a staff
member) use the first one the login may see; one the operator lacks is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import django

GOAL_MS = 300.0
LOGINS = ("admin", "county_manager")


@dataclass(frozen=True)
class Page:
    name: str
    group: str  # "insight" or "console"
    #: The path, given the login's user (None: the operator has nothing to show there).
    path: Callable[[Any], str | None]


@dataclass
class Result:
    page: str
    login: str
    path: str
    status: int
    first_ms: float
    p50_ms: float
    p95_ms: float
    ratio: float


def _fixed(path: str) -> Callable[[Any], str | None]:
    return lambda _user: path


def _first(model: str, pattern: str, **filters: Any) -> Callable[[Any], str | None]:
    def find(_user: Any) -> str | None:
        from django.apps import apps

        found = apps.get_model(model).objects.filter(**filters).order_by("pk").first()
        return None if found is None else pattern.format(pk=found.pk)

    return find


def _campaign(user: Any) -> str | None:
    """The newest campaign the login may see (the demo's running one, issued to its units)."""
    from quanwang.campaigns.services import visible

    found = visible(user).order_by("-pk").first()
    return None if found is None else f"/campaigns/{found.pk}/"


def _customer(user: Any, pattern: str) -> str | None:
    """`pattern` for a customer of the newest snapshot in the user's scope."""
    import duckdb

    from quanwang.insight import services

    snapshot = services.find_snapshot()
    if snapshot is None:
        return None
    condition, params = services.insight_scope(user).sql("grid_id")
    row = (
        duckdb.connect()
        .execute(
            f"SELECT subscriber_id FROM {snapshot.relation} WHERE {condition} "
            "ORDER BY subscriber_id LIMIT 1",
            params,
        )
        .fetchone()
    )
    return None if row is None else pattern.format(id=row[0])


def _home_unit(user: Any) -> str | None:
    """The org unit of the user's first role."""
    role = user.role_assignments.order_by("pk").first()
    return None if role is None else f"/org-units/{role.org_unit_id}/"


PAGES = [
    Page("insight", "insight", _fixed("/insight/")),
    Page("insight/models", "insight", _fixed("/insight/models/")),
    Page("insight/compare", "insight", _fixed("/insight/compare/")),
    Page("insight/offnet", "insight", _fixed("/insight/offnet/")),
    Page("insight/customer", "insight", lambda user: _customer(user, "/insight/customers/{id}/")),
    Page("home", "console", _fixed("/")),
    Page("customers", "console", _fixed("/customers/")),
    Page("customer", "console", lambda user: _customer(user, "/customers/{id}/")),
    Page("campaigns", "console", _fixed("/campaigns/")),
    Page("campaign", "console", lambda user: _campaign(user)),
    Page("campaign/new", "console", _fixed("/campaigns/new/")),
    Page("tasks", "console", _fixed("/campaigns/tasks/")),
    Page("segments", "console", _fixed("/campaigns/segments/")),
    Page("segment", "console", _first("campaigns.Segment", "/campaigns/segments/{pk}/")),
    Page("offers", "console", _fixed("/campaigns/offers/")),
    Page("replies", "console", _fixed("/campaigns/replies/")),
    Page("promotion", "console", _fixed("/campaigns/promotion/")),
    Page("sandbox", "console", _fixed("/campaigns/sandbox/")),
    Page("data/import", "console", _fixed("/data/import/")),
    Page("data/mappings", "console", _fixed("/data/mappings/")),
    Page("org-units", "console", _fixed("/org-units/")),
    Page("org-unit", "console", _home_unit),
    Page("staff", "console", _fixed("/staff/")),
    Page("jobs", "console", _fixed("/jobs/")),
    Page("job", "console", _first("core.Job", "/jobs/{pk}/")),
    Page("audit", "console", _fixed("/audit/")),
    Page("api-tokens", "console", _fixed("/api-tokens/")),
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(client: Any, path: str, repeat: int) -> tuple[int, float, list[float]]:
    began = time.perf_counter()
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans")
    first = 1000 * (time.perf_counter() - began)
    if response.status_code != 200:
        return response.status_code, first, []
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans")
        times.append(1000 * (time.perf_counter() - began))
    return 200, first, times


def machine() -> str:
    load = os.getloadavg()
    database = os.environ.get("DATABASE_URL", "").split(":")[0] or "sqlite"
    return f"{os.cpu_count()} CPUs, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {database}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--logins", default=",".join(LOGINS))
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--pages", default="insight", help="insight, console, all, or page names (comma-separated)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    wanted = {p.strip() for p in args.pages.split(",") if p.strip()}
    pages = [p for p in PAGES if "all" in wanted or p.group in wanted or p.name in wanted]
    if not pages:
        raise SystemExit(f"no page chosen; pages: {[p.name for p in PAGES]}")
    print(f"{args.repeat} requests a page after the first; {machine()}")
    results = []
    for login in [x.strip() for x in args.logins.split(",") if x.strip()]:
        user = get_user_model().objects.get(username=login)
        client = Client()
        client.force_login(user)
        for page in pages:
            path = page.path(user)
            if path is None:
                print(f"  {page.name:<16} {login:<15} (nothing to show: skipped)")
                continue
            try:
                status, first, times = measure(client, path, args.repeat)
            except Exception as exc:  # the test client raises what the view raised
                print(f"  {page.name:<16} {login:<15} ERROR {type(exc).__name__}: {exc}"[:160])
                results.append(Result(page.name, login, path, 500, 0, 0, 0, 0))
                continue
            if not times:
                print(f"  {page.name:<16} {login:<15} HTTP {status}  first {first:7.1f} ms")
                results.append(Result(page.name, login, path, status, round(first, 1), 0, 0, 0))
                continue
            p50, p95 = statistics.median(times), percentile(times, 0.95)
            result = Result(
                page.name, login, path, status, round(first, 1), round(p50, 1), round(p95, 1),
                round(p95 / GOAL_MS, 2),
            )  # fmt: skip
            results.append(result)
            print(
                f"  {page.name:<16} {login:<15} first {first:7.1f}  p50 {p50:7.1f}  "
                f"p95 {p95:7.1f} ms  p95 ÷ {GOAL_MS:g} ms: {result.ratio:.2f}× "
                f"{'met' if result.ratio < 1 else 'NOT met'}",
                flush=True,
            )
    if args.out:
        args.out.write_text(
            json.dumps(
                {"machine": machine(), "repeat": args.repeat,
                 "results": [asdict(r) for r in results]},
                ensure_ascii=False, indent=1,
            )
        )  # fmt: skip
    sys.exit(0)


if __name__ == "__main__":
    main()
