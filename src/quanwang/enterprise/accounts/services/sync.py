"""Keeping the account file (Account) in step with the warehouse's `enterprises` table, and the
copies the account page reads (AccountProduct from `enterprise_products`, AccountMember from
`enterprise_members` with the subscriber's number).

`sync_accounts()` runs after each import of the enterprises table (data.after_import), in the
nightly pipeline (accounts.job_handlers), from `quanwang sync-accounts` and in the demo. It is
idempotent: a second run with the same warehouse changes nothing. An account the warehouse no
longer lists becomes inactive, never deleted; listed again, it is active again.

- Org unit: the account's grid's unit (an org unit whose code is the grid ID), else the nearest
  unit above it (the grid's county in `grids`, then `org_units` parents), else the root — as
  the channels app's store file does (data.grid_units).
- Parent: `parent_enterprise_id`, read through merges (a parent merged into another account
  means the survivor). A cycle in the result is refused before anything is written, naming
  the enterprise IDs. An unknown parent leaves the account at the top (counted).
- Grade: the warehouse's, until the grading part has graded the account (AccountGrading).
- Lead account manager: the staff member with `account_manager_employee_no`, as the team's
  LEAD member (source import); Account.account_manager follows it.
- Ownership: PROJECT (刑警) for very large accounts (size ≥ PROJECT_SIZE) or a province
  strategic industry, else REGIONAL (片警).

What the console decided wins: a parent or an ownership set in the console, and a lead chosen
in the console, are not overwritten by a later import. A merged account keeps status MERGED;
its warehouse rows (members, products) go to the survivor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.core.models import Staff
from quanwang.data.grid_units import GridUnits, read_grid_parents
from quanwang.data.schema import TABLES
from quanwang.data.warehouse import Warehouse
from quanwang.enterprise.accounts.choices import Source, WarehouseStatus
from quanwang.enterprise.accounts.services.copies import count_members, sync_members, sync_products
from quanwang.enterprise.accounts.services.tree import cycle_error, find_cycle
from quanwang.enterprise.choices import AccountGrade, AccountStatus, Ownership, TeamRole
from quanwang.enterprise.models import Account, AccountTeamMember

# At or above this many employees an account is "very large" and the province project team
# (刑警) owns it by default.
PROJECT_SIZE = 1000
# Industries the province serves through its project teams whatever the size.
PROVINCE_STRATEGIC_INDUSTRIES = frozenset({"政府机关", "金融", "教育", "医疗卫生"})

STATUS_FROM_WAREHOUSE = {
    WarehouseStatus.NORMAL.value: AccountStatus.ACTIVE,
    WarehouseStatus.SUSPENDED.value: AccountStatus.DORMANT,
    WarehouseStatus.DEREGISTERED.value: AccountStatus.CLOSED,
}
SYNCED_FIELDS = (
    "name",
    "industry",
    "size",
    "credit_code",
    "grid_id",
    "lat",
    "lon",
)
ENTERPRISE_COLUMNS = (
    "enterprise_id",
    "name",
    "industry",
    "size",
    "grid_id",
    "grade",
    "lat",
    "lon",
    "account_manager_employee_no",
    "parent_enterprise_id",
    "credit_code",
    "status",
)
PRODUCT_COLUMNS = (
    "product_instance_id",
    "enterprise_id",
    "product",
    "start_date",
    "contract_end",
    "monthly_fee",
    "agreement",
    "bundled",
    "prepaid",
)
BATCH = 2000


@dataclass(frozen=True)
class SyncReport:
    listed: int
    created: int
    updated: int
    unchanged: int
    deactivated: int
    reactivated: int
    unknown_parents: int = 0
    unknown_managers: int = 0
    products: int = 0
    members: int = 0
    # (subscriber ID, enterprise IDs) of members listed under two accounts: kept on the first.
    members_on_two_accounts: list[tuple[str, list[str]]] = field(default_factory=list)

    def as_result(self) -> dict[str, Any]:
        result = asdict(self)
        result["members_on_two_accounts"] = len(self.members_on_two_accounts)
        return result


def default_ownership(*, size: int | None, industry: str) -> Ownership:
    """刑警 for very large or province-strategic accounts, else 片警."""
    if (size or 0) >= PROJECT_SIZE or industry in PROVINCE_STRATEGIC_INDUSTRIES:
        return Ownership.PROJECT
    return Ownership.REGIONAL


# -- reading the warehouse -------------------------------------------------------------------


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.sql(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _select(
    con: duckdb.DuckDBPyConnection, relation: str, wanted: Iterable[str], *, order: str
) -> str:
    """SELECT of `wanted` columns from `relation`, NULL for those an older file lacks."""
    present = {d[0] for d in con.sql(f"SELECT * FROM {relation} LIMIT 0").description}
    columns = ", ".join(c if c in present else f"NULL AS {c}" for c in wanted)
    return f"SELECT {columns} FROM {relation} ORDER BY {order}"


@dataclass
class _Warehouse:
    enterprises: list[dict[str, Any]]
    counties: dict[str, str]
    parents: dict[str, str]
    products: list[dict[str, Any]]
    members: list[tuple[str, str, str | None, str | None, dt.date | None]]


def _read(store: Warehouse) -> _Warehouse:
    con = duckdb.connect()
    try:
        enterprises = _rows(
            con,
            _select(con, store.relation("enterprises"), ENTERPRISE_COLUMNS, order="enterprise_id"),
        )
        counties, parents = read_grid_parents(con, store)
        products: list[dict[str, Any]] = []
        # The table arrives with the generator's next version; older warehouses have none.
        if "enterprise_products" in TABLES:
            products = _rows(
                con,
                _select(
                    con,
                    store.relation("enterprise_products"),
                    PRODUCT_COLUMNS,
                    order="product_instance_id",
                ),
            )
        members = con.sql(
            f"SELECT m.enterprise_id, m.subscriber_id, s.msisdn, m.role, m.joined_date "
            f"FROM {store.relation('enterprise_members')} m "
            f"LEFT JOIN {store.relation('subscribers')} s USING (subscriber_id) "
            "ORDER BY m.enterprise_id, m.subscriber_id"
        ).fetchall()
    finally:
        con.close()
    return _Warehouse(enterprises, counties, parents, products, members)


def _wanted(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"] or "",
        "industry": row["industry"] or "",
        "size": int(row["size"]) if row["size"] is not None else None,
        "credit_code": (row["credit_code"] or "")[:18],
        "grid_id": row["grid_id"] or "",
        "lat": row["lat"],
        "lon": row["lon"],
    }


def _lock_sync() -> None:
    """One sync at a time (PostgreSQL; SQLite serialises writers anyway), so that two runs at
    once (an import's hook and the nightly step) do not create the same account twice."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('quanwang.sync_accounts'))")


def _graded_ids() -> set[int]:
    """Accounts the grading part has graded: their grade is its, not the warehouse's."""
    try:
        grading = apps.get_model("enterprise", "AccountGrading")
    except LookupError:
        return set()
    return set(grading.objects.values_list("account_id", flat=True).distinct())


# -- the sync --------------------------------------------------------------------------------


def sync_accounts(*, warehouse: Warehouse | None = None) -> SyncReport:
    """Bring the account file in line with the warehouse (see the module's doc)."""
    data = _read(warehouse or Warehouse())
    finder = GridUnits(
        counties=data.counties,
        parents=data.parents,
        empty_tree=_("The org tree is empty: import the org units before the enterprises."),
    )
    now = timezone.now()
    with transaction.atomic():
        _lock_sync()
        existing = {a.enterprise_id: a for a in Account.objects.select_for_update().order_by("pk")}
        survivor = _survivors(existing)
        parent_of, unknown_parents = _parents(data.enterprises, existing, survivor)
        cycle = find_cycle(parent_of)
        if cycle is not None:
            raise cycle_error(cycle)
        graded = _graded_ids()
        created: list[Account] = []
        changed: set[str] = set()
        reactivated = 0
        for row in data.enterprises:
            eid = row["enterprise_id"]
            wanted = _wanted(row)
            status = STATUS_FROM_WAREHOUSE.get(row["status"] or "", AccountStatus.ACTIVE)
            grade = row["grade"] if row["grade"] in AccountGrade.values else ""
            account = existing.get(eid)
            if account is None:
                account = Account(
                    enterprise_id=eid,
                    org_unit=finder.unit_for(row["grid_id"]),
                    status=status,
                    grade=grade,
                    ownership=default_ownership(size=wanted["size"], industry=wanted["industry"]),
                    synced_at=now,
                    **wanted,
                )
                created.append(account)
                existing[eid] = account
                continue
            dirty = {f for f, v in wanted.items() if getattr(account, f) != v}
            for name in dirty:
                setattr(account, name, wanted[name])
            unit = finder.unit_for(row["grid_id"])
            if account.org_unit_id != unit.pk:
                account.org_unit = unit
                dirty.add("org_unit")
            if not account.active:
                account.active = True
                dirty.add("active")
                reactivated += 1
            if account.status != AccountStatus.MERGED and account.status != status:
                account.status = status
                dirty.add("status")
            if grade and account.grade != grade and account.pk not in graded:
                account.grade = grade
                dirty.add("grade")
            if account.ownership_source == Source.IMPORT:
                ownership = default_ownership(size=account.size, industry=account.industry)
                if account.ownership != ownership:
                    account.ownership = ownership
                    dirty.add("ownership")
            if dirty:
                changed.add(eid)
        Account.objects.bulk_create(created, batch_size=BATCH)
        # Parents need every account's pk, the new ones' included.
        for eid, parent_eid in parent_of.items():
            account = existing[eid]
            parent_id = existing[parent_eid].pk if parent_eid else None
            if account.parent_id != parent_id:
                account.parent_id = parent_id
                changed.add(eid)
        listed = {r["enterprise_id"] for r in data.enterprises}
        new_ids = {a.enterprise_id for a in created}
        gone = [a for eid, a in existing.items() if a.active and eid not in listed]
        for account in gone:
            account.active = False
            changed.add(account.enterprise_id)
        updates = [existing[eid] for eid in sorted(changed - new_ids)]
        for account in updates:
            account.synced_at = now
        to_save = updates + [a for a in created if a.parent_id is not None]
        Account.objects.bulk_update(
            to_save,
            [
                *SYNCED_FIELDS,
                "org_unit",
                "active",
                "status",
                "grade",
                "ownership",
                "parent",
                "synced_at",
            ],
            batch_size=BATCH,
        )
        unknown_managers = _sync_leads(data.enterprises, existing, survivor)
        products = sync_products(data.products, existing, survivor, now)
        members, doubles = sync_members(data.members, existing, survivor)
        count_members()
    changed_listed = len((changed & listed) - new_ids)
    return SyncReport(
        listed=len(data.enterprises),
        created=len(created),
        updated=changed_listed - reactivated,
        unchanged=len(listed) - len(created) - changed_listed,
        deactivated=len(gone),
        reactivated=reactivated,
        unknown_parents=unknown_parents,
        unknown_managers=unknown_managers,
        products=products,
        members=members,
        members_on_two_accounts=doubles,
    )


def _survivors(existing: Mapping[str, Account]) -> dict[str, str]:
    """Enterprise ID → the enterprise ID its rows belong to now (itself, or through merges
    the account it was folded into)."""
    by_pk = {a.pk: a for a in existing.values()}
    result: dict[str, str] = {}
    for eid, account in existing.items():
        seen = {account.pk}
        current = account
        while current.merged_into_id is not None and current.merged_into_id not in seen:
            seen.add(current.merged_into_id)
            current = by_pk[current.merged_into_id]
        result[eid] = current.enterprise_id
    return result


def _parents(
    rows: list[dict[str, Any]], existing: Mapping[str, Account], survivor: Mapping[str, str]
) -> tuple[dict[str, str | None], int]:
    """Each account's wanted parent (enterprise IDs), and how many named an unknown one."""
    by_pk = {a.pk: a.enterprise_id for a in existing.values()}
    listed = {r["enterprise_id"] for r in rows}
    wanted: dict[str, str | None] = {}
    unknown = 0
    for eid, account in existing.items():
        if eid not in listed:
            wanted[eid] = by_pk.get(account.parent_id) if account.parent_id else None
    for row in rows:
        eid = row["enterprise_id"]
        known = existing.get(eid)
        if known is not None and known.parent_source == Source.CONSOLE:
            wanted[eid] = by_pk.get(known.parent_id) if known.parent_id else None
            continue
        named = row["parent_enterprise_id"] or None
        if named is not None and named not in listed and named not in existing:
            unknown += 1
            named = None
        wanted[eid] = survivor.get(named, named) if named else None
    return wanted, unknown


def _sync_leads(
    rows: list[dict[str, Any]], existing: Mapping[str, Account], survivor: Mapping[str, str]
) -> int:
    """Make the warehouse's account manager each account's LEAD (unless the console chose the
    lead); returns how many named an employee number no staff member has."""
    numbers = {r["account_manager_employee_no"] for r in rows if r["account_manager_employee_no"]}
    staff = {s.employee_no: s for s in Staff.objects.filter(employee_no__in=numbers)}
    ids = [a.pk for a in existing.values()]
    team: dict[int, dict[int, AccountTeamMember]] = {}
    for member in AccountTeamMember.objects.filter(account_id__in=ids).order_by("pk"):
        team.setdefault(member.account_id, {})[member.staff_id] = member
    unknown = 0
    dropped: list[int] = []
    promoted: list[AccountTeamMember] = []
    added: list[AccountTeamMember] = []
    managers: dict[int, int | None] = {}
    for row in rows:
        account = existing[row["enterprise_id"]]
        if account.merged_into_id is not None:
            continue  # merged: the survivor's team stands
        number = row["account_manager_employee_no"]
        wanted = staff.get(number) if number else None
        if number and wanted is None:
            unknown += 1
        members = team.get(account.pk, {})
        lead = next((m for m in members.values() if m.role == TeamRole.LEAD), None)
        if wanted is not None and (lead is None or lead.source == Source.IMPORT):
            if lead is not None and lead.staff_id != wanted.pk:
                dropped.append(lead.pk)
                lead = None
            if lead is None:
                on_team = members.get(wanted.pk)
                if on_team is not None:
                    on_team.role, on_team.source = TeamRole.LEAD, Source.IMPORT
                    promoted.append(on_team)
                    lead = on_team
                else:
                    lead = AccountTeamMember(
                        account=account, staff=wanted, role=TeamRole.LEAD, source=Source.IMPORT
                    )
                    added.append(lead)
        managers[account.pk] = lead.staff_id if lead is not None else None
    AccountTeamMember.objects.filter(pk__in=dropped).delete()
    AccountTeamMember.objects.bulk_update(promoted, ["role", "source"], batch_size=BATCH)
    AccountTeamMember.objects.bulk_create(added, batch_size=BATCH)
    stale = [
        a for a in existing.values() if a.pk in managers and a.account_manager_id != managers[a.pk]
    ]
    for account in stale:
        account.account_manager_id = managers[account.pk]
    Account.objects.bulk_update(stale, ["account_manager"], batch_size=BATCH)
    return unknown


def sync_after_import(*, warehouse: Warehouse | None = None) -> dict[str, str]:
    """The sync run by the importer once the enterprises table is loaded, for the import job's
    result: what it changed, or why it could not run (the import stands either way)."""
    try:
        report = sync_accounts(warehouse=warehouse)
    except ServiceError as exc:
        return {"account_file": str(exc.message)}
    return {"account_file": describe(report)}


def describe(report: SyncReport) -> str:
    text = (
        _(
            "%(listed)d enterprises listed: %(created)d new, %(updated)d changed, %(unchanged)d "
            "unchanged, %(deactivated)d no longer listed, %(reactivated)d listed again."
        )
        % report.as_result()
    )
    if report.members_on_two_accounts:
        first = report.members_on_two_accounts[0]
        text += " " + _(
            "%(n)d members are listed under two enterprises and were kept on the first, "
            "e.g. subscriber %(subscriber)s under %(enterprises)s."
        ) % {
            "n": len(report.members_on_two_accounts),
            "subscriber": first[0],
            "enterprises": ", ".join(first[1]),
        }
    return text
