"""The scorecard pages as their users and outsiders open them: a grid manager's own grid,
another grid (404), the county ranking, a manager's page, and the facts behind each figure,
which must be the rows the figure counts."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from quanwang.channels.scorecards.services import drill
from quanwang.channels.scorecards.services.compute import CUSTOMER_MEASURES
from quanwang.channels.scorecards.services.kept import build_scorecards, current_scorecards
from tests.channels.test_scorecards_world import JUNE, MAY, World, load_world, put_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tmp_path: Path) -> World:
    built = World()
    load_world(tmp_path)
    put_snapshot(JUNE)
    build_scorecards()
    return built


def _get(client: Client, user: Any, name: str, *args: str, **query: str) -> Any:
    client.force_login(user)
    url = reverse(f"channels:{name}", args=args)
    return client.get(url, query, HTTP_ACCEPT_LANGUAGE="zh-hans")


def test_a_grid_manager_sees_their_grids_scorecard(client: Client, world: World) -> None:
    response = _get(client, world.grid_manager, "scorecards-grid", "G1", month=JUNE)
    assert response.status_code == 200
    page = response.content.decode()
    card = response.context["card"]
    assert card.by_kpi["customers"].value == 4
    assert card.by_kpi["churn_rate"].rank == 1
    assert card.by_kpi["churn_rate"].ranked == 2
    assert "25.0%" in page  # the churn rate
    assert 'id="pnl-profit"' in page
    assert "300.00" in page
    assert "scorecard-data" in page  # the trend chart's data
    # every measure links to its facts
    facts = reverse("channels:scorecards-facts", args=["G1", "churns"])
    assert f"{facts}?month={JUNE}" in page


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("scorecards-grid", ["G2"]),
        ("scorecards-grid", ["G3"]),
        ("scorecards-facts", ["G2", "customers"]),
        ("scorecards-facts-xlsx", ["G2", "customers"]),
        ("scorecards-county", ["C1"]),
        ("scorecards-county-xlsx", ["C1"]),
        ("scorecards-manager", ["E2"]),
        ("scorecards-grid", ["NOPE"]),
    ],
)
def test_a_grid_manager_cannot_open_another_scope(
    client: Client, world: World, name: str, args: list[str]
) -> None:
    assert _get(client, world.grid_manager, name, *args).status_code == 404


def test_a_county_manager_ranks_their_countys_grids(client: Client, world: World) -> None:
    response = _get(client, world.county_manager, "scorecards-county", "C1", kpi="churn_rate")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(r.grid_id, r.rank, r.movement) for r in rows] == [("G1", 1, 1), ("G2", 2, -1)]
    assert "▲1" in response.content.decode()
    # the county's own figures are ratios of sums
    assert response.context["card"].by_kpi["churn_rate"].value == pytest.approx(2 / 6)
    # another county is not theirs
    assert _get(client, world.county_manager, "scorecards-county", "C2").status_code == 404
    assert _get(client, world.county_manager, "scorecards-grid", "G3").status_code == 404


def test_the_ranking_exports_to_xlsx(client: Client, world: World) -> None:
    response = _get(client, world.county_manager, "scorecards-county-xlsx", "C1", kpi="revenue")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["G1", "G2"]
    assert rows[1][4] == 300


def test_a_managers_page_adds_up_their_grids(client: Client, world: World) -> None:
    response = _get(client, world.county_manager, "scorecards-manager", "E1", month=JUNE)
    assert response.status_code == 200
    assert response.context["card"].by_kpi["customers"].value == 5
    assert [info.grid_id for info, _card in response.context["rows"]] == ["G1", "G2"]
    assert "李网格" in response.content.decode()
    # the grid manager of G1 sees E1's page with only the grid they reach
    own = _get(client, world.grid_manager, "scorecards-manager", "E1", month=JUNE)
    assert own.status_code == 200
    assert own.context["card"].by_kpi["customers"].value == 4
    assert own.context["outside"] == 1


def test_the_list_shows_counties_to_those_above_and_grids_to_a_grid_manager(
    client: Client, world: World
) -> None:
    admin = _get(client, world.admin, "scorecards-index")
    assert [c.code for c, _card in admin.context["counties"]] == ["C1", "C2"]
    mine = _get(client, world.grid_manager, "scorecards-index")
    assert mine.context["counties"] == []
    assert [i.grid_id for i, _c in mine.context["grids"]] == ["G1"]


def test_a_partner_login_has_no_scorecards(client: Client, world: World) -> None:
    assert _get(client, world.partner, "scorecards-index").status_code == 404
    assert _get(client, world.partner, "scorecards-grid", "G1").status_code == 404


def test_the_drill_down_rows_are_the_rows_the_figure_counts(client: Client, world: World) -> None:
    scorecards = current_scorecards()
    assert scorecards is not None
    measures = [*CUSTOMER_MEASURES, "revenue", "billed", "scored", "high_risk"]
    measures += [f"risk_{b}" for b in range(5)]
    for grid in ("G1", "G2", "G3"):
        for month in (MAY, JUNE):
            for measure in measures:
                found = drill.facts(
                    scorecards=scorecards, grid_id=grid, month=month, measure=measure, limit=None
                )
                figure = drill.figure(
                    scorecards=scorecards, grid_id=grid, month=month, measure=measure
                )
                if measure == "revenue":
                    assert found.amount == pytest.approx(figure), (grid, month, measure)
                else:
                    assert found.total == len(found.rows) == figure, (grid, month, measure)


def test_the_facts_page_lists_masked_customers(client: Client, world: World) -> None:
    response = _get(client, world.grid_manager, "scorecards-facts", "G1", "churns", month=JUNE)
    assert response.status_code == 200
    page = response.content.decode()
    assert "S4" in page
    assert "王***" in page
    assert "138****0004" in page
    assert "王小S4" not in page
    assert "13800000004" not in page


def test_the_facts_export_holds_every_row_masked(client: Client, world: World) -> None:
    response = _get(client, world.grid_manager, "scorecards-facts-xlsx", "G1", "customers")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["S1", "S2", "S3", "S6"]
    assert all("*" in r[1] for r in rows[1:])


def test_an_unknown_measure_or_month_is_answered_clearly(client: Client, world: World) -> None:
    assert _get(client, world.grid_manager, "scorecards-facts", "G1", "bogus").status_code == 404
    with translation.override("zh-hans"):
        response = _get(client, world.grid_manager, "scorecards-grid", "G1", month="2023-13")
    assert response.status_code == 200
    assert response.context["month"] == JUNE
    notes = [str(m) for m in response.context["messages"]]
    assert any("2023-13" in note for note in notes)


def test_the_pages_say_so_before_any_scorecards(client: Client, tmp_path: Path) -> None:
    world = World()
    response = _get(client, world.admin, "scorecards-index")
    assert response.status_code == 200
    assert response.context.get("month") is None
    with translation.override("zh-hans"):
        nothing = translation.gettext(
            "No scorecards yet: import the grids, subscribers, plans and monthly usage, "
            "then run the nightly pipeline."
        )
    assert nothing in response.content.decode()
    assert _get(client, world.admin, "scorecards-grid", "G1").status_code == 200
    assert _get(client, world.admin, "scorecards-manager", "E1").status_code == 404


def test_the_command_builds_and_prints_a_grid_and_a_county(world: World) -> None:
    from django.core.management import call_command

    from quanwang.channels.scorecards.cli import Command

    out = io.StringIO()
    call_command(Command(), "build", stdout=out)
    call_command(Command(), "grid", "G1", "--month", JUNE, stdout=out)
    call_command(Command(), "county", "C1", "--kpi", "churn_rate", stdout=out)
    text = out.getvalue()
    assert "3" in text
    assert "G1" in text
    assert "25.0%" in text
    assert "(+1)" in text
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="2023-01"):
        call_command(Command(), "grid", "G1", "--month", "2023-01", stdout=out)
