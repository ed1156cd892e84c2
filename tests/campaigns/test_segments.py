"""Saving segments and previewing them within the user's scope."""

from __future__ import annotations

from pathlib import Path

import pytest

from quanwang.campaigns.segments import preview, save_segment, upload_list
from quanwang.core.choices import Role
from quanwang.core.errors import ServiceError
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import marketer

EXPIRING = {"field": "contract_expiring_3m", "op": "is", "value": True}


def test_saving_twice_keeps_both_versions_with_their_text(
    tree: factories.Tree, city: Snapshot
) -> None:
    first = save_segment(actor=None, name="到期", rule=EXPIRING, org_unit=tree.province)

    second = save_segment(
        actor=None,
        name="到期",
        rule={"all": [EXPIRING, {"field": "arpu_3m", "op": ">=", "value": 100}]},
        org_unit=tree.province,
    )

    assert (first.number, second.number) == (1, 2)
    assert second.segment == first.segment
    assert second.text_zh == "合约3个月内到期 且 近3月ARPU ≥ 100"
    assert first.text_zh == "合约3个月内到期"


def test_a_rule_on_a_column_the_snapshot_lacks_is_refused_at_save(
    tree: factories.Tree, city: Snapshot
) -> None:
    with pytest.raises(ServiceError, match="renamed or removed"):
        save_segment(
            actor=None,
            name="旧字段",
            rule={"field": "arpu_last_year", "op": ">", "value": 1},
            org_unit=tree.province,
        )


def test_the_preview_counts_and_breaks_down_within_the_users_grids(
    tree: factories.Tree, city: Snapshot
) -> None:
    # Given every fourth customer's contract ends soon: 25 in each grid
    province = marketer(tree)
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    # When each previews the rule
    everywhere = preview(user=province, rule=EXPIRING)
    own = preview(user=county, rule=EXPIRING)

    # Then the province sees 50 over both grids, the county manager the 25 of grid A
    assert everywhere.count == 50
    assert {code: n for code, _name, n in everywhere.by_grid} == {
        tree.grid_a.code: 25, tree.grid_b.code: 25,
    }  # fmt: skip
    assert sum(everywhere.by_tier.values()) == 50
    assert own.count == 25
    assert [name for _code, name, _n in own.by_grid] == [tree.grid_a.name]


def test_an_uploaded_id_list_narrows_a_segment(
    tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    # Given a GBK file of three IDs (one unknown) with a Chinese header
    path = tmp_path / "名单.csv"
    path.write_bytes("用户编号\nS000\nS004\nNOPE\n".encode("gbk"))
    listed = upload_list(actor=None, name="回访名单", path=path, org_unit=tree.province)

    # When a segment takes the list and the expiring rule together
    version = save_segment(
        actor=None,
        name="名单内到期",
        rule={"all": [{"list": listed.pk}, EXPIRING]},
        org_unit=tree.province,
    )
    result = preview(user=marketer(tree), rule=version.rule)

    # Then the list holds 3 IDs and the segment the 2 known customers with expiring contracts
    assert listed.size == 3
    assert result.count == 2
    assert version.text_zh == "在名单「回访名单」中 且 合约3个月内到期"


def test_an_empty_id_file_is_refused_naming_it(tree: factories.Tree, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("subscriber_id\n\n")

    with pytest.raises(ServiceError, match=r"empty\.csv"):
        upload_list(actor=None, name="空", path=path, org_unit=tree.province)


def test_a_list_outside_the_users_scope_cannot_be_used(
    tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    path = tmp_path / "ids.csv"
    path.write_text("subscriber_id\nS150\n")
    other_city = upload_list(actor=None, name="乙市名单", path=path, org_unit=tree.city_b)
    county_a = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    with pytest.raises(ServiceError, match="does not exist or is not yours"):
        preview(user=county_a, rule={"list": other_city.pk})
