"""The demo operator: a generated city, loaded through the same importers a user would use."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings
from django.db import transaction

from quanwang.core.choices import JobKind, JobStatus, OrgLevel, Role
from quanwang.core.jobs import execute_job
from quanwang.core.models import OrgUnit, Staff
from quanwang.core.services.demo import DemoLogin, create_logins
from quanwang.core.services.jobs import start_job
from quanwang.data.services import start_import
from quanwang.data.warehouse import sql_literal

# Parents before children, so every reference check finds its target.
LOAD_ORDER = (
    "plans",
    "org_units",
    "grids",
    "enterprises",
    "stores",
    "subscribers",
    "enterprise_members",
    "enterprise_products",
    "enterprise_orders",
    "monthly_usage",
    "recharges",
    "contacts",
    "complaints",
    "store_sales",
    "store_traffic",
    "channel_sales",
)

Say = Callable[[str], None]


class DemoFailed(Exception):
    pass


def _generated(out: Path, *, subscribers: int, months: int, seed: int) -> bool:
    """Whether OUT holds this city already, written by this version of the generator (a
    newer version may add columns, e.g. enterprises' account managers)."""
    from quanwang.data.generator import GENERATOR_VERSION

    manifest = out / "manifest.json"
    if not manifest.exists():
        return False
    written = json.loads(manifest.read_text(encoding="utf-8"))
    params = written.get("parameters", {})
    return (
        params.get("subscribers"),
        params.get("months"),
        params.get("seed"),
        written.get("generator_version"),
    ) == (subscribers, months, seed, GENERATOR_VERSION)


def _run(job_id: int, what: str) -> dict[str, Any]:
    job = execute_job(job_id=job_id)
    if job.status != JobStatus.SUCCEEDED:
        raise DemoFailed(f"{what}: {job.error}")
    return job.result or {}


def _load_org_tree(out: Path) -> None:
    source = out / "org_units.parquet"
    target = out / "org_units.csv"
    duckdb.connect().execute(
        "COPY (SELECT code, name, '' AS name_en, level, parent_code FROM "
        f"read_parquet({sql_literal(str(source))})) TO {sql_literal(str(target))} (HEADER)"
    )
    job = start_job(
        actor=None,
        kind=JobKind.IMPORT_ORG_UNITS,
        org_unit=None,
        params={"path": str(target), "filename": target.name},
        background=False,
    )
    _run(job.pk, "org_units")


def _load_staff(out: Path) -> None:
    path = out / "extra" / "staff.parquet"
    if not path.exists():
        return
    rows = (
        duckdb.connect()
        .execute(
            "SELECT employee_no, name, mobile, title, org_unit_code FROM "
            f"read_parquet({sql_literal(str(path))})"
        )
        .fetchall()
    )
    units = dict(OrgUnit.objects.values_list("code", "pk"))
    existing = set(Staff.objects.values_list("employee_no", flat=True))
    Staff.objects.bulk_create(
        [
            Staff(employee_no=no, name=name, mobile=mobile, title=title, org_unit_id=units[code])
            for no, name, mobile, title, code in rows
            if no not in existing and code in units
        ],
        batch_size=2000,
    )


def _logins() -> list[DemoLogin]:
    root = OrgUnit.objects.filter(level=OrgLevel.GROUP).order_by("path").first()
    city = OrgUnit.objects.filter(level=OrgLevel.CITY).order_by("path").first()
    counties = list(OrgUnit.objects.filter(level=OrgLevel.COUNTY).order_by("path")[:3])
    if root is None or city is None or len(counties) < 3:
        raise DemoFailed("the generated org tree has too few units for the demo logins")
    grid = OrgUnit.objects.filter(parent=counties[0], level=OrgLevel.GRID).order_by("path").first()
    other_grid = (
        OrgUnit.objects.filter(parent=counties[2], level=OrgLevel.GRID).order_by("path").first()
    )
    if grid is None or other_grid is None:
        raise DemoFailed("the generated counties have no grids")
    # The account_manager login is a generated 政企客户经理 of the first district: the
    # enterprises they serve put their members on that login's task lists.
    from quanwang.data.generator._vocab import ACCOUNT_MANAGER_TITLE

    serving = (
        Staff.objects.filter(org_unit=counties[0], title=ACCOUNT_MANAGER_TITLE)
        .order_by("employee_no")
        .first()
    )
    return [
        DemoLogin("admin", "李省管", Role.PROVINCE_ADMIN, root.code, "13800000001"),
        DemoLogin("city_marketer", "王市场", Role.CITY_MARKETER, city.code, "13800000002"),
        DemoLogin("county_manager", "赵分局", Role.COUNTY_MANAGER, counties[0].code, "13800000004"),
        DemoLogin("grid_manager", "刘网格", Role.GRID_MANAGER, grid.code, "13800000005"),
        DemoLogin(
            "account_manager",
            "黄客户经理",
            Role.ACCOUNT_MANAGER,
            counties[0].code,
            "13800000006",
            employee_no=serving.employee_no if serving else None,
        ),
        DemoLogin("channel_manager", "周渠道", Role.CHANNEL_MANAGER, city.code, "13800000007"),
        DemoLogin("agency", "某营销服务商", Role.AGENCY, root.code, "13800000008"),
        DemoLogin("auditor", "孙审计", Role.AUDITOR, root.code, "13800000009"),
        DemoLogin("multi", "吴双岗", Role.COUNTY_MANAGER, counties[1].code, "13800000010"),
        DemoLogin("multi", "吴双岗", Role.GRID_MANAGER, other_grid.code, "13800000010"),
    ]


def build_operator_demo(
    *, subscribers: int, months: int, seed: int, say: Say | None = None
) -> list[DemoLogin]:
    """Generate the demo city (once per parameters), import it, and create the logins."""
    from quanwang.data.generator import GeneratorConfig, generate

    tell = say or (lambda _text: None)
    out = Path(settings.VAR_DIR) / "demo-operator"
    if not _generated(out, subscribers=subscribers, months=months, seed=seed):
        tell(f"generating {subscribers:,} subscribers × {months} months (seed {seed}) …")
        generate(GeneratorConfig(subscribers=subscribers, months=months, seed=seed), out)
    tell("importing the org tree …")
    _load_org_tree(out)
    for table in LOAD_ORDER:
        path = out / f"{table}.parquet"
        job = start_import(
            actor=None,
            table=table,
            path=path,
            filename=path.name,
            org_unit=None,
            # A rebuild of another size replaces the demo operator's tables, by design.
            confirm_replace=True,
            background=False,
        )
        result = _run(job.pk, table)
        tell(
            f"  {table:<20} {result.get('loaded', 0):>12,} rows  {result.get('seconds', 0):>6.1f} s"
        )
        if result.get("quarantined"):
            raise DemoFailed(f"{table}: {result['quarantined']} rows were quarantined")
    with transaction.atomic():
        _load_staff(out)
        logins = _logins()
        units = {u.code: u for u in OrgUnit.objects.filter(code__in={x.org_code for x in logins})}
        create_logins(logins=logins, units=units)
    return logins
