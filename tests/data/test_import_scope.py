"""Imports stay inside the importer's org subtree: per-table import grants, replace-mode tables
for province data administrators only, and each upserted row inside the subtree before and
after the change (quarantined "outside your scope" otherwise)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanwang.core.choices import JobKind, JobStatus, Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.jobs import execute_job, quarantine_path
from quanwang.core.models import Job
from quanwang.data.customers import customer_360
from quanwang.data.services import start_import
from quanwang.data.warehouse import Warehouse
from tests import factories

SUBSCRIBER_HEADER = (
    "subscriber_id,msisdn,name,segment,payment_type,join_date,status,plan_id,grid_id,"
    "consent_sms,do_not_disturb\n"
)


@pytest.fixture
def customers(tree: factories.Tree, tmp_path: Path) -> dict[str, str]:
    seed = tmp_path / "seed"
    seed.mkdir()
    return factories.warehouse_customers(tree, seed)


def _subscriber(subscriber_id: str) -> dict[str, Any]:
    relation = Warehouse().relation("subscribers")
    cursor = duckdb.connect().execute(
        f"SELECT * FROM {relation} WHERE subscriber_id = ?", [subscriber_id]
    )
    names = [d[0] for d in cursor.description or []]
    row = cursor.fetchone()
    assert row is not None
    return dict(zip(names, row, strict=True))


def _console_import(client: Client, user: Any, table: str, text: str, tmp_path: Path) -> Job:
    """Upload `text` as `table` on the console import page as `user` and run the job."""
    client.force_login(user)
    path = tmp_path / f"upload-{table}.csv"
    path.write_text(text, encoding="utf-8")
    with path.open("rb") as handle:
        response = client.post("/data/import/", {"table": table, "file": handle})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = Job.objects.filter(kind=JobKind.IMPORT_TABLE).latest("pk")
    return execute_job(job_id=job.pk)


def _rejected(job: Job) -> list[dict[str, str]]:
    path = quarantine_path(job.result["quarantine_file"])
    with path.open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def test_a_county_manager_cannot_move_another_districts_customer_into_their_grid(
    tree: factories.Tree, customers: dict[str, str], client: Client, tmp_path: Path
) -> None:
    # Given the county manager of district A and a customer of district B
    manager_a = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    manager_b = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b)
    before = _subscriber("SB1")

    # When A imports a one-row subscribers file moving that customer into A's grid
    row = f"SB1,13700000000,FOREIGNMARK,个人,postpaid,2020-01-05,active,P1,{tree.grid_a.code},,\n"
    job = _console_import(client, manager_a, "subscribers", SUBSCRIBER_HEADER + row, tmp_path)

    # Then the row is quarantined as outside A's scope, the customer is unchanged, and B's
    # manager still sees them while A's does not
    assert job.status == JobStatus.SUCCEEDED
    assert (job.result["loaded"], job.result["by_reason"]) == (0, {"scope": 1})
    assert [r["reason_code"] for r in _rejected(job)] == ["scope"]
    assert _rejected(job)[0]["reason_zh"] == "超出您的管辖范围"
    assert _subscriber("SB1") == before
    assert customer_360(user=manager_b, subscriber_id="SB1")["profile"]["grid_id"] == (
        tree.grid_b.code
    )
    with pytest.raises(NotFound):
        customer_360(user=manager_a, subscriber_id="SB1")


@pytest.mark.parametrize("grid", ["own", "theirs"])
@pytest.mark.parametrize(
    "change",
    [
        {"msisdn": "13700000000"},
        {"consent_sms": "是"},
        {"do_not_disturb": "否"},
    ],
)
def test_an_out_of_scope_customers_number_consent_or_dnd_cannot_be_rewritten(
    tree: factories.Tree,
    customers: dict[str, str],
    client: Client,
    tmp_path: Path,
    change: dict[str, str],
    grid: str,
) -> None:
    # Given the county manager of district A and a customer of district B
    manager_a = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    before = _subscriber("SB1")

    # When A imports a row for that customer changing one field, naming either A's grid
    # (outside before the change) or the customer's own grid (outside before and after)
    values = {
        "subscriber_id": "SB1", "msisdn": "13912340002", "name": "FOREIGNMARK", "segment": "个人",
        "payment_type": "postpaid", "join_date": "2020-01-05", "status": "active",
        "plan_id": "P1", "grid_id": tree.grid_a.code if grid == "own" else tree.grid_b.code,
        "consent_sms": "", "do_not_disturb": "",
    } | change  # fmt: skip
    row = ",".join(values[c] for c in SUBSCRIBER_HEADER.strip().split(",")) + "\n"
    job = _console_import(client, manager_a, "subscribers", SUBSCRIBER_HEADER + row, tmp_path)

    # Then the row is quarantined and the customer is unchanged
    assert job.result["by_reason"] == {"scope": 1}
    assert _subscriber("SB1") == before


def test_a_county_manager_updates_and_adds_customers_of_their_own_grid(
    tree: factories.Tree, customers: dict[str, str], client: Client, tmp_path: Path
) -> None:
    # Given the county manager of district A
    manager_a = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    grid = tree.grid_a.code

    # When they change their own customer's number and add a new customer in their grid
    rows = (
        f"SA1,13700000001,张三,个人,postpaid,2020-01-05,active,P1,{grid},是,否\n"
        f"SA2,13700000002,李四,个人,prepaid,2021-03-01,active,P1,{grid},,\n"
    )
    job = _console_import(client, manager_a, "subscribers", SUBSCRIBER_HEADER + rows, tmp_path)

    # Then both rows load
    assert (job.result["loaded"], job.result["quarantined"]) == (2, 0)
    assert _subscriber("SA1")["msisdn"] == "13700000001"
    assert _subscriber("SA2")["grid_id"] == grid


def test_a_new_customer_without_a_grid_is_outside_a_county_managers_scope(
    tree: factories.Tree, customers: dict[str, str], client: Client, tmp_path: Path
) -> None:
    # Given the county manager of district A
    manager_a = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    # When they add a customer with no grid (rows without a grid belong to the province)
    row = "SA9,13700000009,王五,个人,prepaid,2021-03-01,active,P1,,,\n"
    job = _console_import(client, manager_a, "subscribers", SUBSCRIBER_HEADER + row, tmp_path)

    # Then it is quarantined as outside their scope
    assert job.result["by_reason"] == {"scope": 1}


def test_usage_of_an_out_of_scope_subscriber_is_quarantined(
    tree: factories.Tree, customers: dict[str, str], client: Client, tmp_path: Path
) -> None:
    # Given the county manager of district A
    manager_a = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    # When they import usage for their own subscriber and for one of district B
    text = "subscriber_id,month,arpu\nSA1,2024-03,77\nSB1,2024-01,999\n"
    job = _console_import(client, manager_a, "monthly_usage", text, tmp_path)

    # Then their own row loads and the other is quarantined, B's usage unchanged
    assert (job.result["loaded"], job.result["by_reason"]) == (1, {"scope": 1})
    assert [(r["row"], r["column"], r["value"]) for r in _rejected(job)] == [
        ("3", "subscriber_id", "SB1")
    ]
    manager_b = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b)
    usage = customer_360(user=manager_b, subscriber_id="SB1")["usage"]
    assert [(u["month"], float(u["arpu"])) for u in usage] == [("2024-01", 50.0)]


def test_a_recharge_of_an_out_of_scope_subscriber_cannot_be_taken_over(
    tree: factories.Tree, customers: dict[str, str], client: Client, tmp_path: Path
) -> None:
    # Given a recharge of district B's subscriber, loaded by the province
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    header = "recharge_id,subscriber_id,recharge_date,amount\n"
    _console_import(client, admin, "recharges", header + "R1,SB1,2024-01-03,50\n", tmp_path)

    # When district A's manager imports the same recharge ID under their own subscriber
    manager_a = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    job = _console_import(
        client, manager_a, "recharges", header + "R1,SA1,2024-01-03,1\n", tmp_path
    )

    # Then it is quarantined (the stored recharge is outside their scope) and B's stays
    assert job.result["by_reason"] == {"scope": 1}
    relation = Warehouse().relation("recharges")
    assert duckdb.sql(f"SELECT subscriber_id, amount FROM {relation}").fetchall() == [("SB1", 50)]


@pytest.mark.parametrize("table", ["plans", "grids", "org_units"])
@pytest.mark.parametrize("role", [Role.COUNTY_MANAGER, Role.CITY_MARKETER])
def test_a_replace_mode_table_is_refused_below_the_province_in_chinese(
    tree: factories.Tree, tmp_path: Path, table: str, role: Role
) -> None:
    # Given a county manager or a city marketer
    user = factories.user(
        role=role, at=tree.county_a if role == Role.COUNTY_MANAGER else tree.city_a
    )
    path = tmp_path / "x.csv"
    path.write_text("plan_id\nP9\n", encoding="utf-8")

    # When they start an import of a table that replaces the whole table
    with translation.override("en"), pytest.raises(ServiceError) as refused:
        start_import(actor=user, table=table, path=path, filename="x.csv", org_unit=tree.county_a)

    # Then it is refused with a message naming the province-level administrator (in Chinese
    # on a Chinese page: tests/test_i18n.py holds every msgid to its translation)
    assert "Only a province-level data administrator" in refused.value.message
    assert not Job.objects.exists()


def test_a_province_admin_replaces_a_reference_table_and_moves_customers(
    tree: factories.Tree, customers: dict[str, str], client: Client, tmp_path: Path
) -> None:
    # Given the province's data administrator
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)

    # When they move district B's customer into district A's grid
    row = f"SB1,13912340002,FOREIGNMARK,个人,postpaid,2020-01-05,active,P1,{tree.grid_a.code},,\n"
    job = _console_import(client, admin, "subscribers", SUBSCRIBER_HEADER + row, tmp_path)

    # Then it loads: the whole operator is theirs
    assert (job.result["loaded"], job.result["quarantined"]) == (1, 0)
    assert _subscriber("SB1")["grid_id"] == tree.grid_a.code


def test_the_import_page_offers_each_user_only_the_tables_they_may_import(
    tree: factories.Tree, client: Client
) -> None:
    # Given a province admin, a county manager and a grid manager
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    grid = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)

    # When each opens the import page
    offered = {}
    for user in (admin, county):
        client.force_login(user)
        form = client.get("/data/import/").context["form"]
        offered[user] = {value for value, _label in form.fields["table"].choices}
    client.force_login(grid)
    grid_page = client.get("/data/import/")

    # Then the admin is offered every table, the county manager no replace-mode table, and
    # the grid manager no import at all
    assert {"plans", "grids", "org_units", "subscribers"} <= offered[admin]
    assert "subscribers" in offered[county]
    assert offered[county].isdisjoint({"plans", "grids", "org_units"})
    assert grid_page.status_code == 404


def test_a_county_manager_posting_a_replace_table_on_the_console_is_refused(
    tree: factories.Tree, client: Client, tmp_path: Path
) -> None:
    # Given a county manager
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))
    path = tmp_path / "plans.csv"
    path.write_text("plan_id,name,plan_type,monthly_fee,is_5g\nP9,x,prepaid,1,否\n", "utf-8")

    # When they post a plans file anyway
    with path.open("rb") as handle:
        response = client.post("/data/import/", {"table": "plans", "file": handle})

    # Then no job is started
    assert response.status_code == 200
    assert not Job.objects.exists()


def test_the_cli_imports_within_the_users_scope_with_as(
    tree: factories.Tree, customers: dict[str, str], tmp_path: Path
) -> None:
    # Given the county manager of district A, named on the command line with --as
    factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a, username="baiyun")
    row = f"SB1,13700000000,FOREIGNMARK,个人,postpaid,2020-01-05,active,P1,{tree.grid_a.code},,\n"
    path = tmp_path / "subs.csv"
    path.write_text(SUBSCRIBER_HEADER + row, encoding="utf-8")
    plans = tmp_path / "plans.csv"
    plans.write_text("plan_id,name,plan_type,monthly_fee,is_5g\nP9,x,prepaid,1,否\n", "utf-8")
    before = _subscriber("SB1")

    # When they import the moving row, then a plans file
    call_command("import", "subscribers", str(path), "--as", "baiyun")
    with translation.override("en"), pytest.raises(CommandError) as refused:
        call_command("import", "plans", str(plans), "--user", "baiyun")

    # Then the row was quarantined and the plans refused
    assert Job.objects.get().result["by_reason"] == {"scope": 1}
    assert _subscriber("SB1") == before
    assert "Only a province-level data administrator" in str(refused.value)


def test_every_table_is_guarded_by_an_import_grant_and_a_scope_rule() -> None:
    from quanwang.core.permissions import IMPORT_RESOURCES
    from quanwang.data.import_scope import SCOPE_LINKS, root_only
    from quanwang.data.schema import TABLES, LoadMode

    # Given the canonical tables
    # Then each is named in the permission table, and each upserted table either reaches a
    # grid (through columns it has, into tables keyed by them) or is for the province only
    assert set(IMPORT_RESOURCES) == set(TABLES)
    for name, table in TABLES.items():
        if table.mode is LoadMode.REPLACE:
            assert root_only(table)
        for link in SCOPE_LINKS.get(name, ()):
            assert link.column in table.by_name
            if link.via is not None:
                assert TABLES[link.via].key == (table.by_name[link.column].references or ("",))[1:]
                assert "grid_id" in TABLES[link.via].by_name


# One in-scope and one out-of-scope row per table, for district A's manager; the province
# loads the records they hang on first (stores and enterprises of both districts).
SEED = {
    "enterprises": "enterprise_id,name,industry,grid_id\nEA,甲企业,制造,{a}\nEB,乙企业,制造,{b}\n",
    "stores": "store_id,name,store_type,grid_id\nTA,甲厅,自营厅,{a}\nTB,乙厅,自营厅,{b}\n",
    "complaints": "complaint_id,subscriber_id,created_date,category,level\n"
    "C1,SB1,2024-01-02,网络,普通\n",
}
ROWS = {
    "subscribers": SUBSCRIBER_HEADER
    + "SA1,13700000001,张三,个人,postpaid,2020-01-05,active,P1,{a},,\n"
    + "SB1,13700000002,李四,个人,postpaid,2020-01-05,active,P1,{b},,\n",
    "enterprises": "enterprise_id,name,industry,grid_id\nEA,甲,制造,{a}\nEB,乙,制造,{a}\n",
    "stores": "store_id,name,store_type,grid_id\nTA,甲,自营厅,{a}\nTN,新,自营厅,{b}\n",
    "monthly_usage": "subscriber_id,month,arpu\nSA1,2024-05,1\nSB1,2024-05,1\n",
    "recharges": "recharge_id,subscriber_id,recharge_date,amount\nR1,SA1,2024-01-03,5\n"
    "R2,SB1,2024-01-03,5\n",
    "contacts": "subscriber_id,month,peer_hash,peer_operator\nSA1,2024-05,h,移动\n"
    "SB1,2024-05,h,移动\n",
    # The stored complaint is B's: taking it over for A's subscriber is outside too
    "complaints": "complaint_id,subscriber_id,created_date,category,level\n"
    "C2,SA1,2024-01-02,网络,普通\nC1,SA1,2024-01-02,网络,普通\n",
    "enterprise_members": "enterprise_id,subscriber_id\nEA,SA1\nEB,SB1\n",
    "store_sales": "store_id,month,product,units\nTA,2024-05,5G,1\nTB,2024-05,5G,1\n",
}


@pytest.mark.parametrize("table", sorted(ROWS))
def test_each_upserted_table_keeps_a_county_manager_to_their_district(
    tree: factories.Tree, customers: dict[str, str], tmp_path: Path, table: str
) -> None:
    from quanwang.data.import_scope import import_scope
    from quanwang.data.importer import import_file
    from quanwang.data.schema import TABLES

    # Given records of both districts, and the county manager of district A
    grids = {"a": tree.grid_a.code, "b": tree.grid_b.code}
    for name, text in SEED.items():
        seed = tmp_path / f"seed-{name}.csv"
        seed.write_text(text.format(**grids), encoding="utf-8")
        import_file(table_name=name, path=seed)
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    scope = import_scope(user=manager, table=TABLES[table])
    path = tmp_path / f"{table}.csv"
    path.write_text(ROWS[table].format(**grids), encoding="utf-8")

    # When they import one row of their own district and one of the other's
    report = import_file(table_name=table, path=path, scope=scope)

    # Then the first loads and the second is quarantined as outside their scope
    assert (report.loaded, report.quarantined, set(report.by_reason)) == (1, 1, {"scope"})


# Subscribers as stored before the import: ID → grid (None: no grid). GA is the importer's.
STORED = {"S1": "GA", "S2": "GA", "S3": "GB", "S4": "GB", "S5": None}
FILE_ROWS = st.lists(
    st.tuples(
        st.sampled_from([*STORED, "N1", "N2"]),  # existing or new subscribers
        st.sampled_from(["GA", "GB", ""]),  # the grid the row gives
        st.sampled_from(["13700000000", "13911112222"]),
    ),
    unique_by=lambda row: row[0],
    max_size=7,
)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=FILE_ROWS)
def test_property_an_import_changes_only_rows_inside_the_scope_before_and_after(
    rows: list[tuple[str, str, str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    from quanwang.data.import_scope import RowScope
    from quanwang.data.importer import import_file

    # Given a warehouse holding subscribers of grids GA and GB and one with no grid
    work = tmp_path_factory.mktemp("property")
    store = Warehouse(work / "warehouse")
    files = {
        "plans": "plan_id,name,plan_type,monthly_fee,is_5g\nP1,x,postpaid,1,否\n",
        "grids": "grid_id,name,grid_type,county_code\nGA,a,沿街,A\nGB,b,沿街,B\n",
        "subscribers": SUBSCRIBER_HEADER
        + "".join(
            f"{sid},13800000000,n,个人,postpaid,2020-01-05,active,P1,{grid or ''},,\n"
            for sid, grid in STORED.items()
        ),
    }
    for table, text in files.items():
        (work / f"{table}.csv").write_text(text, encoding="utf-8")
        import_file(table_name=table, path=work / f"{table}.csv", warehouse=store)
    before = _rows_by_id(store)

    # When an importer whose scope is grid GA imports any file of subscribers
    text = SUBSCRIBER_HEADER + "".join(
        f"{sid},{msisdn},n,个人,postpaid,2020-01-05,active,P1,{grid},,\n"
        for sid, grid, msisdn in rows
    )
    (work / "file.csv").write_text(text, encoding="utf-8")
    report = import_file(
        table_name="subscribers",
        path=work / "file.csv",
        warehouse=store,
        scope=RowScope(grids=frozenset({"GA"})),
        quarantine_dir=work / "quarantine",
    )
    after = _rows_by_id(store)

    # Then a row is quarantined as outside the scope exactly when the stored subscriber or the
    # row itself lies outside GA; no subscriber outside GA changed, and every row that changed
    # or appeared lies in GA
    outside = [sid for sid, grid, _ in rows if grid != "GA" or STORED.get(sid, "GA") != "GA"]
    assert report.by_reason.get("scope", 0) == len(outside)
    assert report.loaded == len(rows) - len(outside)
    for sid, row in before.items():
        if row["grid_id"] != "GA":
            assert after[sid] == row
    for sid, row in after.items():
        if before.get(sid) != row:
            assert row["grid_id"] == "GA"
            assert before.get(sid, {"grid_id": "GA"})["grid_id"] == "GA"


def _rows_by_id(store: Warehouse) -> dict[str, dict[str, Any]]:
    cursor = duckdb.connect().execute(f"SELECT * FROM {store.relation('subscribers')}")
    names = [d[0] for d in cursor.description or []]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def test_an_import_keeps_to_the_scope_chosen_in_the_switcher(
    tree: factories.Tree, customers: dict[str, str], client: Client, tmp_path: Path
) -> None:
    from quanwang.core.middleware import SCOPE_SESSION_KEY
    from quanwang.core.models import RoleAssignment

    # Given a manager of both districts who chose to work as district A's
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    RoleAssignment.objects.create(user=manager, role=Role.COUNTY_MANAGER, org_unit=tree.county_b)
    client.force_login(manager)
    session = client.session
    session[SCOPE_SESSION_KEY] = RoleAssignment.objects.get(user=manager, org_unit=tree.county_a).pk
    session.save()
    before = _subscriber("SB1")

    # When they import a change to district B's customer (the job runs without the session)
    row = f"SB1,13700000000,FOREIGNMARK,个人,postpaid,2020-01-05,active,P1,{tree.grid_b.code},,\n"
    job = _console_import(client, manager, "subscribers", SUBSCRIBER_HEADER + row, tmp_path)

    # Then it is outside the scope they chose
    assert job.result["by_reason"] == {"scope": 1}
    assert _subscriber("SB1") == before


def test_an_import_whose_user_is_gone_does_not_run_as_the_system(
    tree: factories.Tree, customers: dict[str, str], client: Client, tmp_path: Path
) -> None:
    # Given a queued import of a county manager whose login is then deleted
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    path = tmp_path / "subs.csv"
    row = f"SB1,13700000000,FOREIGNMARK,个人,postpaid,2020-01-05,active,P1,{tree.grid_a.code},,\n"
    path.write_text(SUBSCRIBER_HEADER + row, encoding="utf-8")
    job = start_import(
        actor=manager, table="subscribers", path=path, filename="subs.csv", org_unit=tree.county_a
    )
    before = _subscriber("SB1")
    manager.delete()

    # When the worker runs it
    finished = execute_job(job_id=job.pk)

    # Then it fails and changes nothing
    assert finished.status == JobStatus.FAILED
    assert _subscriber("SB1") == before
