"""Early warnings (预警): units behind plan, raised once a day and sent to their managers."""

from __future__ import annotations

import csv
import datetime as dt
from io import StringIO
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from quanwang.campaigns.choices import WarningDelivery
from quanwang.campaigns.models import Campaign, EarlyWarning
from quanwang.campaigns.responses import import_responses
from quanwang.campaigns.services import execution_progress, transition
from quanwang.campaigns.warnings import RecipientStatus, raise_warnings, unit_managers
from quanwang.core.choices import OrgLevel, Role
from quanwang.core.models import OrgUnit
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import TODAY, approved, marketer
from tests.campaigns.gateway import Gateway

# 31 of the window's 61 days: just past half-way.
MID = dt.date(2024, 8, 1)


def _issued(tree: factories.Tree) -> tuple[Any, Campaign]:
    designer = marketer(tree)
    return designer, transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )


def _on_pace(campaign: Campaign, unit: OrgUnit, tmp_path: Path) -> None:
    """Every treated customer of `unit` responded: the unit is far ahead of plan."""
    treated = duckdb.sql(
        f"SELECT subscriber_id FROM '{campaign.audience_path}' "
        f"WHERE grid_id = '{unit.code}' AND NOT in_control"
    ).fetchall()
    path = tmp_path / "orders.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["campaign_id", "subscriber_id", "responded_on", "revenue"])
        writer.writerows([[campaign.pk, sid, "2024-07-10", "20"] for (sid,) in treated])
    import_responses(
        path=path, audiences={campaign.pk: Path(campaign.audience_path)},
        quarantine_dir=tmp_path / "q",
    )  # fmt: skip


def _manager(unit: OrgUnit, role: Role, *, mobile: str | None = "13812345678") -> Any:
    user = factories.user(role=role, at=unit)
    if mobile is not None:
        staff = factories.staff(at=unit, mobile=mobile, name=f"经理{user.pk}")
        staff.user = user
        staff.save()
    return user


def test_the_thresholds_come_from_the_settings(
    tree: factories.Tree, city: Snapshot, settings: Any
) -> None:
    # Given a deployment that warns only from 90% of the window on
    _designer, campaign = _issued(tree)
    settings.QUANWANG_EARLY_WARNING = {"from_elapsed": 0.9}

    # When progress is read just past half-way, where the defaults would flag both grids
    progress = execution_progress(campaign=campaign, today=MID)

    # Then nobody is flagged yet
    assert [p.behind for p in progress] == [False, False]


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"below_pace": 1.5}, "below_pace"),
        ({"from_elapsed": "half"}, "from_elapsed"),
        ({"from_elapsd": 0.5}, "from_elapsd"),
    ],
)
def test_a_bad_threshold_is_refused_naming_it(
    tree: factories.Tree, city: Snapshot, settings: Any, given: dict[str, Any], named: str
) -> None:
    _designer, campaign = _issued(tree)
    settings.QUANWANG_EARLY_WARNING = given

    with pytest.raises(ImproperlyConfigured, match=named):
        execution_progress(campaign=campaign, today=MID)


def test_a_unit_behind_at_mid_window_raises_one_warning(
    tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    # Given grid B far ahead of plan and grid A with no taker at all
    _designer, campaign = _issued(tree)
    _on_pace(campaign, tree.grid_b, tmp_path)

    # When the day's warnings are raised just past half-way
    raised = raise_warnings(campaign=campaign, today=MID)

    # Then grid A, and only it, is warned, with its figures
    [warning] = EarlyWarning.objects.all()
    assert [r.warning.pk for r in raised] == [warning.pk]
    assert (warning.org_unit, warning.day, warning.responders) == (tree.grid_a, MID, 0)
    assert warning.pace == 0.0
    assert warning.expected > 0


def test_raising_twice_a_day_keeps_one_row_and_sends_one_sms(
    tree: factories.Tree,
    city: Snapshot,
    tmp_path: Path,
    gateway: Gateway,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Given grid A behind plan and its grid manager with a mobile number on record
    _designer, campaign = _issued(tree)
    _on_pace(campaign, tree.grid_b, tmp_path)
    manager = _manager(tree.grid_a, Role.GRID_MANAGER)

    # When the warnings are raised twice on the same day (cron ran twice)
    for _run in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            raise_warnings(campaign=campaign, today=MID)

    # Then one row, one SMS at the gateway, and the row says it was sent
    [warning] = EarlyWarning.objects.all()
    key = f"warning-{warning.pk}:user-{manager.pk}"
    assert dict(gateway.received) == {key: 1}
    assert gateway.delivered[key]["to"] == "13812345678"
    assert warning.delivery == WarningDelivery.SMS
    assert [(e["user"], e["status"]) for e in warning.delivered] == [
        (manager.username, RecipientStatus.SENT)
    ]


def test_the_sms_names_the_campaign_the_unit_and_the_pace_without_an_opt_out(
    tree: factories.Tree,
    city: Snapshot,
    tmp_path: Path,
    gateway: Gateway,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _designer, campaign = _issued(tree)
    _on_pace(campaign, tree.grid_b, tmp_path)
    _manager(tree.grid_a, Role.GRID_MANAGER)

    with django_capture_on_commit_callbacks(execute=True):
        raise_warnings(campaign=campaign, today=MID)

    [message] = gateway.delivered.values()
    assert campaign.name in message["text"]
    assert tree.grid_a.name in message["text"]
    assert "0%" in message["text"]
    assert "退订" not in message["text"]  # a warning to staff is not marketing


def test_the_warning_goes_to_the_units_own_manager(tree: factories.Tree) -> None:
    # Given a grid manager of grid A, one of grid B, and A's county manager
    own = _manager(tree.grid_a, Role.GRID_MANAGER)
    _manager(tree.grid_b, Role.GRID_MANAGER)
    _manager(tree.county_a, Role.COUNTY_MANAGER)

    managers = unit_managers(unit=tree.grid_a)

    assert [(m.user_id, m.unit) for m in managers] == [(own.pk, tree.grid_a)]


def test_a_grid_without_a_manager_falls_back_to_its_county_manager(tree: factories.Tree) -> None:
    # Given nobody managing grid A (a marketer there does not count), but a county manager
    factories.user(role=Role.CITY_MARKETER, at=tree.grid_a)
    county = _manager(tree.county_a, Role.COUNTY_MANAGER)

    managers = unit_managers(unit=tree.grid_a)

    assert [(m.user_id, m.unit.level) for m in managers] == [(county.pk, OrgLevel.COUNTY)]


def test_without_an_sms_gateway_the_warning_is_shown_in_the_console_only(
    tree: factories.Tree,
    city: Snapshot,
    tmp_path: Path,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Given no channel configured and grid A's manager with a mobile number
    settings.QUANWANG_CHANNELS = {}
    _designer, campaign = _issued(tree)
    _on_pace(campaign, tree.grid_b, tmp_path)
    _manager(tree.grid_a, Role.GRID_MANAGER)

    with django_capture_on_commit_callbacks(execute=True):
        raise_warnings(campaign=campaign, today=MID)

    # Then it is recorded as shown in the console, for that reason
    [warning] = EarlyWarning.objects.all()
    assert warning.delivery == WarningDelivery.CONSOLE
    assert [(e["delivery"], e["status"], e["detail"]) for e in warning.delivered] == [
        (WarningDelivery.CONSOLE, RecipientStatus.CONSOLE, "no SMS gateway configured")
    ]


def test_the_campaign_pages_show_the_warning(
    tree: factories.Tree, city: Snapshot, tmp_path: Path, client: Any
) -> None:
    # Given a warning for grid A
    designer, campaign = _issued(tree)
    _on_pace(campaign, tree.grid_b, tmp_path)
    raise_warnings(campaign=campaign, today=MID)
    client.force_login(designer)

    # When the designer opens the campaign list and the campaign
    listed = client.get("/campaigns/")
    detail = client.get(f"/campaigns/{campaign.pk}/")

    # Then both show it
    assert [s.warning.org_unit for s in listed.context["warnings"]] == [tree.grid_a]
    assert [s.warning.org_unit for s in detail.context["warnings"]] == [tree.grid_a]
    assert 'id="early-warnings"' in listed.content.decode()
    assert tree.grid_a.name in detail.content.decode().split('id="early-warnings"')[1]


def test_the_warning_panel_shows_only_units_the_user_can_see(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given warnings for both grids, and the county manager of city B's county
    _designer, campaign = _issued(tree)
    raise_warnings(campaign=campaign, today=MID)
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b))

    listed = client.get("/campaigns/")

    assert [s.warning.org_unit for s in listed.context["warnings"]] == [tree.grid_b]


def test_the_command_raises_the_days_warnings_of_running_campaigns(
    tree: factories.Tree, city: Snapshot, tmp_path: Path, settings: Any
) -> None:
    # Given a running campaign with grid A behind plan, and no SMS gateway
    settings.QUANWANG_CHANNELS = {}
    designer, campaign = _issued(tree)
    transition(actor=designer, campaign=campaign, move="start")
    _on_pace(campaign, tree.grid_b, tmp_path)
    out = StringIO()

    # When cron runs the command for that day
    call_command("campaign-warnings", "--date", MID.isoformat(), stdout=out)

    # Then it raised grid A's warning and says so
    assert EarlyWarning.objects.get().org_unit == tree.grid_a
    assert tree.grid_a.name in out.getvalue()
    assert "1 new warnings" in out.getvalue()
