"""Pages of performance.grades: the distribution, a staff member's card (own only for a
staff login), deciding moves (once, never outside scope) and the rules (the province saves)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.urls import reverse

from quanwang.core.choices import Role
from quanwang.performance.grades import appraisal
from quanwang.performance.grades.choices import MoveStatus
from quanwang.performance.grades.services.moves import place_staff, propose_moves
from quanwang.performance.models import GradeHistory, GradeMove, GradeRuleSet, StaffGrade
from tests import factories

# An enum's value or a Python value shown as is (the words are in the lead's catalogue).
CODE = re.compile(
    r">\s*(promote|demote|pending|approved|rejected|withdrawn|quarter|month|None)\s*<|Traceback"
)


class World:
    def __init__(self, tree: factories.Tree, monkeypatch: pytest.MonkeyPatch) -> None:
        self.admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
        self.county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
        self.outsider = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b)
        self.own = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
        self.staff = factories.staff(at=tree.grid_a, employee_no="E100", name="李四")
        self.staff.user = self.own
        self.staff.save()
        self.neighbour = factories.staff(at=tree.grid_a, employee_no="E101", name="赵六")
        self.other = factories.staff(at=tree.grid_b, employee_no="E200", name="王五")
        for no, step in (("E100", 10), ("E101", 3), ("E200", 5)):
            place_staff(
                employee_no=no,
                level=1,
                step=step,
                by=self.admin,
                reason="入职定级",
                effective_on=dt.date(2024, 1, 1),
            )
        good = {("E100", "2024Q4"): 1.3, ("E100", "2024Q3"): 1.2}
        monkeypatch.setattr(
            appraisal, "appraisal_result",
            lambda *, employee_no, period: good.get((employee_no, period)),
        )  # fmt: skip
        propose_moves(period="2024Q4", by=self.admin)
        self.move = GradeMove.objects.get(staff=self.staff)


@pytest.fixture
def world(tree: factories.Tree, monkeypatch: pytest.MonkeyPatch) -> World:
    return World(tree, monkeypatch)


def _no_code(page: Any) -> None:
    body = page.content.decode().split("<main", 1)[-1]
    assert not CODE.search(body), CODE.search(body)


def test_a_county_reads_its_distribution_and_nothing_outside(world: World, login: Any) -> None:
    client = login(world.county)
    # when the county manager opens the distribution
    page = client.get(reverse("performance:grades-distribution"))
    # then both of the county's staff are counted, and E200 of city B is not listed
    assert page.status_code == 200
    assert page.context["d"].graded == 2
    html = page.content.decode()
    assert "李四" in html
    assert "王五" not in html
    _no_code(page)
    # another county's unit is not found
    assert (
        client.get(reverse("performance:grades-distribution"), {"unit": "CB-1"}).status_code == 404
    )


def test_a_staff_member_reads_their_own_card_only(world: World, login: Any) -> None:
    client = login(world.own)
    # the entry leads to their own card, with the pending move and the placement
    mine = client.get(reverse("performance:grades-mine"))
    assert mine.status_code == 302
    assert mine.url == reverse("performance:grades-card", args=["E100"])
    card = client.get(mine.url)
    assert card.status_code == 200
    assert len(card.context["history"]) == 1
    assert len(card.context["moves"]) == 1
    _no_code(card)
    # a colleague's card in the same grid, the distribution and the moves: not found
    for url in (
        reverse("performance:grades-card", args=["E101"]),
        reverse("performance:grades-distribution"),
        reverse("performance:grades-moves"),
    ):
        assert client.get(url).status_code == 404, url


def test_a_manager_approves_once_and_an_outsider_gets_404(world: World, login: Any) -> None:
    url = reverse("performance:grades-decide", args=[world.move.pk])
    # the outsider's post is not found and changes nothing
    assert login(world.outsider).post(url, {"approve": "1"}).status_code == 404
    client = login(world.county)
    pending = client.get(reverse("performance:grades-moves"))
    assert pending.status_code == 200
    assert len(pending.context["pending"]) == 1
    _no_code(pending)
    # when the county manager approves twice (a double click)
    first = client.post(url, {"approve": "1", "comment": "连续超额"})
    second = client.post(url, {"approve": "1", "comment": "连续超额"})
    # then the move applied once
    assert first.status_code == second.status_code == 302
    world.move.refresh_from_db()
    assert world.move.status == MoveStatus.APPROVED
    assert GradeHistory.objects.filter(move=world.move).count() == 1
    grade = StaffGrade.objects.get(staff=world.staff)
    assert (grade.level, grade.step) == (2, 1)
    card = client.get(reverse("performance:grades-card", args=["E100"]))
    assert card.context["grade"]
    assert len(card.context["history"]) == 2


def test_a_staff_member_cannot_approve_their_own_move_on_the_page(world: World, login: Any) -> None:
    # given the staff member also holds a county manager's role above their grid
    factories.RoleAssignment.objects.create(
        user=world.own, role=Role.COUNTY_MANAGER, org_unit=world.staff.org_unit.parent
    )
    client = login(world.own)
    # their own move is not among those to decide, and posting it is refused
    page = client.get(reverse("performance:grades-moves"))
    assert page.status_code == 200
    assert page.context["pending"] == []
    client.post(reverse("performance:grades-decide", args=[world.move.pk]), {"approve": "1"})
    world.move.refresh_from_db()
    assert world.move.status == MoveStatus.PENDING


def _rules_post(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "valid_from": "2025-01-01", "period_kind": "quarter", "promote_at": "110",
        "promote_periods": "2", "promote_steps": "1", "demote_below": "80",
        "demote_periods": "2", "demote_steps": "1", "lowest_level": "1", "lowest_step": "1",
        "highest_level": "3", "highest_step": "10", "note": "年度调整",
    }  # fmt: skip
    for level in (1, 2, 3):
        for step in range(1, 11):
            data[f"c_{level}-{step}"] = "1.00"
    return data | changes


def test_the_province_saves_a_version_and_others_only_read(world: World, login: Any) -> None:
    # a county manager reads the rules but may not save
    county = login(world.county)
    page = county.get(reverse("performance:grades-rules"))
    assert page.status_code == 200
    assert not page.context["may_set"]
    _no_code(page)
    assert county.post(reverse("performance:grades-rules-save"), _rules_post()).status_code == 404
    # a bad threshold pair is refused on its field and nothing is saved
    admin = login(world.admin)
    bad = admin.post(reverse("performance:grades-rules-save"), _rules_post(promote_at="70"))
    assert bad.status_code == 400
    assert "promote_at" in bad.context["form"].errors
    assert not GradeRuleSet.objects.exists()
    # the province saves version 1
    saved = admin.post(reverse("performance:grades-rules-save"), _rules_post())
    assert saved.status_code == 302
    assert GradeRuleSet.objects.get().version == 1
    assert GradeRuleSet.objects.get().coefficients["3-10"] == "1.00"


def test_a_card_whose_history_has_no_approver_opens(world: World, login: Any) -> None:
    # Given a staff member placed by the system (the demo's 入职定级: nobody approved it)
    GradeHistory.objects.filter(staff=world.staff).update(approved_by=None)
    # When they open their own card
    page = login(world.own).get(reverse("performance:grades-card", args=["E100"]))
    # Then it opens, the approver shown as a dash, and no code or traceback shows
    assert page.status_code == 200
    _no_code(page)
    assert "入职定级" in page.content.decode()


def test_a_manager_proposes_from_the_console_once_and_a_staff_login_cannot(
    world: World, login: Any
) -> None:
    # Given the county manager on the moves page (the rules' proposals for 2024Q4 were made)
    client = login(world.county)
    page = client.get(reverse("performance:grades-moves"))
    assert 'id="propose"' in page.content.decode()
    # When they ask for the period's proposals twice, and a grid manager's login tries once
    url = reverse("performance:grades-propose")
    first = client.post(url, {"period": "2024Q4"})
    second = client.post(url, {"period": "2024Q4"})
    bad = client.post(url, {"period": "2024Q5"})
    refused = login(world.own).post(url, {"period": "2024Q4"})
    # Then each request lands on a job page, no move is proposed twice, the staff login gets
    # 404 and a bad period goes back to the page with its message
    assert first.status_code == second.status_code == 302
    assert "/jobs/" in first["Location"]
    assert GradeMove.objects.filter(staff=world.staff, period="2024Q4").count() == 1
    assert refused.status_code == 404
    assert bad.status_code == 302
    assert bad["Location"] == reverse("performance:grades-moves")


def test_the_province_sets_a_grade_by_hand_once_and_nobody_else_can(
    world: World, login: Any
) -> None:
    url = reverse("performance:grades-place", args=["E101"])
    body = {"level": "2", "step": "4", "effective_on": "2025-01-01", "reason": "转岗定级"}
    # given the county manager (no CHANGE grant) and the grid's staff member (a colleague)
    county = login(world.county)
    card = county.get(reverse("performance:grades-card", args=["E101"]))
    assert card.context["place_form"] is None
    assert county.post(url, body).status_code == 404
    assert login(world.own).post(url, body).status_code == 404
    # when the province sets 中级4档 twice (a double click)
    admin = login(world.admin)
    form = admin.get(reverse("performance:grades-card", args=["E101"]))
    assert 'id="place-form"' in form.content.decode()
    _no_code(form)
    first = admin.post(url, body)
    second = admin.post(url, body)
    # then the grade is set once, from the day given, with the reason in the history
    assert first.status_code == second.status_code == 302
    grade = StaffGrade.objects.get(staff=world.neighbour)
    assert (grade.level, grade.step, grade.since) == (2, 4, dt.date(2025, 1, 1))
    lines = GradeHistory.objects.filter(staff=world.neighbour).order_by("pk")
    assert [(h.to_level, h.to_step, h.comment) for h in lines] == [
        (1, 3, "入职定级"),
        (2, 4, "转岗定级"),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [({"step": "11"}, "step"), ({"reason": ""}, "reason"), ({"level": "9"}, "level")],
)
def test_setting_a_grade_by_hand_with_bad_input_names_the_field_and_keeps_the_grade(
    world: World, login: Any, change: dict[str, str], field: str
) -> None:
    body = {"level": "2", "step": "4", "effective_on": "2025-01-01", "reason": "转岗定级"}
    page = login(world.admin).post(
        reverse("performance:grades-place", args=["E101"]), body | change
    )
    assert page.status_code == 400
    assert page.context["place_form"].errors[field]
    grade = StaffGrade.objects.get(staff=world.neighbour)
    assert (grade.level, grade.step) == (1, 3)
