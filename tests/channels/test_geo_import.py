"""Grid boundaries and coordinates through the importer (issue 16, "Grids on a map"): GeoJSON
and WKT polygons, a self-intersecting polygon repaired or quarantined, overlapping grids
reported with their rule, coordinates swapped or out of range refused naming file, row and
field; nothing lost."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.utils import translation

from quanwang.data.geometry import GeometryReject, read_boundary
from quanwang.data.importer import REJECT_LABELS, ImportFailed, import_file
from quanwang.data.warehouse import Warehouse, sql_literal

HEADER = "grid_id,name,grid_type,county_code,boundary_wkt\n"


def square(x: float, y: float, side: float = 0.01) -> str:
    return f"POLYGON(({x} {y}, {x + side} {y}, {x + side} {y + side}, {x} {y + side}, {x} {y}))"


def grids_csv(tmp_path: Path, rows: list[tuple[str, str]], name: str = "grids.csv") -> Path:
    path = tmp_path / name
    lines = [HEADER] + [f'{grid},网格{grid},沿街,C1,"{wkt}"\n' for grid, wkt in rows]
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _english() -> Any:
    """Messages and notes are asserted in English (the reasons' files hold both)."""
    with translation.override("en"):
        yield


def stored(table: str) -> list[dict[str, Any]]:
    current = Warehouse().current_file(table)
    assert current is not None
    cursor = duckdb.connect().execute(f"SELECT * FROM read_parquet({sql_literal(str(current))})")
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def quarantined(report: Any) -> list[dict[str, str]]:
    with Path(report.quarantine_file).open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def feature(grid: str, geometry: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    properties = {"grid_id": grid, "name": f"网格{grid}", "grid_type": "沿街", "county_code": "C1"}
    return {"type": "Feature", "properties": properties | extra, "geometry": geometry}


def ring(x: float, y: float, side: float = 0.01) -> list[list[float]]:
    return [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]


def test_a_geojson_feature_collection_loads_polygons_and_multipolygons(tmp_path: Path) -> None:
    # Given a FeatureCollection of a Polygon and a MultiPolygon
    collection = {
        "type": "FeatureCollection",
        "features": [
            feature("G1", {"type": "Polygon", "coordinates": [ring(113.0, 23.0)]}),
            feature(
                "G2",
                {"type": "MultiPolygon", "coordinates": [[ring(113.1, 23.0)], [ring(113.2, 23.0)]]},
            ),
        ],
    }
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")

    # When it is imported into the grids table
    report = import_file(table_name="grids", path=path)

    # Then both load, their properties as columns and their geometry as WKT
    assert (report.loaded, report.quarantined) == (2, 0)
    rows = {row["grid_id"]: row for row in stored("grids")}
    assert rows["G1"]["name"] == "网格G1"
    assert rows["G1"]["boundary_wkt"].startswith("POLYGON")
    assert rows["G2"]["boundary_wkt"].startswith("MULTIPOLYGON")
    assert read_boundary(rows["G2"]["boundary_wkt"]).geometry.area == pytest.approx(2e-4)
    assert any("GeoJSON" in note for note in report.notes)


def test_a_geojson_feature_that_is_no_polygon_is_quarantined_by_its_place(tmp_path: Path) -> None:
    # Given a FeatureCollection whose second feature is a point
    collection = {
        "type": "FeatureCollection",
        "features": [
            feature("G1", {"type": "Polygon", "coordinates": [ring(113.0, 23.0)]}),
            feature("G2", {"type": "Point", "coordinates": [113.1, 23.0]}),
        ],
    }
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")

    # When it is imported
    report = import_file(table_name="grids", path=path)

    # Then the point is set aside, named by file, feature and field; the polygon loads
    assert (report.loaded, report.quarantined) == (1, 1)
    (rejected,) = quarantined(report)
    assert rejected["file"] == "grids.geojson:features"
    assert rejected["row"] == "2"
    assert rejected["column"] == "boundary_wkt"
    assert rejected["reason_code"] == GeometryReject.GEOMETRY
    assert "Point" in rejected["reason_en"]


def test_a_file_that_is_no_feature_collection_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps({"type": "Polygon", "coordinates": [ring(0, 0)]}))

    with pytest.raises(ImportFailed, match=r"grids\.geojson: a GeoJSON file must hold"):
        import_file(table_name="grids", path=path)


def test_a_self_intersecting_polygon_is_repaired_and_the_repair_reported(tmp_path: Path) -> None:
    # Given a bow-tie polygon (its edges cross at 113.005 23.005)
    bowtie = "POLYGON((113 23, 113.01 23.01, 113.01 23, 113 23.01, 113 23))"
    path = grids_csv(tmp_path, [("G1", bowtie), ("G2", square(113.1, 23.0))])

    # When the grids are imported
    report = import_file(table_name="grids", path=path)

    # Then it loads as the two triangles of the repair, and the report says so
    assert (report.loaded, report.quarantined) == (2, 0)
    repaired = {row["grid_id"]: row for row in stored("grids")}["G1"]["boundary_wkt"]
    geometry = read_boundary(repaired).geometry
    assert geometry.geom_type == "MultiPolygon"
    assert geometry.is_valid
    assert geometry.area == pytest.approx(5e-5)
    assert any("G1" in note and "Self-intersection" in note for note in report.notes)


def test_a_polygon_whose_repair_has_no_area_is_quarantined_with_the_reason(
    tmp_path: Path,
) -> None:
    # Given a "polygon" folded onto a line
    flat = "POLYGON((113 23, 113.01 23.01, 113.02 23.02, 113 23))"
    path = grids_csv(tmp_path, [("G1", square(113.0, 23.0)), ("G2", flat)])

    # When imported
    report = import_file(table_name="grids", path=path)

    # Then it is quarantined naming the file, its row and the field, with why
    assert (report.loaded, report.quarantined) == (1, 1)
    (rejected,) = quarantined(report)
    assert (rejected["file"], rejected["row"], rejected["column"]) == (
        "grids.csv",
        "3",
        "boundary_wkt",
    )
    assert "without area" in rejected["reason_en"]
    assert rejected["reason_zh"]
    assert report.by_reason == {GeometryReject.GEOMETRY.value: 1}
    assert GeometryReject.GEOMETRY.value in REJECT_LABELS


def test_an_unclosed_ring_is_quarantined(tmp_path: Path) -> None:
    path = grids_csv(tmp_path, [("G1", "POLYGON((113 23, 113.01 23, 113.01 23.01))")])

    report = import_file(table_name="grids", path=path, allow_empty=True)

    (rejected,) = quarantined(report)
    assert "closed" in rejected["reason_en"]


def test_a_boundary_written_latitude_first_is_refused_as_swapped(tmp_path: Path) -> None:
    # Given a boundary written "lat lon" (latitudes beyond 90 on the y axis)
    swapped = "POLYGON((23 113, 23 113.01, 23.01 113.01, 23.01 113, 23 113))"
    path = grids_csv(tmp_path, [("G1", square(113.0, 23.0)), ("G2", swapped)])

    report = import_file(table_name="grids", path=path)

    (rejected,) = quarantined(report)
    assert (rejected["row"], rejected["column"], rejected["reason_code"]) == (
        "3",
        "boundary_wkt",
        GeometryReject.SWAPPED,
    )
    assert "swapped" in rejected["reason_en"]
    assert "填反" in rejected["reason_zh"]


def test_a_swapped_boundary_inside_the_ranges_is_told_by_the_operators_area(
    tmp_path: Path,
) -> None:
    # Given an operator in Xinjiang (lon 87, lat 43), where a swapped boundary (lon 43, lat
    # 87) is still within the ranges
    rows = [(f"G{i}", square(87.0 + i * 0.02, 43.0)) for i in range(4)]
    rows.append(("G9", "POLYGON((43 87, 43.01 87, 43.01 87.01, 43 87.01, 43 87))"))
    path = grids_csv(tmp_path, rows)

    report = import_file(table_name="grids", path=path)

    (rejected,) = quarantined(report)
    assert (rejected["row"], rejected["reason_code"]) == ("6", GeometryReject.SWAPPED)
    assert report.loaded == 4


def test_coordinates_out_of_range_are_refused(tmp_path: Path) -> None:
    path = grids_csv(tmp_path, [("G1", "POLYGON((200 23, 200.01 23, 200.01 23.01, 200 23))")])

    report = import_file(table_name="grids", path=path, allow_empty=True)

    (rejected,) = quarantined(report)
    assert rejected["reason_code"] == GeometryReject.COORDINATES
    assert "±180" in rejected["reason_en"]


def test_two_grids_that_overlap_are_reported_with_the_rule(tmp_path: Path) -> None:
    # Given a street grid and a campus half inside it
    path = grids_csv(
        tmp_path,
        [("STREET", square(113.0, 23.0, 0.02)), ("CAMPUS", square(113.015, 23.0, 0.01))],
    )

    report = import_file(table_name="grids", path=path)

    # Then both load, and the report names the pair, its share and the rule's winner
    assert report.loaded == 2
    (note,) = [n for n in report.notes if n.startswith("Overlapping pairs of grids: 1 ")]
    for said in ("CAMPUS and STREET", "50%", "to CAMPUS", "smaller grid"):
        assert said in note


def test_a_customer_with_latitude_and_longitude_swapped_is_refused(tmp_path: Path) -> None:
    # Given grids around Guangzhou, and a customer file whose second row has lat and lon swapped
    import_file(
        table_name="grids",
        path=grids_csv(tmp_path, [(f"G{i}", square(113.0 + i * 0.02, 23.0)) for i in range(3)]),
    )
    import_file(
        table_name="plans",
        path=_write(
            tmp_path,
            "plans.csv",
            "plan_id,name,plan_type,monthly_fee,is_5g\nP1,5G,postpaid,99,是\n",
        ),
    )
    subscribers = (
        "subscriber_id,msisdn,segment,payment_type,join_date,status,plan_id,lat,lon\n"
        "S1,13800000001,个人,postpaid,2020-01-01,active,P1,23.005,113.005\n"
        "S2,13800000002,个人,postpaid,2020-01-01,active,P1,113.005,23.005\n"
        "S3,13800000003,个人,postpaid,2020-01-01,active,P1,,\n"
    )

    # When the customers are imported
    report = import_file(
        table_name="subscribers", path=_write(tmp_path, "subscribers.csv", subscribers)
    )

    # Then the swapped row is quarantined naming its row and field; the others load
    assert (report.loaded, report.quarantined) == (2, 1)
    reasons = {(r["row"], r["column"], r["reason_code"]) for r in quarantined(report)}
    assert ("3", "lat", GeometryReject.SWAPPED.value) in reasons
    assert ("3", "lat", "range") in reasons  # 113 is no latitude either


def test_a_store_swapped_within_the_ranges_is_refused_by_the_operators_area(
    tmp_path: Path,
) -> None:
    import_file(
        table_name="grids",
        path=grids_csv(tmp_path, [(f"G{i}", square(87.0 + i * 0.02, 43.0)) for i in range(3)]),
    )
    stores = (
        "store_id,name,store_type,lat,lon\n"
        "ST1,一号店,自营厅,43.005,87.005\n"
        "ST2,二号店,自营厅,87.005,43.005\n"
        "ST3,三号店,自营厅,91,43\n"
    )

    report = import_file(table_name="stores", path=_write(tmp_path, "stores.csv", stores))

    assert report.loaded == 1
    rows = {(r["row"], r["column"], r["reason_code"]) for r in quarantined(report)}
    assert ("3", "lat", GeometryReject.SWAPPED.value) in rows
    assert ("4", "lat", "range") in rows  # out of range, whatever the reason


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path
