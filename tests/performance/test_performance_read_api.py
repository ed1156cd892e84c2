"""The read API of KPIs, boards and grades, and deciding a grade move over the API: the same
scope as the console (out of reach answers 404), bad input a 422 naming the field, and a
decision sent twice applied once."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from quanwang.core.choices import Role
from quanwang.core.services.tokens import create_token
from quanwang.performance.actuals.store import publish
from quanwang.performance.grades.choices import MoveStatus
from quanwang.performance.models import GradeHistory, GradeMove, StaffGrade
from tests import factories
from tests.performance.boards_world import DAY, MONTH, login_user, make_world
from tests.performance.grades_world import World

API = "/api/v1/performance"


def _auth(user: Any) -> dict[str, str]:
    _token, secret = create_token(user=user, name="api")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def world(tree: factories.Tree, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    return make_world(tree, monkeypatch)


def test_the_catalogue_lists_every_kpi_in_chinese_for_any_kpi_grant(
    world: dict[str, Any], client: Client
) -> None:
    # given a grid manager (KPI VIEW) and a channel partner (no KPI grant)
    partner = login_user(Role.CHANNEL_PARTNER, world["tree"].grid_a)
    # when each asks for the catalogue
    listed = client.get(f"{API}/kpis", **_auth(world["manager"]))
    refused = client.get(f"{API}/kpis", **_auth(partner))
    # then the manager gets the built-ins with their units, directions and rules, in Chinese
    assert listed.status_code == 200
    by_code = {k["code"]: k for k in listed.json()}
    assert by_code["churn_rate"]["aggregation"] == "ratio"
    assert by_code["churn_rate"]["direction"] == "lower"
    # and the partner gets nothing, as for a page it may not open
    assert refused.status_code == 404


@pytest.fixture
def values(world: dict[str, Any]) -> dict[str, Any]:
    """Today's actuals of the built-in store_sales: four grids and two grid managers."""
    rows = [
        {"kpi": "store_sales", "grain": "org_unit", "key": code, "org_unit": code,
         "period": MONTH, "numerator": value, "denominator": None}
        for code, value in (("CA-1-G1", 10), ("CA-1-G2", 8), ("CA-1-G3", 8), ("CB-1-G1", 20))
    ] + [
        {"kpi": "store_sales", "grain": "staff", "key": number, "org_unit": unit,
         "period": MONTH, "numerator": value, "denominator": None}
        for number, unit, value in (("E-GM1", "CA-1-G1", 10), ("E-GM2", "CA-1-G2", 8))
    ]  # fmt: skip
    publish(rows, as_of=DAY, snapshot="snap-2")
    return world


def test_kpi_values_are_the_callers_reach_only_and_name_their_snapshot(
    values: dict[str, Any], client: Client
) -> None:
    world = values
    # given today's actuals: four grids and two grid managers' personal figures
    manager = _auth(world["manager"])
    admin = _auth(login_user(Role.PROVINCE_ADMIN, world["tree"].province))
    # when the grid manager and the province read this month's grid and staff values
    grids = client.get(f"{API}/kpis/store_sales/values", {"period": MONTH}, **manager).json()
    staff = client.get(
        f"{API}/kpis/store_sales/values", {"period": MONTH, "grain": "staff"}, **manager
    ).json()
    everyone = client.get(f"{API}/kpis/store_sales/values", {"period": MONTH}, **admin).json()
    # then the grid manager reads their own grid and their own figure, nobody else's
    assert [(v["key"], v["value"]) for v in grids["items"]] == [("CA-1-G1", 10.0)]
    assert [v["key"] for v in staff["items"]] == ["E-GM1"]
    # and the province reads every grid, with the day, snapshot and time they were computed
    assert everyone["count"] == 4
    assert [v["key"] for v in everyone["items"]] == ["CA-1-G1", "CA-1-G2", "CA-1-G3", "CB-1-G1"]
    assert everyone["as_of"] == DAY.isoformat()
    assert everyone["snapshot"] == "snap-2"
    assert everyone["computed_at"]
    # and one key, and a page of them
    one = client.get(f"{API}/kpis/store_sales/values", {"period": MONTH, "key": "CA-1-G3"}, **admin)
    assert [v["key"] for v in one.json()["items"]] == ["CA-1-G3"]
    page = client.get(
        f"{API}/kpis/store_sales/values", {"period": MONTH, "limit": 2, "offset": 2}, **admin
    ).json()
    assert (page["count"], [v["key"] for v in page["items"]]) == (4, ["CA-1-G3", "CB-1-G1"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"period": "2024-13"}, "period"),
        ({"period": MONTH, "grain": "planet"}, "grain"),
        ({"period": MONTH, "limit": 0}, "limit"),
        ({"period": MONTH, "limit": 1001}, "limit"),
        ({"period": MONTH, "offset": -1}, "offset"),
        ({"period": MONTH, "key": "a\x00b"}, "key"),
    ],
)
def test_bad_kpi_value_queries_are_refused_naming_the_field(
    values: dict[str, Any], client: Client, query: dict[str, Any], field: str
) -> None:
    world = values
    answer = client.get(f"{API}/kpis/store_sales/values", query, **_auth(world["manager"]))
    assert answer.status_code == 422
    assert answer.json()["field"] == field


def test_an_unknown_kpi_is_not_found(world: dict[str, Any], client: Client) -> None:
    answer = client.get(f"{API}/kpis/nope/values", {"period": MONTH}, **_auth(world["manager"]))
    assert answer.status_code == 404


def test_the_county_board_ranks_ties_and_movement_as_the_console(
    world: dict[str, Any], client: Client
) -> None:
    # given a grid manager, whose peer board is the grids of their county
    auth = _auth(world["manager"])
    # when they list the boards and read the grid board of their county this month
    boards = client.get(f"{API}/boards", {"level": "grid", "unit": "CA-1"}, **auth).json()
    board = client.get(
        f"{API}/boards/sales", {"level": "grid", "unit": "CA-1", "period": MONTH}, **auth
    ).json()
    # then the sales board is kept today, and G1 leads, up 2; G2 and G3 share 2nd place
    assert boards["day"] == DAY.isoformat()
    assert MONTH in boards["periods"]
    assert "sales" in [b["board"] for b in boards["boards"]]
    assert board["day"] == DAY.isoformat()
    assert board["snapshot"] == "snap-1"
    entries = {e["key"]: e for e in board["entries"]}
    assert set(entries) == {"CA-1-G1", "CA-1-G2", "CA-1-G3"}
    assert (entries["CA-1-G1"]["rank"], entries["CA-1-G1"]["since_yesterday"]) == (1, "up")
    assert entries["CA-1-G1"]["places_yesterday"] == 2
    assert entries["CA-1-G2"]["rank"] == entries["CA-1-G3"]["rank"] == 2
    assert entries["CA-1-G1"]["places_last_week"] == 2
    assert board["ranked"] == 3


@pytest.mark.parametrize(
    "query",
    [
        {"level": "grid", "unit": "CB-1", "period": MONTH},  # another county
        {"level": "county", "unit": "CA", "period": MONTH},  # above their peer board
        {"level": "grid", "unit": "NOPE", "period": MONTH},  # no such unit
        {"level": "grid", "unit": "CA-1", "period": "2031-01"},  # no such period
        {"level": "grid", "unit": "CA-1", "period": MONTH, "day": "2024-06-01"},  # not kept
    ],
)
def test_a_board_out_of_reach_or_absent_is_not_found(
    world: dict[str, Any], client: Client, query: dict[str, str]
) -> None:
    answer = client.get(f"{API}/boards/sales", query, **_auth(world["manager"]))
    assert answer.status_code == 404


def test_bad_board_queries_are_refused_naming_the_field(
    world: dict[str, Any], client: Client
) -> None:
    auth = _auth(world["manager"])
    level = client.get(f"{API}/boards", {"level": "planet"}, **auth)
    limit = client.get(
        f"{API}/boards/sales", {"level": "grid", "period": MONTH, "limit": 5000}, **auth
    )
    nul = client.get(f"{API}/boards", {"level": "grid", "unit": "C\x00A"}, **auth)
    assert (level.status_code, level.json()["field"]) == (422, "level")
    assert (limit.status_code, limit.json()["field"]) == (422, "limit")
    assert (nul.status_code, nul.json()["field"]) == (422, "unit")


class Grades(World):
    """The grades world with E100's promotion waiting for a decision."""

    def __init__(self, tree: factories.Tree) -> None:
        super().__init__(tree)
        self.move = GradeMove.objects.create(
            staff=self.staff, period="2024Q4", direction="promote", from_level=1, from_step=10,
            to_level=2, to_step=1, reasons={"rule": "promote"}, status=MoveStatus.PENDING,
        )  # fmt: skip


@pytest.fixture
def grades(tree: factories.Tree) -> Grades:
    return Grades(tree)


def test_grades_distribution_and_cards_follow_the_scope(grades: Grades, client: Client) -> None:
    # when the county manager reads their county's distribution
    county = client.get(f"{API}/grades", **_auth(grades.county)).json()
    # then the one staff member held there is counted at 初级10档, with the move pending
    assert county["unit"] == "CA-1"
    junior = next(row for row in county["levels"] if row["level"] == 1)
    assert junior["counts"][9] == 1
    assert (county["graded"], county["pending_moves"]) == (1, 1)
    assert [s["employee_no"] for s in county["staff"]] == ["E100"]
    # and the staff member reads their own card, not a colleague's; another county's unit is
    # not found
    own = client.get(f"{API}/grades/staff/E100", **_auth(grades.login))
    other = client.get(f"{API}/grades/staff/E200", **_auth(grades.login))
    elsewhere = client.get(f"{API}/grades", {"unit": "CB-1"}, **_auth(grades.county))
    assert own.status_code == 200
    assert (own.json()["level"], own.json()["step"]) == (1, 10)
    placed = [(h["to_level"], h["to_step"], h["comment"]) for h in own.json()["history"]]
    assert placed == [(1, 10, "入职定级")]
    assert (other.status_code, elsewhere.status_code) == (404, 404)


def test_a_move_decided_twice_over_the_api_applies_once(grades: Grades, client: Client) -> None:
    auth = _auth(grades.county)
    url = f"{API}/grade-moves/{grades.move.pk}/decision"
    # given the move waiting for the county manager
    waiting = client.get(f"{API}/grade-moves", **auth).json()
    assert [m["id"] for m in waiting] == [grades.move.pk]
    # when they approve it twice (two clicks), then reject it
    first = client.post(url, {"approve": True}, content_type="application/json", **auth)
    again = client.post(url, {"approve": True}, content_type="application/json", **auth)
    other_way = client.post(
        url, {"approve": False, "comment": "改主意"}, content_type="application/json", **auth
    )
    # then the grade moved once, with one history line, and the change of mind is refused
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["status"] == again.json()["status"] == "approved"
    grade = StaffGrade.objects.get(staff=grades.staff)
    assert (grade.level, grade.step) == (2, 1)
    assert GradeHistory.objects.filter(staff=grades.staff, move=grades.move).count() == 1
    assert other_way.status_code == 422
    assert client.get(f"{API}/grade-moves", **auth).json() == []


def test_a_move_out_of_scope_or_ones_own_is_not_decided(grades: Grades, client: Client) -> None:
    url = f"{API}/grade-moves/{grades.move.pk}/decision"
    body = {"approve": False, "comment": "不行"}
    # when another county's manager, the staff member themselves, and a reject without a
    # reason try
    outsider = client.post(url, body, content_type="application/json", **_auth(grades.outsider))
    own = client.post(url, body, content_type="application/json", **_auth(grades.login))
    silent = client.post(
        url, {"approve": False}, content_type="application/json", **_auth(grades.county)
    )
    huge = client.post(
        f"{API}/grade-moves/{2**63}/decision",
        body,
        content_type="application/json",
        **_auth(grades.county),
    )
    # then the outsider and the staff member (no APPROVE grant) find nothing, the silent
    # rejection is refused naming the comment, a huge id is simply absent, and the move waits
    assert (outsider.status_code, own.status_code) == (404, 404)
    assert (silent.status_code, silent.json()["field"]) == (422, "comment")
    assert huge.status_code == 404
    grades.move.refresh_from_db()
    assert grades.move.status == MoveStatus.PENDING


def test_a_level_asked_without_a_unit_opens_the_first_scope_that_shows_it(
    world: dict[str, Any], client: Client
) -> None:
    # given a county manager: their first scope is the city's peer board (counties only)
    county = login_user(Role.COUNTY_MANAGER, world["tree"].county_a)
    # when they ask for the grids' board and the counties' board without naming a unit
    grids = client.get(f"{API}/boards", {"level": "grid"}, **_auth(county))
    counties = client.get(f"{API}/boards", {"level": "county"}, **_auth(county))
    # then the grids open within their county and the counties within their city
    assert (grids.status_code, grids.json()["unit"]) == (200, "CA-1")
    assert (counties.status_code, counties.json()["unit"]) == (200, "CA")
