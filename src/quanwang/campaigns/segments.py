"""Use cases of segments: ID lists, saving versioned rules, and the live preview.

Rules run against the newest complete snapshot of the customer wide table, narrowed to the
grids the user (or a campaign's org unit) covers.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.campaigns.models import CustomerList, Segment, SegmentVersion
from quanwang.campaigns.rules import (
    RuleError,
    check_rule,
    compile_rule,
    describe,
    fields_of,
    lists_of,
    normalise_rule,
)
from quanwang.core.choices import Action, OrgLevel, Resource
from quanwang.core.errors import ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.permissions import reach
from quanwang.core.querysets import RestrictedQuerySet, active_assignments, scope_filter
from quanwang.data.customers import Scope, customer_scope
from quanwang.data.sources import SourceError, open_source
from quanwang.data.warehouse import quote, sql_literal
from quanwang.insight.choices import ValueTier
from quanwang.insight.snapshots import Snapshot, SnapshotStore

RISK_BANDS = (0.01, 0.02, 0.05, 0.10)
RISK_BAND_NAMES = (
    gettext_lazy("Very low risk"),
    gettext_lazy("Low risk"),
    gettext_lazy("Medium risk"),
    gettext_lazy("High risk"),
    gettext_lazy("Very high risk"),
)
GRIDS_SHOWN = 20


def newest_snapshot() -> Snapshot:
    snapshot = SnapshotStore().latest()
    if snapshot is None:
        raise ServiceError(
            _("No customer snapshot exists yet: build one first (营销分析 → 构建快照).")
        )
    return snapshot


def campaign_scope(user: Any) -> Scope:
    """The grids whose customers a user may put into segments and campaigns; all of them for
    the system (no user)."""
    if user is None:
        return Scope(grids=None, gridless=True)
    return customer_scope(user, Action.VIEW, Resource.CAMPAIGN)


def unit_scope(unit: OrgUnit) -> Scope:
    """The grids under an org unit: a campaign reaches only its own unit's customers; the
    root unit (the province or group) reaches every customer, grid or not."""
    if unit.parent_id is None:
        return Scope(grids=None, gridless=True)
    grids = OrgUnit.objects.filter(path__startswith=unit.path, level=OrgLevel.GRID)
    return Scope(grids=tuple(grids.values_list("code", flat=True)), gridless=unit.parent is None)


def lists_dir() -> Path:
    return Path(settings.VAR_DIR) / "campaigns" / "lists"


def upload_list(*, actor: Any, name: str, path: Path, org_unit: OrgUnit) -> CustomerList:
    """Keep a file of subscriber IDs (its `subscriber_id` column, else its first) as a list."""
    target_dir = lists_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".upload-", dir=target_dir) as scratch:
        try:
            source = open_source(path=path, encoding=None, work_dir=Path(scratch))
        except SourceError as exc:
            raise ServiceError(str(exc), field="file") from exc
        column = "subscriber_id" if "subscriber_id" in source.columns else source.columns[0]
        target = target_dir / f"{uuid.uuid4().hex}.parquet"
        con = duckdb.connect()
        con.execute(
            f"COPY (SELECT DISTINCT trim({quote(column)}) AS subscriber_id FROM {source.relation} "
            f"WHERE nullif(trim({quote(column)}), '') IS NOT NULL ORDER BY 1) "
            f"TO {sql_literal(str(target))} (FORMAT parquet)"
        )
        size = int(
            con.execute(
                f"SELECT count(*) FROM read_parquet({sql_literal(str(target))})"
            ).fetchall()[0][0]
        )
    if size == 0:
        target.unlink()
        raise ServiceError(
            _("%(file)s: no subscriber IDs in column %(column)s")
            % {"file": path.name, "column": column},
            field="file",
        )
    return CustomerList.objects.create(
        name=name, org_unit=org_unit, path=str(target), size=size, created_by=actor
    )


def unit_and_ancestor_paths(path: str) -> list[str]:
    """The paths of a unit and of every unit above it: "/P/CA/CA-1/" → "/P/", "/P/CA/",
    "/P/CA/CA-1/" (a path is its ancestors' codes in order)."""
    codes = [code for code in path.split("/") if code]
    return ["/" + "/".join(codes[: n + 1]) + "/" for n in range(len(codes))]


def usable(queryset: RestrictedQuerySet, user: Any) -> Any:
    """The segments or ID lists `user` may use: those their campaign grants reach (their units
    and below), and those of the units above, which the cities and counties below them build
    on (read-only: changing needs a grant over the owner's unit). All of them for the system."""
    if user is None:
        return queryset
    model: Any = queryset.model
    q = scope_filter(
        user,
        resource=model.scope_resource,
        action=Action.VIEW,
        org_path_field=model.scope_org_path,
        owner_field=None,
    )
    if q is None:
        return queryset
    above = {
        path
        for assignment in active_assignments(user)
        if reach(role=assignment.role, resource=model.scope_resource, action=Action.VIEW)
        for path in unit_and_ancestor_paths(assignment.org_unit.path)
    }
    return queryset.filter(q | Q(org_unit__path__in=above))


def _list_checker(user: Any) -> Any:
    """Whether the user may use an ID list; the lists are read once, on the first question
    (most rules name none, and a live preview checks a rule on every change)."""
    visible = usable(CustomerList.objects.all(), user)
    ids: set[int] | None = None

    def check(list_id: int) -> bool:
        nonlocal ids
        if ids is None:
            ids = set(visible.values_list("pk", flat=True))
        return list_id in ids

    return check


def checked(rule: Any, *, user: Any, snapshot: Snapshot) -> None:
    """Raise ServiceError (field "rule") naming what is wrong with the rule on this snapshot."""
    try:
        check_rule(rule, columns=snapshot.columns, lists=_list_checker(user))
    except RuleError as exc:
        raise ServiceError(
            _("The rule does not fit snapshot %(month)s: %(error)s")
            % {"month": snapshot.month, "error": exc},
            field="rule",
        ) from exc


def prepared(rule: Any, *, user: Any, snapshot: Snapshot) -> Any:
    """The rule with the yes and no people type made booleans (rules.normalise_rule), checked
    on the snapshot: what is saved and previewed."""
    rule = normalise_rule(rule, columns=snapshot.columns)
    checked(rule, user=user, snapshot=snapshot)
    return rule


def save_segment(
    *,
    actor: Any,
    name: str,
    rule: dict[str, Any],
    org_unit: OrgUnit,
    description: str = "",
) -> SegmentVersion:
    """Create the segment or add a version to it, after checking the rule on the newest
    snapshot. The same rule as the newest version adds none: that version is returned (a form
    sent twice saves once)."""
    rule = prepared(rule, user=actor, snapshot=newest_snapshot())
    with transaction.atomic():
        segment, _created = Segment.objects.select_for_update().get_or_create(
            org_unit=org_unit,
            name=name,
            defaults={"description": description, "created_by": actor},
        )
        if description and segment.description != description:
            segment.description = description
            segment.save(update_fields=["description", "updated_at"])
        return add_version(segment=segment, rule=rule, actor=actor)


def add_version(*, segment: Segment, rule: dict[str, Any], actor: Any) -> SegmentVersion:
    """The segment's next version of a checked rule, or its newest one where that has the same
    rule. The caller holds the segment's row lock."""
    newest = segment.versions.order_by("-number").first()
    if newest is not None and newest.rule == rule:
        return newest
    names = dict(CustomerList.objects.filter(pk__in=lists_of(rule)).values_list("pk", "name"))
    number = (segment.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    return SegmentVersion.objects.create(
        segment=segment,
        number=number,
        rule=rule,
        text_zh=describe(rule, language="zh", lists=names),
        text_en=describe(rule, language="en", lists=names),
        created_by=actor,
    )


_thread = threading.local()


def _shared_wide(snapshot: Snapshot) -> tuple[Any, ir.Table]:
    """This thread's connection reading `snapshot`'s wide table, kept between calls: opening
    one and reading the Parquet schema cost ~70 ms of a live preview. A snapshot never
    changes, so a kept one stays right; a newer snapshot replaces it."""
    key = str(snapshot.path)
    kept = getattr(_thread, "wide", None)
    if kept is None or kept[0] != key:
        if kept is not None:
            kept[1].disconnect()
        con = ibis.duckdb.connect()
        # The wide table's Parquet footers kept between previews.
        con.raw_sql("SET GLOBAL parquet_metadata_cache = true")
        table = con.read_parquet(str(snapshot.path / "wide" / "*.parquet"), table_name="wide")
        _thread.wide = kept = (key, con, table)
    return kept[1], kept[2]


def audience_expression(
    *,
    rule: dict[str, Any],
    snapshot: Snapshot,
    scope: Scope,
    columns: Collection[str] | None = None,
    shared: bool = False,
) -> tuple[Any, ir.Table]:
    """(connection, the snapshot's rows matching the rule within the scope) as Ibis; with
    `columns`, only those (and the ones the rule reads) are carried, which keeps compiling the
    expression cheap (the wide table has ~100 columns). With `shared`, the connection is this
    thread's kept one for the snapshot: the caller must not disconnect it."""
    if shared:
        con, table = _shared_wide(snapshot)
    else:
        con = ibis.duckdb.connect()
        table = con.read_parquet(str(snapshot.path / "wide" / "*.parquet"), table_name="wide")
    if columns is not None:
        wanted = set(columns) | fields_of(rule) | {"subscriber_id", "grid_id"}
        table = table.select([c for c in table.columns if c in wanted])
    lists = {
        item.pk: con.read_parquet(item.path, table_name=f"list_{item.pk}")
        for item in CustomerList.objects.filter(pk__in=lists_of(rule))
    }
    condition = compile_rule(rule, table, lists)
    if scope.grids is not None:
        inside = table.grid_id.isin(list(scope.grids))
        if scope.gridless:
            inside = inside | table.grid_id.isnull()
        condition = condition & inside.fill_null(False)
    return con, table.filter(condition)


# Compiled rules (SQL over this thread's `wide` view) by snapshot, rule and columns, kept per
# process: compiling a rule through Ibis cost 15-40 ms of a preview, and the same rules come
# back (a saved segment opened again, a condition toggled back, many users on one segment).
# Rules naming ID lists are compiled each time: their lists are registered per connection.
COMPILED_KEPT = 256
_compiled: OrderedDict[tuple[str, str, tuple[str, ...]], str] = OrderedDict()
_compiled_lock = threading.Lock()


def _rule_sql(
    *, rule: dict[str, Any], snapshot: Snapshot, columns: tuple[str, ...]
) -> tuple[duckdb.DuckDBPyConnection, str]:
    """(This thread's DuckDB connection on the snapshot, SQL of the wide table's rows the rule
    selects, with `columns` and the ones the rule reads), narrowed by no scope."""
    ibis_con, _table = _shared_wide(snapshot)
    key = (str(snapshot.path), json.dumps(rule, sort_keys=True, ensure_ascii=False), columns)
    cacheable = not lists_of(rule)
    if cacheable:
        with _compiled_lock:
            found = _compiled.get(key)
            if found is not None:
                _compiled.move_to_end(key)
                return ibis_con.con, found
    _con, audience = audience_expression(
        rule=rule,
        snapshot=snapshot,
        scope=Scope(grids=None, gridless=True),
        columns=columns,
        shared=True,
    )
    selected = str(ibis.to_sql(audience, dialect="duckdb"))
    if cacheable:
        with _compiled_lock:
            _compiled[key] = selected
            while len(_compiled) > COMPILED_KEPT:
                _compiled.popitem(last=False)
    return ibis_con.con, selected


def risk_band_labels() -> list[str]:
    """The churn-risk bands of the preview in words: "Low risk (1–2%)" (低风险（1–2%）)."""
    edges = [0.0, *RISK_BANDS]
    ranges = [f"{100 * lo:g}–{100 * hi:g}%" for lo, hi in zip(edges, RISK_BANDS, strict=False)]
    ranges.append(f"≥ {100 * RISK_BANDS[-1]:g}%")
    return [
        _("%(name)s (%(range)s)") % {"name": name, "range": span}
        for name, span in zip(RISK_BAND_NAMES, ranges, strict=True)
    ]


@dataclass(frozen=True)
class Preview:
    count: int
    by_tier: dict[str, int]
    by_grid: list[tuple[str, str, int]]  # grid code, grid name, customers; largest first
    by_risk_band: list[tuple[str, int]]
    snapshot_month: str
    milliseconds: float
    rule: dict[str, Any]  # as counted: yes and no typed as words made booleans

    @property
    def tiers(self) -> list[tuple[str, int]]:
        """(The tier's name, customers), highest tier first; customers without a tier last."""
        rows = [(str(t.label), self.by_tier[t.value]) for t in ValueTier if t.value in self.by_tier]
        known = {t.value for t in ValueTier}
        missing = sum(n for code, n in self.by_tier.items() if code not in known)
        return rows + ([(_("No tier"), missing)] if missing else [])


def preview(*, user: Any | None, rule: dict[str, Any], snapshot: Snapshot | None = None) -> Preview:
    """How many customers the rule selects in the user's scope, by tier, grid and risk band."""
    began = time.perf_counter()
    used = snapshot or newest_snapshot()
    rule = prepared(rule, user=user, snapshot=used)
    has_risk = "churn_risk" in used.columns
    con, selected = _rule_sql(
        rule=rule,
        snapshot=used,
        columns=("value_tier", "grid_id", "churn_risk") if has_risk else ("value_tier", "grid_id"),
    )
    where, params = campaign_scope(user).sql("grid_id")
    cases = " ".join(f"WHEN churn_risk < {upper} THEN {i}" for i, upper in enumerate(RISK_BANDS))
    band = f"CASE {cases} ELSE {len(RISK_BANDS)} END" if has_risk else "-1"
    # The scope is a parameter, not part of the compiled rule: one compiled rule serves every
    # user, and a province's hundreds of grids are not compiled into each preview.
    grouped = [
        {"value_tier": tier, "grid_id": grid, "band": b, "n": n}
        for tier, grid, b, n in con.execute(
            f"SELECT value_tier, grid_id, {band} AS band, count(*) AS n FROM ({selected}) "
            f"WHERE {where} GROUP BY ALL",
            params,
        ).fetchall()
    ]
    tiers: dict[str, int] = {}
    grids: dict[str, int] = {}
    bands: dict[int, int] = {}
    for row in grouped:
        tiers[row["value_tier"]] = tiers.get(row["value_tier"], 0) + row["n"]
        grid = row["grid_id"] or ""
        grids[grid] = grids.get(grid, 0) + row["n"]
        bands[row["band"]] = bands.get(row["band"], 0) + row["n"]
    names = dict(OrgUnit.objects.filter(code__in=list(grids)).values_list("code", "name"))
    top = sorted(grids.items(), key=lambda item: (-item[1], item[0]))[:GRIDS_SHOWN]
    labels = risk_band_labels()
    return Preview(
        count=sum(tiers.values()),
        by_tier=tiers,
        by_grid=[(code, names.get(code, code or "—"), n) for code, n in top],
        by_risk_band=[(label, bands.get(i, 0)) for i, label in enumerate(labels)]
        if has_risk
        else [],
        snapshot_month=used.month,
        milliseconds=round(1000 * (time.perf_counter() - began), 1),
        rule=rule,
    )
