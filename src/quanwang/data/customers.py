"""Customer 360: one subscriber's profile, plan, family, usage, recharges, complaints and call
circle, read from the warehouse and narrowed to the user's grids. Personal data is masked
unless the role may see it and the user gives a reason, which is audited.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import duckdb
from django.db.models import Q

from quanwang.core.choices import (
    Action,
    AuditAction,
    AuditTarget,
    OrgLevel,
    PiiKind,
    Reach,
    Resource,
)
from quanwang.core.errors import NotFound
from quanwang.core.masking import mask
from quanwang.core.models import OrgUnit
from quanwang.core.querysets import has_grant
from quanwang.core.services import audit
from quanwang.core.services.orgs import units_granting
from quanwang.data.warehouse import Warehouse

SEARCH_LIMIT = 50
MASKED_MSISDN = re.compile(r"^(\d{3})\*{4}(\d{4})$")


@dataclass(frozen=True)
class Scope:
    """The warehouse rows a user may see: their grids (None = all), and rows with no grid."""

    grids: tuple[str, ...] | None
    gridless: bool

    def holds(self, grid_id: str | None) -> bool:
        """Whether a row of grid `grid_id` (None: no grid) is in reach."""
        if self.grids is None:
            return True
        return self.gridless if grid_id is None else grid_id in self.grids

    def sql(self, column: str = "grid_id") -> tuple[str, list[Any]]:
        if self.grids is None:
            return "true", []
        parts = []
        params: list[Any] = []
        if self.grids:
            parts.append(f"{column} IN (SELECT unnest(?))")
            params.append(list(self.grids))
        if self.gridless:
            parts.append(f"{column} IS NULL")
        return ("(" + " OR ".join(parts) + ")") if parts else "false", params


def customer_scope(
    user: Any, action: Action = Action.VIEW, resource: Resource = Resource.CUSTOMER
) -> Scope:
    if getattr(user, "is_superuser", False):
        return Scope(grids=None, gridless=True)
    # Grids are reached by subtree grants; an own-records grant (an account manager's tasks)
    # reaches no grid as a whole.
    units = units_granting(user=user, resource=resource, action=action, only=Reach.SUBTREE)
    grids = tuple(units.filter(level=OrgLevel.GRID).values_list("code", flat=True))
    return Scope(grids=grids, gridless=units.filter(parent__isnull=True).exists())


CUSTOMER_TABLES = (
    "subscribers", "plans", "monthly_usage", "recharges", "complaints", "contacts",
    "enterprises", "grids",
)  # fmt: skip
_connections: dict[tuple[str, ...], duckdb.DuckDBPyConnection] = {}
_lock = threading.Lock()


def _connect(store: Warehouse) -> duckdb.DuckDBPyConnection:
    """A cursor on a per-process connection whose views name the current table versions.

    Reusing it keeps Parquet metadata cached between requests; a new version of any table
    gives a new connection, so a reader never mixes versions.
    """
    views = {table: store.relation(table) for table in CUSTOMER_TABLES}
    key = tuple(views.values())
    with _lock:
        con = _connections.get(key)
        if con is None:
            for old in _connections.values():
                old.close()
            _connections.clear()
            con = duckdb.connect()
            # Keeps each file's Parquet footer between queries: a one-customer lookup in the 1M
            # city's subscribers read 1 of 77 row groups yet took 17-37 ms parsing the footer
            # again, 3 ms with it. GLOBAL: the cursors handed out inherit only global settings.
            # (DuckDB 2 ignores the old `enable_object_cache` setting that stood here.)
            con.execute("SET GLOBAL parquet_metadata_cache = true")
            for table, relation in views.items():
                con.execute(f"CREATE VIEW {table} AS SELECT * FROM {relation}")
            _connections[key] = con
        return con.cursor()


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    relation = con.execute(sql, params)
    names = [d[0] for d in relation.description or []]
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def _masked(row: dict[str, Any]) -> dict[str, Any]:
    return row | {
        "msisdn": mask(row.get("msisdn"), PiiKind.MSISDN),
        "name": mask(row.get("name"), PiiKind.NAME),
    }


def search(*, user: Any, query: str, store: Warehouse | None = None) -> list[dict[str, Any]]:
    """Subscribers by ID, by full MSISDN (roles that may see it) or by masked MSISDN."""
    text = query.strip().replace(" ", "")
    if not text:
        return []
    scope = customer_scope(user)
    where, params = scope.sql("s.grid_id")
    con = _connect(store or Warehouse())
    masked = MASKED_MSISDN.match(text)
    if masked:
        # The numbers' first three and last four digits are looked up in a small index kept
        # per process; only the subscribers found are read (a scan of every number took
        # 300-400 ms in the 1M city).
        candidates = _masked_candidates(con, masked.group(1), masked.group(2))
        if candidates == []:
            return []
        match = "(s.msisdn LIKE ? AND s.msisdn LIKE ?)"
        match_params: list[Any] = [masked.group(1) + "%", "%" + masked.group(2)]
        if candidates is not None:  # None: too many to list, every number is read instead
            match = f"s.subscriber_id IN ({', '.join('?' * len(candidates))}) AND {match}"
            match_params = [*candidates, *match_params]
    elif (
        text.isdigit()
        and len(text) >= 11
        and has_grant(user, resource=Resource.CUSTOMER, action=Action.VIEW_PII)
    ):
        match, match_params = "s.msisdn = ?", [text]
    else:
        match, match_params = "s.subscriber_id = ?", [text]
    rows = _records(
        con,
        "SELECT s.subscriber_id, s.msisdn, s.name, s.segment, s.status, s.grid_id, "
        "p.name AS plan, g.name AS grid_name FROM subscribers s LEFT JOIN plans p USING (plan_id) "
        f"LEFT JOIN grids g ON g.grid_id = s.grid_id WHERE {match} AND {where} "
        f"ORDER BY s.subscriber_id LIMIT {SEARCH_LIMIT}",
        match_params + params,
    )
    return [_masked(r) for r in rows]


# The most subscribers a masked number search reads: far more than a page (SEARCH_LIMIT), as
# some of them may lie outside the user's scope.
MASKED_CANDIDATES = 1_000
_masked_index_lock = threading.Lock()


def _masked_candidates(con: duckdb.DuckDBPyConnection, head: str, tail: str) -> list[str] | None:
    """Subscriber IDs that may have a number starting with `head` (3 digits) and ending with
    `tail` (4): every such subscriber, and perhaps a few others (the search checks the numbers
    themselves); None when there are more than MASKED_CANDIDATES.

    The index (`msisdn_keys`: the 7 digits as one integer, and the ID; about 20 bytes a
    subscriber) is built on the first masked search of the connection, which names one version
    of the subscribers table and is replaced with it (`_connect`).
    """
    with _masked_index_lock:
        built = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'msisdn_keys'"
        ).fetchall()[0][0]
        if not built:
            con.execute(
                "CREATE TABLE msisdn_keys AS SELECT * FROM (SELECT subscriber_id, "
                "TRY_CAST(left(msisdn, 3) || right(msisdn, 4) AS INTEGER) AS digits "
                "FROM subscribers WHERE length(msisdn) >= 7) WHERE digits IS NOT NULL"
            )
    found = con.execute(
        f"SELECT subscriber_id FROM msisdn_keys WHERE digits = ? LIMIT {MASKED_CANDIDATES + 1}",
        [int(head + tail)],
    ).fetchall()
    if len(found) > MASKED_CANDIDATES:
        return None
    return [str(row[0]) for row in found]


def customer_360(
    *, user: Any, subscriber_id: str, store: Warehouse | None = None
) -> dict[str, Any]:
    """Everything the console shows about one subscriber, masked. NotFound outside scope."""
    scope = customer_scope(user)
    where, params = scope.sql("s.grid_id")
    con = _connect(store or Warehouse())
    found = _records(
        con,
        "SELECT s.*, p.name AS plan_name, p.plan_type, p.monthly_fee, p.data_gb, "
        "p.voice_minutes, p.is_5g AS plan_5g, e.name AS enterprise_name, e.industry, "
        "g.name AS grid_name FROM subscribers s LEFT JOIN plans p USING (plan_id) "
        "LEFT JOIN enterprises e USING (enterprise_id) LEFT JOIN grids g ON g.grid_id = s.grid_id "
        f"WHERE s.subscriber_id = ? AND {where}",
        [subscriber_id, *params],
    )
    if not found:
        raise NotFound()
    profile = _masked(found[0])
    family: list[dict[str, Any]] = []
    outside = 0
    if profile.get("family_id"):
        # Members in other grids are counted, never listed: their own pages answer 404, and
        # even a masked number and plan of another grid's customer is not this user's to see.
        members = _records(
            con,
            f"SELECT s.subscriber_id, s.msisdn, s.name, s.status, p.name AS plan, "
            f"{where} AS in_scope FROM subscribers s LEFT JOIN plans p USING (plan_id) "
            "WHERE s.family_id = ? AND s.subscriber_id <> ? ORDER BY 1",
            [*params, profile["family_id"], subscriber_id],
        )
        family = [_masked(m) for m in members if m.pop("in_scope")]
        outside = len(members) - len(family)
    usage = _records(
        con,
        "SELECT month, arpu, mou, dou_gb, onnet_minutes, offnet_minutes, overage_fee, arrears, "
        "used_5g_network FROM monthly_usage WHERE subscriber_id = ? ORDER BY month",
        [subscriber_id],
    )
    recharges = _records(
        con,
        "SELECT recharge_date, amount, channel FROM recharges WHERE subscriber_id = ? "
        "ORDER BY recharge_date DESC LIMIT 24",
        [subscriber_id],
    )
    complaints = _records(
        con,
        "SELECT created_date, category, level, channel, resolved FROM complaints "
        "WHERE subscriber_id = ? ORDER BY created_date DESC LIMIT 24",
        [subscriber_id],
    )
    circle = _records(
        con,
        "WITH mine AS MATERIALIZED (SELECT * FROM contacts WHERE subscriber_id = ?) "
        "SELECT peer_operator, count(DISTINCT peer_hash) AS peers, sum(calls) AS calls, "
        "round(sum(minutes), 1) AS minutes FROM mine WHERE month = (SELECT max(month) FROM mine) "
        "GROUP BY 1 ORDER BY minutes DESC",
        [subscriber_id],
    )
    return {
        "profile": profile,
        "family": family,
        "family_outside_scope": outside,
        "usage": usage,
        "recharges": recharges,
        "complaints": complaints,
        "circle": circle,
    }


def reveal(
    *, user: Any, subscriber_id: str, reason: str, ip_address: str | None,
    store: Warehouse | None = None,
) -> dict[str, str]:  # fmt: skip
    """The full MSISDN and name, for a role that may see them, with the reason audited."""
    scope = customer_scope(user, Action.VIEW_PII)
    where, params = scope.sql("grid_id")
    con = _connect(store or Warehouse())
    rows = _records(
        con,
        f"SELECT msisdn, name, grid_id FROM subscribers WHERE subscriber_id = ? AND {where}",
        [subscriber_id, *params],
    )
    if not rows:
        raise NotFound()
    row = rows[0]
    unit = (
        OrgUnit.objects.filter(Q(code=row["grid_id"]) | Q(parent__isnull=True))
        .order_by("-path")
        .first()
    )
    if unit is None:
        raise NotFound()
    audit.record(
        actor=user,
        action=AuditAction.VIEW_PII,
        target=None,
        target_type=AuditTarget.SUBSCRIBER,
        target_repr=f"{subscriber_id} {mask(row['msisdn'], PiiKind.MSISDN)}",
        org_unit=unit,
        reason=reason,
        ip_address=ip_address,
    )
    return {"msisdn": row["msisdn"], "name": row["name"] or ""}
