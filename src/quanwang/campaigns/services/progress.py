"""Execution progress: each quota against its pace, and the early-warning thresholds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from quanwang.campaigns.evaluation import Group
from quanwang.campaigns.issuing import ACCOUNT_MANAGER
from quanwang.campaigns.models import Campaign, Quota
from quanwang.campaigns.services.evaluating import evaluation_table
from quanwang.core.models import OrgUnit, Staff
from quanwang.data.warehouse import sql_literal


@dataclass(frozen=True)
class WarningThresholds:
    """Early warning (预警): from `from_elapsed` of the window on, a unit below `below_pace` of
    its expected pace is flagged."""

    from_elapsed: float = 0.5
    below_pace: float = 0.6

    @property
    def from_elapsed_percent(self) -> str:
        return f"{self.from_elapsed:.0%}"

    @property
    def below_pace_percent(self) -> str:
        return f"{self.below_pace:.0%}"


def warning_thresholds() -> WarningThresholds:
    """The thresholds of settings.QUANWANG_EARLY_WARNING, checked: a typo or an out-of-range
    value stops the first page or command that reads them, loudly."""
    given = getattr(settings, "QUANWANG_EARLY_WARNING", None) or {}
    if not isinstance(given, dict):
        raise ImproperlyConfigured(
            "QUANWANG_EARLY_WARNING: expected a JSON object such as "
            '{"from_elapsed": 0.5, "below_pace": 0.6}'
        )
    unknown = sorted(set(given) - {"from_elapsed", "below_pace"})
    if unknown:
        raise ImproperlyConfigured(
            f"QUANWANG_EARLY_WARNING: unknown keys {unknown} (use from_elapsed, below_pace)"
        )
    for key, value in given.items():
        # bool is an int to Python, but a flag where a share belongs is a mistake.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ImproperlyConfigured(
                f"QUANWANG_EARLY_WARNING {key}: expected a number, got {value!r}"
            )
    thresholds = WarningThresholds(**{k: float(v) for k, v in given.items()})
    if not 0.0 <= thresholds.from_elapsed <= 1.0:
        raise ImproperlyConfigured(
            "QUANWANG_EARLY_WARNING from_elapsed: a share of the window between 0 and 1, "
            f"got {thresholds.from_elapsed}"
        )
    if not 0.0 < thresholds.below_pace <= 1.0:
        raise ImproperlyConfigured(
            "QUANWANG_EARLY_WARNING below_pace: a share of the expected pace above 0 and at "
            f"most 1, got {thresholds.below_pace}"
        )
    return thresholds


@dataclass(frozen=True)
class UnitProgress:
    unit: OrgUnit
    audience: int
    target: int
    contacted: int
    responders: int
    expected_by_now: float
    pace: float | None  # responders ÷ expected by now
    behind: bool
    #: The account manager whose quota this is (held at `unit`, their org unit); None for a
    #: grid's quota.
    account_manager: Staff | None = None


def execution_progress(*, campaign: Campaign, today: dt.date | None = None) -> list[UnitProgress]:
    """Each quota's unit (or account manager) against its target and the time elapsed, with
    early warnings. An account manager's customers count for them, not for their grid."""
    quotas = list(
        Quota.objects.filter(campaign=campaign).select_related("org_unit", "account_manager")
    )
    if not quotas or not campaign.audience_path:
        return []
    limits = warning_thresholds()
    day = today or timezone.localdate()
    span = max((campaign.ends_on - campaign.starts_on).days, 1)
    elapsed = min(max((day - campaign.starts_on).days / span, 0.0), 1.0)
    table = evaluation_table(campaign=campaign)
    con = duckdb.connect()
    con.register("evaluated", table)
    frozen = sql_literal(campaign.audience_path)
    manager = (
        f"a.{ACCOUNT_MANAGER}"
        if ACCOUNT_MANAGER in pq.read_schema(campaign.audience_path).names
        else "CAST(NULL AS VARCHAR)"
    )
    counts = {
        (grid, employee_no): (int(contacted), int(responders))
        for grid, employee_no, contacted, responders in con.execute(
            f"SELECT CASE WHEN {manager} IS NULL THEN e.grid_id END, {manager}, "
            "count(*) FILTER (WHERE e.contacted), "
            f"count(*) FILTER (WHERE e.responded AND e.\"group\" = '{Group.TREATED}') "
            f"FROM evaluated e JOIN read_parquet({frozen}) a USING (subscriber_id) "
            "GROUP BY 1, 2"
        ).fetchall()
    }
    con.close()
    rows = []
    for quota in quotas:
        key = (
            (None, quota.account_manager.employee_no)
            if quota.account_manager is not None
            else (quota.org_unit.code, None)
        )
        contacted, responders = counts.get(key, (0, 0))
        expected = quota.target * elapsed
        pace = responders / expected if expected > 0 else None
        rows.append(
            UnitProgress(
                unit=quota.org_unit,
                audience=quota.audience,
                target=quota.target,
                contacted=contacted,
                responders=responders,
                expected_by_now=round(expected, 1),
                pace=None if pace is None else round(pace, 2),
                behind=elapsed >= limits.from_elapsed
                and pace is not None
                and pace < limits.below_pace,
                account_manager=quota.account_manager,
            )
        )
    return rows
