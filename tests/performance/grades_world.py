"""The grades world the moves' and the API's tests share: a province admin, a county manager
above the grid, another county's manager, and two staff members placed on 1 January 2024 —
E100 (初级10档, the grid manager's own record) and E200 (中级5档, in city B)."""

from __future__ import annotations

import datetime as dt

from quanwang.core.choices import Role
from quanwang.performance.grades.services.moves import place_staff
from tests import factories

SINCE = dt.date(2024, 1, 1)


class World:
    def __init__(self, tree: factories.Tree) -> None:
        self.tree = tree
        self.admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
        self.county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
        self.outsider = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b)
        self.login = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
        self.staff = factories.staff(at=tree.grid_a, employee_no="E100", name="李四")
        self.staff.user = self.login
        self.staff.save()
        self.other = factories.staff(at=tree.grid_b, employee_no="E200", name="王五")
        place_staff(
            employee_no="E100",
            level=1,
            step=10,
            by=self.admin,
            reason="入职定级",
            effective_on=SINCE,
        )
        place_staff(
            employee_no="E200",
            level=2,
            step=5,
            by=self.admin,
            reason="入职定级",
            effective_on=SINCE,
        )
