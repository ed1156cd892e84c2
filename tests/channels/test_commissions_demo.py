"""The demo's commissions: a rule set and an approved statement of the newest month."""

from __future__ import annotations

from pathlib import Path

from quanwang.channels.commissions.choices import StatementStatus
from quanwang.channels.commissions.demo import build_demo
from quanwang.channels.models import CommissionRuleSet, CommissionStatement
from quanwang.core.choices import Role
from tests import factories
from tests.channels.test_commissions_world import World


def test_the_demo_leaves_an_approved_statement_of_the_newest_month(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given stores with sales in May and June, and the demo's province admin login
    world = World(tree, tmp_path)
    factories.user(role=Role.PROVINCE_ADMIN, at=tree.province, username="admin")
    world.sale("A1", "2024-05-03", product="号卡", subscriber="U1")
    world.sale("A2", "2024-06-03", product="宽带")
    world.sale("A3", "2024-06-09", store="S2", product="其他产品")
    world.put()
    said: list[str] = []
    # when the demo is built, twice
    build_demo(say=said.append)
    build_demo(say=said.append)
    # then one rule set covers every product sold, and June's statements are approved
    rule_set = CommissionRuleSet.objects.get()
    assert rule_set.status == "active"
    assert set(rule_set.rules.values_list("product", flat=True)) >= {"号卡", "宽带", "其他产品"}
    statements = CommissionStatement.objects.filter(month="2024-06")
    assert statements.count() == 2
    assert all(s.status == StatementStatus.APPROVED for s in statements)
    assert said[-1] == "commission statements of 2024-06: approved already"


def test_the_demo_without_sale_lines_says_so(tree: factories.Tree) -> None:
    said: list[str] = []
    build_demo(say=said.append)
    assert said == ["no sale lines in the warehouse: no commission statement"]
