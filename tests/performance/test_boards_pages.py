"""The boards kept per day, who sees which, drill-down, sharing and the morning sheet."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from quanwang.core.choices import Role
from quanwang.core.errors import ServiceError
from quanwang.core.nightly import steps
from quanwang.performance.boards import build, reading, sharing
from quanwang.performance.boards.choices import BoardLevel, Movement
from quanwang.performance.boards.composites import save_composite
from tests import factories
from tests.performance.boards_world import DAY, MONTH, make_world
from tests.performance.boards_world import login_user as _login_user
from tests.performance.boards_world import publish_day as _publish


@pytest.fixture
def world(tree: factories.Tree, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    return make_world(tree, monkeypatch)


def test_board_ranks_ties_with_movement_since_yesterday_and_last_week(
    world: dict[str, Any],
) -> None:
    # given three kept days
    # when the grids of county CA-1 are ranked by sales this month
    board = reading.board(
        board="sales", level=BoardLevel.GRID, period=MONTH, within_path="/P1/CA/CA-1/"
    )
    # then G1 leads (up 2 since yesterday), G2 and G3 share the 2nd place
    assert board is not None
    ranks = {e.key: (e.rank, e.since_yesterday, e.places_yesterday) for e in board.entries}
    assert ranks["CA-1-G1"] == (1, Movement.UP, 2)
    assert ranks["CA-1-G2"] == (2, Movement.SAME, 0)
    assert ranks["CA-1-G3"] == (2, Movement.DOWN, -1)
    assert "CB-1-G1" not in ranks
    # and a week ago G1 was 3rd
    week = {e.key: e.places_last_week for e in board.entries}
    assert week["CA-1-G1"] == 2
    assert board.compared_last_week == DAY - dt.timedelta(days=7)


def test_a_new_entry_is_marked_new(world: dict[str, Any]) -> None:
    # given grid managers only on today's figures
    board = reading.board(
        board="sales", level=BoardLevel.GRID_MANAGER, period=MONTH, within_path="/P1/CA/CA-1/"
    )
    # then both are ranked and new since yesterday (they had no figures then)
    assert board is not None
    assert [(e.key, e.rank) for e in board.entries] == [("E-GM1", 1), ("E-GM2", 2)]
    assert {e.since_yesterday for e in board.entries} == {Movement.NEW}


def test_a_kept_day_is_immutable_unless_forced(world: dict[str, Any]) -> None:
    # given today's boards kept, then the actuals corrected late for the same day
    _publish(DAY, {"CA-1-G1": 0, "CA-1-G2": 8, "CA-1-G3": 8, "CB-1-G1": 20})
    # when the nightly step runs again
    again = build.build_day()
    # then the day is left as it was
    assert again.built is False
    board = reading.board(
        board="sales", level=BoardLevel.GRID, period=MONTH, within_path="/P1/CA/CA-1/"
    )
    assert board is not None
    assert board.entries[0].key == "CA-1-G1"
    # and --force replaces it on purpose
    assert build.build_day(force=True).built is True
    board = reading.board(
        board="sales", level=BoardLevel.GRID, period=MONTH, within_path="/P1/CA/CA-1/"
    )
    assert board is not None
    assert board.entries[-1].key == "CA-1-G1"


def test_board_position_among_peers(world: dict[str, Any]) -> None:
    # when the grid's position is asked for (the "my performance" page)
    position = reading.board_position(
        level=BoardLevel.GRID, key="CA-1-G1", board="sales", period=MONTH
    )
    # then it is ranked among its county's grids
    assert position is not None
    assert (position.rank, position.of, position.since_yesterday) == (1, 3, Movement.UP)
    assert position.within_path == "/P1/CA/CA-1/"
    assert (
        reading.board_position(level=BoardLevel.GRID, key="nope", board="sales", period=MONTH)
        is None
    )


def test_grid_manager_sees_the_peer_board_but_not_a_peers_figures(
    world: dict[str, Any], login: Any
) -> None:
    client: Client = login(world["manager"])
    # when the grid manager opens the board of their county's grids
    page = client.get(
        "/performance/boards/", {"level": "grid", "unit": "CA-1", "board": "sales", "period": MONTH}
    )
    # then every grid of the county is on it
    assert page.status_code == 200
    body = page.content.decode()
    assert all(f'data-key="{code}"' in body for code in ("CA-1-G1", "CA-1-G2", "CA-1-G3"))
    # and their own grid's figures open, a peer grid's answer 404
    own = {"level": "grid", "unit": "CA-1", "board": "sales", "period": MONTH, "key": "CA-1-G1"}
    assert client.get("/performance/boards/entry/", own).status_code == 200
    assert client.get("/performance/boards/entry/", own | {"key": "CA-1-G2"}).status_code == 404
    # and a peer grid manager's personal figures answer 404
    people = own | {"level": "grid_manager", "key": "E-GM2"}
    assert client.get("/performance/boards/entry/", people).status_code == 404
    assert client.get("/performance/boards/entry/", people | {"key": "E-GM1"}).status_code == 200


def test_other_scopes_answer_404(world: dict[str, Any], login: Any) -> None:
    client: Client = login(world["manager"])
    # a board of another county, a level that is not a peer's, an unknown unit
    for query in (
        {"level": "grid", "unit": "CB-1"},
        {"level": "store", "unit": "CA-1"},
        {"level": "county", "unit": "CA"},
        {"level": "grid", "unit": "NOPE"},
    ):
        assert client.get("/performance/boards/", query).status_code == 404, query
    # another city's marketer sees nothing of city A
    marketer = _login_user(Role.CITY_MARKETER, world["tree"].city_b)
    other = login(marketer)
    assert other.get("/performance/boards/", {"level": "grid", "unit": "CA-1"}).status_code == 404
    assert (
        other.get("/performance/boards/xlsx/", {"level": "grid", "unit": "CA-1"}).status_code == 404
    )
    assert other.get("/performance/boards/morning/teams/CA-1-G1/").status_code == 404


def test_xlsx_rows_are_the_board_rows(world: dict[str, Any], login: Any) -> None:
    client: Client = login(world["manager"])
    query = {"level": "grid", "unit": "CA-1", "board": "sales", "period": MONTH}
    # when the board is downloaded
    response = client.get("/performance/boards/xlsx/", query)
    # then one row per entry follows the 4 heading rows, in the board's order
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(min_row=5, values_only=True))
    assert [(r[0], r[2]) for r in rows] == [(1, "CA-1-G1"), (2, "CA-1-G2"), (2, "CA-1-G3")]


def test_png_is_1080_wide_and_drawn_with_the_cjk_font(
    world: dict[str, Any], login: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image, ImageFont

    used: list[str] = []
    real = ImageFont.truetype

    def spy(path: Any, *args: Any, **kwargs: Any) -> Any:
        used.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(ImageFont, "truetype", spy)
    client: Client = login(world["manager"])
    # when the board is shared as an image
    response = client.get(
        "/performance/boards/png/",
        {"level": "grid", "unit": "CA-1", "board": "sales", "period": MONTH},
    )
    # then it is a PNG 1080 px wide drawn with the CJK font file
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    assert image.width == sharing.IMAGE_WIDTH
    assert used
    assert set(used) == {str(sharing.font_path())}


def test_png_without_the_font_is_refused_clearly(
    world: dict[str, Any], login: Any, settings: Any, tmp_path: Any
) -> None:
    # given no CJK font file
    settings.QUANWANG_PDF_FONT = str(tmp_path / "missing.ttc")
    board = reading.board(board="sales", level=BoardLevel.GRID, period=MONTH, within_path="/P1/")
    assert board is not None
    # then the image is refused naming the file
    with pytest.raises(ServiceError) as refused:
        sharing.board_png(board, within_name="省")
    assert "missing.ttc" in refused.value.message
    client: Client = login(world["manager"])
    page = client.get("/performance/boards/png/", {"level": "grid", "unit": "CA-1"})
    assert page.status_code == 503
    assert b"missing.ttc" in page.content


def test_morning_sheet_is_phone_sized_and_scoped(world: dict[str, Any], login: Any) -> None:
    client: Client = login(world["manager"])
    # when the grid manager opens their team's sheet
    page = client.get("/performance/boards/morning/teams/CA-1-G1/")
    # then it has its sections and every table sits in a scrolling wrapper (390 px)
    assert page.status_code == 200
    body = page.content.decode()
    for section in ("results", "places", "today", "calls"):
        assert f'id="{section}"' in body
    tables = body.count("<table")
    wrapped = len(re.findall(r'<div class="board-scroll"><table', body))
    assert tables
    assert tables == wrapped
    assert "@media print" in body
    # and the team's place on the board is shown
    from quanwang.performance.boards.morning import team_sheet

    sheet = team_sheet(user=world["manager"], unit=world["tree"].grid_a)
    places = {(p.board, p.position.rank, p.position.of) for p in sheet.places}
    assert ("sales", 1, 3) in places
    # each with its board's period, since a KPI has a month's and a quarter's board
    assert all(p.period for p in sheet.places)
    assert sheet.places[0].period in body
    # a peer grid's sheet answers 404 (the peer board is visible, the team sheet is not)
    assert client.get("/performance/boards/morning/teams/CA-1-G2/").status_code == 404
    assert client.get("/performance/boards/morning/teams/CB-1-G1/").status_code == 404


def test_board_page_wraps_tables(world: dict[str, Any], login: Any) -> None:
    client: Client = login(world["manager"])
    body = client.get("/performance/boards/", {"level": "grid", "unit": "CA-1"}).content.decode()
    assert body.count("<table") == len(re.findall(r'<div class="board-scroll"><table', body)) > 0


def test_composite_scores_rank_by_weighted_attainment_or_relative_value(
    world: dict[str, Any],
) -> None:
    # given a composite of sales alone (no targets: value relative to the best)
    save_composite(user=None, code="overall", name="综合得分", weights={"sales": 100})
    save_composite(user=None, code="overall", name="综合得分", weights={"sales": 100})
    build.build_day(force=True)
    # when the composite board is read
    board = reading.board(
        board="overall", level=BoardLevel.GRID, period=MONTH, within_path="/P1/CA/CA-1/"
    )
    # then the best scores 100 and the others their share of it; the composite is kept once
    assert board is not None
    assert {e.key: round(e.row.score or 0, 1) for e in board.entries} == {
        "CA-1-G1": 50.0, "CA-1-G2": 40.0, "CA-1-G3": 40.0,
    }  # fmt: skip
    from quanwang.performance.models.boards import CompositeScore

    assert CompositeScore.objects.filter(code="overall").count() == 1


def test_composite_with_bad_weights_names_the_field(world: dict[str, Any]) -> None:
    for weights in ({"nope": 1}, {"sales": -1}, {"sales": "x"}, {}):
        with pytest.raises(ServiceError) as refused:
            save_composite(user=None, code="overall", name="综合", weights=weights)
        assert refused.value.field == "weights"


def test_a_composite_name_with_a_nul_or_too_long_is_refused_naming_the_field(
    world: dict[str, Any],
) -> None:
    # given names a form may carry: a NUL byte (PostgreSQL text cannot hold one), blanks,
    # one character over the limit
    from quanwang.performance.models.boards import CompositeScore

    for name in ("综\x00合", "   ", "分" * 101):
        # when a new composite of that name is saved, then it is refused naming the name
        with pytest.raises(ServiceError) as refused:
            save_composite(user=None, code=None, name=name, weights={"sales": 1})
        assert refused.value.field == "name"
    # and nothing was kept; a name at the limit is kept, trimmed
    assert not CompositeScore.objects.exists()
    kept = save_composite(user=None, code=None, name=" " + "分" * 100 + " ", weights={"sales": 1})
    assert kept.name == "分" * 100


def test_only_the_province_keeps_composites(world: dict[str, Any]) -> None:
    with pytest.raises(ServiceError):
        save_composite(user=world["manager"], code="mine", name="我的", weights={"sales": 1})


def test_nightly_step_runs_after_the_actuals_and_cli_builds_and_shows(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    names = [s.name for s in steps()]
    assert "performance_boards" in names
    for earlier in ("performance_actuals", "performance_target_warnings"):
        if earlier in names:
            assert names.index(earlier) < names.index("performance_boards")
    call_command("boards", "build")
    call_command("boards", "show", "--level", "grid", "--unit", "CA-1", "--board", "sales")
    out = capsys.readouterr().out
    assert "甲一网格" in out
    assert "甲二网格" in out
    assert "乙一网格" not in out


def test_the_whole_board_is_shown_a_page_at_a_time(
    world: dict[str, Any], login: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given pages of one row (a city's 2,000 stores are paged by 100)
    from quanwang.performance.boards import views

    monkeypatch.setattr(views, "ROWS_PER_PAGE", 1)
    client: Client = login(_login_user(Role.COUNTY_MANAGER, world["tree"].county_a))
    query = {"level": "grid", "unit": "CA-1", "board": "sales", "period": MONTH}
    # when the first and the second page of the county's grids are opened
    first = client.get("/performance/boards/", query).content.decode()
    second = client.get("/performance/boards/", query | {"page": 2}).content.decode()
    # then the leader is on the first page only, the next grid on the second, with a link on
    keys = re.compile(r'<tr data-key="([^"]+)"')
    assert keys.findall(first) == ["CA-1-G1"]
    assert len(keys.findall(second)) == 1
    assert keys.findall(second) != ["CA-1-G1"]
    assert "page=2" in first


def test_the_province_keeps_composites_on_the_console_and_others_only_read(
    world: dict[str, Any], login: Any
) -> None:
    from quanwang.performance.models.boards import CompositeScore

    # given the province admin and a grid manager
    admin = _login_user(Role.PROVINCE_ADMIN, world["tree"].province)
    url = reverse("performance:boards-composite-save")
    # when the province saves a new composite, then changes it (the same form sent twice),
    # and tries one with a weight that is no number
    client: Client = login(admin)
    before = CompositeScore.objects.count()
    for _twice in range(2):
        client.post(url, {"composite": "", "name": "团队得分", "weight-sales": "60"})
    made = CompositeScore.objects.get(name="团队得分")
    for _twice in range(2):
        client.post(url, {"composite": made.code, "name": "团队得分", "weight-sales": "80"})
    client.post(url, {"composite": "", "name": "坏", "weight-sales": "六十"})
    page = client.get(reverse("performance:boards-composites")).content.decode()
    # then one composite was added and changed in place, the bad one was refused, and the
    # page shows the form with the KPI's name, not its code
    assert CompositeScore.objects.count() == before + 1
    made.refresh_from_db()
    assert made.weights == {"sales": 80.0}
    assert 'id="composite-form"' in page
    assert 'name="weight-revenue"' in page
    # and a grid manager reads the page without the form and cannot save
    manager: Client = login(world["manager"])
    assert 'id="composite-form"' not in manager.get(
        reverse("performance:boards-composites")).content.decode()  # fmt: skip
    assert manager.post(url, {"composite": "", "name": "x", "weight-sales": "1"}).status_code == 404
    assert not CompositeScore.objects.filter(name="x").exists()


def test_the_grids_board_asked_without_a_unit_opens_in_the_county_managers_county(
    world: dict[str, Any], login: Any
) -> None:
    # given a county manager, whose first scope is the city's peer board of counties
    county = _login_user(Role.COUNTY_MANAGER, world["tree"].county_a)
    # when they open the grids' board by a link naming no unit
    page = login(county).get(
        reverse("performance:boards-index"), {"level": "grid", "period": MONTH}
    )
    # then it opens within their county (it was a 404: the peer board shows no grids)
    assert page.status_code == 200
    assert page.context["selection"].unit.code == "CA-1"
