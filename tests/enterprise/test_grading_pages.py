"""Pages of the grading part: the rules page (only the root saves), an account's grading with
the managers' score form, the sections on the account page and the dashboard; in Chinese,
and 404 for an outsider."""

from __future__ import annotations

import re
from typing import Any

from django.urls import reverse

from quanwang.core.choices import Role
from quanwang.enterprise.grading.regrading import regrade
from quanwang.enterprise.grading.sections import account_section, dashboard_section
from quanwang.enterprise.models import AccountGrading, GradingRuleSet, QualitativeScore
from tests import factories
from tests.enterprise import factories as ent
from tests.enterprise.grading_world import MONTH, place, world

CODE = re.compile(r">[^<]*\b(Traceback|relationship|proactive|warehouse|None)\b[^<]*<")


def _graded(tree: factories.Tree) -> tuple[Any, Any]:
    place(world())
    manager = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a)
    staff = factories.staff(at=tree.grid_a)
    staff.user = manager
    staff.save()
    account = ent.account(at=tree.grid_a, enterprise_id="E1", name="甲集团")
    ent.on_team(account=account, staff=staff)
    ent.account(at=tree.grid_b, enterprise_id="E2", name="乙集团")
    regrade(month=MONTH)
    return account, manager


def test_the_account_grading_page_shows_the_explanation_in_chinese(
    tree: factories.Tree, login: Any
) -> None:
    # given E1 graded, and its account manager
    account, manager = _graded(tree)
    client = login(manager)
    # when the manager opens the account's grading page in Chinese
    url = reverse("enterprise:grading-account", args=[account.enterprise_id])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    # then it shows the month's grade, its contributions and the score form
    assert page.status_code == 200
    html = page.content.decode()
    assert MONTH in html
    assert 'name="comment"' in html
    # no code on the page (the words are in the catalogue the lead merges: test_every_page_zh)
    body = html.split("<main", 1)[-1]
    assert not CODE.search(body), CODE.search(body)


def test_a_manager_scores_an_account_once_per_click(tree: factories.Tree, login: Any) -> None:
    account, manager = _graded(tree)
    client = login(manager)
    url = reverse("enterprise:grading-score", args=[account.enterprise_id])
    data = {"criterion": "potential", "score": 75, "comment": "扩建园区", "idempotency_key": "x1"}
    # when the form is sent twice (a double click)
    first = client.post(url, data)
    second = client.post(url, data)
    # then one score is kept
    assert first.status_code == second.status_code == 302
    assert QualitativeScore.objects.filter(account=account).count() == 1
    # and a score out of range is refused on the form, nothing saved
    bad = client.post(url, data | {"score": 120, "idempotency_key": "x2"})
    assert bad.status_code == 400
    assert QualitativeScore.objects.filter(account=account).count() == 1


def test_an_outsider_gets_404_on_every_account_page(tree: factories.Tree, login: Any) -> None:
    # given E1 on grid A and a county manager of city B
    account, _manager = _graded(tree)
    outsider = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b)
    client = login(outsider)
    for name in ("enterprise:grading-account", "enterprise:grading-score"):
        url = reverse(name, args=[account.enterprise_id])
        response = (
            client.post(url, {"criterion": "potential", "score": 1, "comment": "xxxx"})
            if name.endswith("score")
            else client.get(url)
        )
        # then it is 404, as if the account did not exist
        assert response.status_code == 404
    assert not QualitativeScore.objects.exists()
    # and the sections add nothing for them
    assert account_section(account=account, user=outsider) is None


def test_only_a_grant_at_the_root_saves_the_rules_page(tree: factories.Tree, login: Any) -> None:
    place(world())
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    page = login(county).get(reverse("enterprise:grading-rules"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    assert 'name="weight_revenue"' not in page.content.decode()
    form: dict[str, Any] = {
        "province": tree.province.code,
        "a_min": 75,
        "b_min": 50,
        "qualitative_default": 50,
        "note": "",
    }
    form |= {
        f"weight_{k}": v
        for k, v in {
            "revenue": 30, "members": 15, "growth": 10, "value_added": 10,
            "satisfaction": 10, "cooperation": 10, "potential": 10, "strategic": 5,
        }.items()
    }  # fmt: skip
    form |= {f"zero_{k}": 0 for k in ("revenue", "members", "value_added")}
    form |= {"zero_growth": -20, "zero_satisfaction": 5}
    form |= {"full_revenue": 20000, "full_members": 100, "full_growth": 20}
    form |= {"full_value_added": 500, "full_satisfaction": 0}
    form |= {"service_A": "relationship", "service_B": "solution", "service_C": "proactive"}
    save = reverse("enterprise:grading-rules-save")
    assert login(county).post(save, form).status_code == 404
    # weights adding to 95: refused on the page, naming the sum
    refused = login(admin).post(save, form | {"weight_strategic": 0}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert "95%" in refused.content.decode()
    assert login(admin).post(save, form).status_code == 302
    assert GradingRuleSet.objects.get(province=tree.province, version=2).a_min == 75


def test_the_sections_explain_grade_switching_cost_and_risk(tree: factories.Tree) -> None:
    account, manager = _graded(tree)
    found = account_section(account=account, user=manager)
    assert found is not None
    assert found["explained"]["grading"].month == MONTH
    assert {s["key"] for s in found["risk"]} >= {"contract_ending", "members_leaving"}
    assert len(found["switching"]) == 8
    assert found["trend"]
    board = dashboard_section(user=manager)
    # the manager's dashboard counts their one account and lists it by risk
    assert board is not None
    assert board["total"] == 1
    assert [r["enterprise_id"] for r in board["riskiest"]] == ["E1"]
    assert sum(b["n"] for b in board["histogram"]) == 1


def test_the_account_page_and_dashboard_show_the_grading_sections(
    tree: factories.Tree, login: Any
) -> None:
    account, manager = _graded(tree)
    client = login(manager)
    detail = client.get(reverse("enterprise:accounts-detail", args=[account.enterprise_id]))
    board = client.get(reverse("enterprise:dashboard"))
    assert detail.status_code == board.status_code == 200
    assert 'id="grading"' in detail.content.decode()
    assert 'id="grading"' in board.content.decode()


def test_the_demo_scores_the_managers_book_and_grades_two_months(tree: factories.Tree) -> None:
    from quanwang.enterprise.grading.demo import build_demo

    # given the world with an account_manager login leading E1
    place(world())
    manager = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a, username="account_manager")
    staff = factories.staff(at=tree.grid_a)
    staff.user = manager
    staff.save()
    account = ent.account(at=tree.grid_a, enterprise_id="E1")
    ent.on_team(account=account, staff=staff)
    said: list[str] = []
    # when the demo is built twice
    build_demo(say=said.append)
    build_demo(say=said.append)
    # then E1 has its scores once, with history, and June (and May) graded
    assert QualitativeScore.objects.filter(account=account).count() == 2
    assert set(AccountGrading.objects.values_list("month", flat=True)) == {"2024-05", MONTH}


def test_the_demo_calibrates_its_province_scales_once_from_its_accounts(
    tree: factories.Tree,
) -> None:
    from quanwang.enterprise.grading.demo import build_demo

    # given the world graded by the default rules, and the province's admin login
    place(world())
    factories.user(role=Role.PROVINCE_ADMIN, at=tree.province, username="admin")
    ent.account(at=tree.grid_a, enterprise_id="E1")

    # when the demo is built twice
    build_demo(say=lambda _text: None)
    build_demo(say=lambda _text: None)

    # then the province has one calibrated version on top of the defaults, and it grades
    versions = list(GradingRuleSet.objects.order_by("version"))
    assert [v.version for v in versions] == [1, 2]
    default, calibrated = versions
    assert calibrated.scales["revenue"][1] != default.scales["revenue"][1]
    assert calibrated.scales["growth"] == default.scales["growth"]
    assert calibrated.created_by is not None
    assert set(
        AccountGrading.objects.filter(month=MONTH).values_list("rule_set_version", flat=True)
    ) == {2}
