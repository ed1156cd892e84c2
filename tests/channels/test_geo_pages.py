"""The geo pages (issue 16): the grid map and its data, the unassigned list, the overlaps and
a grid's customers and stores, each narrowed to the user's scope; another scope's grid is not
there (404 for a page of it)."""

from __future__ import annotations

import html.parser
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from quanwang.channels.geo import mapdata
from quanwang.channels.geo.choices import PointKind
from quanwang.channels.geo.runs import assign_all, latest_run, runs
from quanwang.core.choices import Role
from quanwang.data.importer import import_file
from tests import factories


def square(x: float, y: float, side: float = 0.01) -> str:
    return f"POLYGON(({x} {y}, {x + side} {y}, {x + side} {y + side}, {x} {y + side}, {x} {y}))"


@pytest.fixture
def city(tree: factories.Tree, tmp_path: Path) -> factories.Tree:
    return load_city(tree, tmp_path)


def load_city(tree: factories.Tree, tmp_path: Path) -> factories.Tree:
    """Grid A (city A) with a campus half inside it, grid B (city B); customers, stores and
    enterprises in them, outside every grid and without coordinates; assigned once."""
    factories.org_unit(code="CA-1-G2", parent=tree.county_a, name="甲校园")
    a, b = tree.grid_a.code, tree.grid_b.code
    files = {
        "plans": "plan_id,name,plan_type,monthly_fee,is_5g\nP1,5G,postpaid,99,是\n",
        "grids": "grid_id,name,grid_type,county_code,boundary_wkt\n"
        f'{a},甲网格,沿街,{tree.county_a.code},"{square(113.0, 23.0)}"\n'
        f'CA-1-G2,甲校园,校园,{tree.county_a.code},"{square(113.008, 23.0, 0.004)}"\n'
        f'{b},乙网格,沿街,{tree.county_b.code},"{square(113.1, 23.0)}"\n',
        "subscribers": "subscriber_id,msisdn,name,segment,payment_type,join_date,status,plan_id,"
        "grid_id,lat,lon\n"
        f"SA1,13800000001,张三丰,个人,postpaid,2020-01-01,active,P1,{b},23.005,113.002\n"
        f"SC1,13800000002,李四,个人,postpaid,2020-01-01,active,P1,{a},23.002,113.009\n"
        f"SB1,13800000003,王五,个人,postpaid,2020-01-01,active,P1,{b},23.005,113.105\n"
        f"SX,13800000004,赵六,个人,postpaid,2020-01-01,active,P1,{a},23.05,113.05\n"
        "SY,13800000005,钱七,个人,postpaid,2020-01-01,active,P1,,23.06,113.06\n"
        f"SZ,13800000006,孙八,个人,postpaid,2020-01-01,active,P1,{b},,\n",
        "stores": "store_id,name,store_type,grid_id,lat,lon\n"
        f"ST1,甲一店,自营厅,{a},23.005,113.005\n"
        f"ST9,乙外店,合作店,{b},23.2,113.2\n",
        "enterprises": "enterprise_id,name,industry,grid_id,lat,lon\n"
        f"E1,甲公司,制造,{a},23.004,113.004\n",
    }
    for table, text in files.items():
        path = tmp_path / f"{table}.csv"
        path.write_text(text, encoding="utf-8")
        import_file(table_name=table, path=path)
    assign_all()
    return tree


def logged_in(client: Client, role: Role, at: Any) -> Client:
    client.force_login(factories.user(role=role, at=at))
    return client


def shapes_ids(response: Any) -> set[str]:
    return {row[0] for row in response.json()["grids"]}


def test_the_assignment_places_each_point_and_keeps_the_run(city: factories.Tree) -> None:
    run = latest_run()
    assert run is not None
    assert run.counts["subscribers"] == {"polygon": 3, "imported": 1, "unassigned": 2}
    assert run.counts["stores"] == {"polygon": 1, "imported": 0, "unassigned": 1}
    assert (run.folder / "manifest.json").exists()
    # A rerun is a new run; the older ones stay until RUNS_KEPT are newer.
    assign_all()
    assert len(runs()) == 2


def test_a_run_without_its_manifest_is_not_read(city: factories.Tree) -> None:
    # Given a run killed before its manifest was written
    newest = latest_run()
    assert newest is not None
    (newest.folder / "manifest.json").unlink()

    # Then readers do not see it
    assert latest_run() is None


def test_the_map_sends_only_the_users_grids(city: factories.Tree, client: Client) -> None:
    # Given a grid manager of grid A
    logged_in(client, Role.GRID_MANAGER, city.grid_a)

    # When they open the map and its outlines
    page = client.get(reverse("channels:geo-map"))
    shapes = client.get(reverse("channels:geo-map-shapes"))

    # Then they get grid A only; grid B and the campus are another grid's
    assert page.status_code == 200
    assert b'id="grid-map"' in page.content
    assert shapes_ids(shapes) == {city.grid_a.code}


def test_the_province_sees_every_grid_and_a_reload_costs_a_304(
    city: factories.Tree, client: Client
) -> None:
    logged_in(client, Role.PROVINCE_ADMIN, city.province)

    first = client.get(reverse("channels:geo-map-shapes"))
    again = client.get(reverse("channels:geo-map-shapes"), HTTP_IF_NONE_MATCH=first["ETag"])

    assert shapes_ids(first) == {city.grid_a.code, city.grid_b.code, "CA-1-G2"}
    assert again.status_code == 304


def test_another_scope_gets_another_etag(city: factories.Tree, client: Client) -> None:
    logged_in(client, Role.PROVINCE_ADMIN, city.province)
    root_tag = client.get(reverse("channels:geo-map-shapes"))["ETag"]
    logged_in(client, Role.COUNTY_MANAGER, city.county_b)

    answer = client.get(reverse("channels:geo-map-shapes"), HTTP_IF_NONE_MATCH=root_tag)

    assert answer.status_code == 200
    assert shapes_ids(answer) == {city.grid_b.code}


def test_the_outlines_decode_to_the_polygons(city: factories.Tree) -> None:
    data = mapdata.outlines()
    row = next(r for r in data["grids"] if r[0] == city.grid_a.code)
    (polygon,) = row[4]
    flat = polygon[0]
    xs = [sum(flat[0 : i + 1 : 2]) / data["scale"] for i in range(0, len(flat), 2)]
    assert min(xs) == pytest.approx(113.0)
    assert max(xs) == pytest.approx(113.01)


def test_the_kpi_values_are_the_users_grids_only(
    city: factories.Tree, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the scorecards give a value for every grid
    from quanwang.channels.scorecards import services as scorecards

    every = {city.grid_a.code: 0.25, city.grid_b.code: 0.5, "CA-1-G2": 0.75}
    monkeypatch.setattr(scorecards, "map_values", lambda *, month, kpi: every)
    monkeypatch.setattr(scorecards, "MAP_KPIS", [("churn_rate", "Churn rate")])
    logged_in(client, Role.GRID_MANAGER, city.grid_a)

    # When grid A's manager asks for the values
    url = reverse("channels:geo-map-values")
    answer = client.get(url, {"kpi": "churn_rate", "month": "2024-06"}).json()
    own = client.get(url, {"kpi": "geo:customers", "month": "2024-06"}).json()

    # Then only grid A's come back; the part's own KPI counts the customers placed there
    assert answer == {
        "kpi": "churn_rate", "month": "2024-06", "available": True,
        "values": {city.grid_a.code: 0.25},
    }  # fmt: skip
    assert own["values"] == {city.grid_a.code: 1.0}


def test_an_unknown_kpi_or_month_is_not_found(city: factories.Tree, client: Client) -> None:
    logged_in(client, Role.PROVINCE_ADMIN, city.province)
    url = reverse("channels:geo-map-values")

    assert client.get(url, {"kpi": "nope", "month": "2024-06"}).status_code == 404
    assert client.get(url, {"kpi": "geo:customers", "month": "June"}).status_code == 404
    assert client.get(url).json()["kpi"] == "geo:customers"  # what the page shows first


def test_the_map_does_without_the_scorecards(
    city: factories.Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the scorecards part cannot be imported
    monkeypatch.setitem(sys.modules, "quanwang.channels.scorecards.services", None)

    # Then the map offers its own KPIs only, and a scorecard KPI has no values
    assert [key for key, _label in mapdata.kpi_choices()] == [k for k, _ in mapdata.OWN_KPIS]
    scope = mapdata.Scope(grids=None, gridless=True)
    assert mapdata.kpi_values(kpi="churn_rate", month="2024-06", scope=scope) is None


def test_a_point_outside_every_grid_is_listed_for_its_imported_grids_users(
    city: factories.Tree, client: Client
) -> None:
    url = reverse("channels:geo-unassigned")
    # Grid A's manager: SX (imported with grid A), not SY (imported without a grid)
    logged_in(client, Role.GRID_MANAGER, city.grid_a)
    own = client.get(url)
    # City B's county manager: neither, but the store imported with grid B
    logged_in(client, Role.COUNTY_MANAGER, city.county_b)
    other = client.get(url)
    other_stores = client.get(url, {"kind": PointKind.STORES.value})
    # The province: both customers
    logged_in(client, Role.PROVINCE_ADMIN, city.province)
    root = client.get(url)

    assert b">SX<" in own.content
    assert b">SY<" not in own.content
    assert b">SX<" not in other.content
    assert b">SY<" not in other.content
    assert b"ST9" in other_stores.content
    assert b">SX<" in root.content
    assert b">SY<" in root.content


def test_a_customers_coordinates_are_rounded_on_the_list(
    city: factories.Tree, client: Client
) -> None:
    logged_in(client, Role.PROVINCE_ADMIN, city.province)

    page = client.get(reverse("channels:geo-unassigned")).content.decode()

    assert "23.05" in page
    assert "113.05" in page


def test_the_overlaps_page_names_the_pair_and_the_rule(
    city: factories.Tree, client: Client
) -> None:
    logged_in(client, Role.COUNTY_MANAGER, city.county_a)
    own = client.get(reverse("channels:geo-overlaps"))
    logged_in(client, Role.COUNTY_MANAGER, city.county_b)
    other = client.get(reverse("channels:geo-overlaps"))

    assert b"CA-1-G2" in own.content
    assert b'id="overlap-rule"' in own.content
    assert b"50.0%" in own.content  # half the campus lies in grid A
    assert b"CA-1-G2" not in other.content


def test_a_grids_customers_are_listed_masked(city: factories.Tree, client: Client) -> None:
    logged_in(client, Role.GRID_MANAGER, city.grid_a)
    url = reverse(
        "channels:geo-grid-points",
        kwargs={"grid_id": city.grid_a.code, "kind": PointKind.SUBSCRIBERS.value},
    )

    page = client.get(url).content.decode()

    assert "SA1" in page  # imported with grid B, placed in A by its coordinates
    assert "张**" in page
    assert "张三丰" not in page
    assert "13800000001" not in page
    assert "SC1" not in page  # in the campus: the smaller grid's


def test_another_scopes_grid_is_not_found(city: factories.Tree, client: Client) -> None:
    logged_in(client, Role.GRID_MANAGER, city.grid_a)

    other = reverse(
        "channels:geo-grid-points",
        kwargs={"grid_id": city.grid_b.code, "kind": PointKind.STORES.value},
    )
    unknown = reverse(
        "channels:geo-grid-points", kwargs={"grid_id": city.grid_a.code, "kind": "people"}
    )

    assert client.get(other).status_code == 404
    assert client.get(unknown).status_code == 404


@pytest.mark.parametrize(
    "name", ["channels:geo-map", "channels:geo-map-shapes", "channels:geo-overlaps"]
)
def test_a_partner_login_gets_no_map(city: factories.Tree, client: Client, name: str) -> None:
    logged_in(client, Role.CHANNEL_PARTNER, city.grid_a)

    assert client.get(reverse(name)).status_code == 404


class _Text(html.parser.HTMLParser):
    """The text a reader sees: not <code>, <script> nor <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"code", "script", "style"}:
            self._hidden += 1
        for name, value in attrs:
            if name in {"aria-label", "title", "placeholder"} and value:
                self.words += re.findall(r"[A-Za-z]{2,}", value)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"code", "script", "style"}:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.words += re.findall(r"[A-Za-z]{2,}", data)


# Codes and units a Chinese page may show, and this test's records (IDs, org codes).
ALLOWED = {"KPI", "ID", "API", "ARPU", "English", "Quanwang", "CA", "CB", "SA", "SB", "SX",
           "SY", "ST", "E1", "user"}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("channels:geo-map", {}),
        ("channels:geo-unassigned", {}),
        ("channels:geo-overlaps", {}),
        ("channels:geo-grid-points", {"grid_id": "CA-1-G1", "kind": "subscribers"}),
        ("channels:geo-grid-points", {"grid_id": "CA-1-G1", "kind": "stores"}),
    ],
)
def test_the_pages_hold_no_english_in_chinese(
    city: factories.Tree, client: Client, name: str, kwargs: dict[str, str]
) -> None:
    logged_in(client, Role.PROVINCE_ADMIN, city.province)

    page = client.get(reverse(name, kwargs=kwargs), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert page.status_code == 200
    text = _Text()
    text.feed(page.content.decode())
    assert [w for w in text.words if w not in ALLOWED] == []
