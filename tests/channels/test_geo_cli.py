"""`quanwang assign-grids`: the nightly assignment by hand, and the kept runs."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django.utils import translation

from quanwang.channels.geo.runs import latest_run
from tests import factories
from tests.channels.test_geo_pages import load_city


def test_assign_grids_places_the_points_and_lists_the_runs(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # Given the city's grids, customers and stores (assigned once when loaded)
    load_city(tree, tmp_path)
    before = latest_run()

    # When the command runs, then lists the runs
    out = StringIO()
    with translation.override("en"):
        call_command("assign-grids", stdout=out)
        listed = StringIO()
        call_command("assign-grids", "--list", stdout=listed)

    # Then a new run is kept, its counts printed, and both runs listed
    run = latest_run()
    assert run is not None
    assert before is not None
    assert run.run_id != before.run_id
    text = out.getvalue()
    assert "Grids with a boundary: 3 (without: 0)" in text
    assert "Subscribers: By polygon 3, As imported 1, Outside every grid 2" in text
    assert run.run_id in listed.getvalue()
    assert before.run_id in listed.getvalue()


def test_without_any_boundary_every_point_keeps_its_imported_grid(tmp_path: Path) -> None:
    # Given grids without boundaries, and a customer with coordinates
    from quanwang.channels.geo.runs import assign_all
    from quanwang.data.importer import import_file

    files = {
        "plans": "plan_id,name,plan_type,monthly_fee,is_5g\nP1,5G,postpaid,99,是\n",
        "grids": "grid_id,name,grid_type,county_code\nG1,一号,沿街,C1\n",
        "subscribers": "subscriber_id,msisdn,segment,payment_type,join_date,status,plan_id,"
        "grid_id,lat,lon\nS1,13800000001,个人,postpaid,2020-01-01,active,P1,G1,23.0,113.0\n",
    }
    for table, text in files.items():
        path = tmp_path / f"{table}.csv"
        path.write_text(text, encoding="utf-8")
        import_file(table_name=table, path=path)

    # When the assignment runs
    run = assign_all()

    # Then the customer keeps grid G1, as imported; nothing is unassigned
    assert run.counts == {"subscribers": {"polygon": 0, "imported": 1, "unassigned": 0}}
    assert run.manifest["grids_without_boundary"] == 1
