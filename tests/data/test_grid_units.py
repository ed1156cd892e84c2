"""The org unit of a row with a grid ID (the store file and the account file both use it)."""

from __future__ import annotations

import pytest

from quanwang.core.errors import ServiceError
from quanwang.data.grid_units import GridUnits
from tests import factories


def test_a_grid_id_finds_its_unit_else_the_nearest_unit_above_else_the_root(db: None) -> None:
    # given the org tree, and the warehouse's grids and org units above what the tree holds
    tree = factories.Tree()
    counties = {"CA-1-G9": "CA-1", "CB-9-G1": "CB-9", "LOOP-G": "LOOP-C"}
    parents = {"CB-9": "CB", "LOOP-C": "LOOP-P", "LOOP-P": "LOOP-C"}
    units = GridUnits(counties=counties, parents=parents, empty_tree="无组织")

    # then a grid unit is its own; a grid without one goes to its county, or further up
    assert units.unit_for("CA-1-G1") == tree.grid_a
    assert units.unit_for("CA-1-G9") == tree.county_a
    assert units.unit_for("CB-9-G1") == tree.city_b
    # and no grid, an unknown grid, or a loop in the parents end at the root
    assert units.unit_for("") == tree.province
    assert units.unit_for("NOWHERE") == tree.province
    assert units.unit_for("LOOP-G") == tree.province


def test_no_org_tree_is_refused_with_what_to_import_first(db: None) -> None:
    with pytest.raises(ServiceError, match="先导入组织"):
        GridUnits(counties={}, parents={}, empty_tree="先导入组织")
