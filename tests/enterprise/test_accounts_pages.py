"""The account list (filter, export, API), the account 360 page and the enterprise dashboard:
each role of the brief in Chinese, an outsider's 404, the forms' scope."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from quanwang.core.choices import Role
from quanwang.core.services.tokens import create_token
from quanwang.enterprise.choices import AccountGrade, Ownership, TeamRole
from quanwang.enterprise.models import Account, AccountMember, AccountProduct, AccountTeamMember
from tests import factories
from tests.enterprise import factories as ent

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


class World:
    """Two accounts in county A (a group and its branch, led by the account manager), one in
    county B; logins of each role the brief names, and an outsider (county B's manager)."""

    def __init__(self, tree: factories.Tree) -> None:
        self.tree = tree
        self.group = ent.account(
            at=tree.grid_a,
            enterprise_id="GA",
            name="甲物流集团",
            grade=AccountGrade.A,
            industry="物流运输",
            size=1200,
        )
        self.branch = ent.account(
            at=tree.grid_a,
            enterprise_id="GA-1",
            name="甲物流分公司",
            parent=self.group,
            grade=AccountGrade.B,
            industry="物流运输",
        )
        self.far = ent.account(at=tree.grid_b, enterprise_id="FB", name="乙制造集团",
                               grade=AccountGrade.C, industry="制造业")  # fmt: skip
        self.am_user = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.county_a, username="am")
        self.am = factories.staff(at=tree.county_a, employee_no="AM1", name="王经理")
        self.am.user = self.am_user
        self.am.save()
        ent.on_team(account=self.group, staff=self.am)
        ent.on_team(account=self.branch, staff=self.am)
        self.colleague = factories.staff(at=tree.county_a, employee_no="AM2", name="李工")
        AccountMember.objects.create(
            account=self.group,
            enterprise_id="GA",
            subscriber_id="SA1",
            msisdn="13812345678",
            role="关键人",
        )
        Account.objects.filter(pk=self.group.pk).update(member_count=1)
        AccountProduct.objects.create(account=self.group, enterprise_id="GA",
                                      product_instance_id="PI-1", product="专线",
                                      contract_end=dt.date.today() + dt.timedelta(days=30),
                                      monthly_fee_fen=150000)  # fmt: skip
        self.users = {
            "admin": factories.user(role=Role.PROVINCE_ADMIN, at=tree.province),
            "county_manager": factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a),
            "account_manager": self.am_user,
            "auditor": factories.user(role=Role.AUDITOR, at=tree.province),
        }
        self.outsider = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b)


@pytest.fixture
def world(tree: factories.Tree) -> World:
    return World(tree)


def pages(world: World) -> list[str]:
    return [
        reverse("enterprise:dashboard"),
        reverse("enterprise:accounts-list"),
        reverse("enterprise:accounts-detail", args=["GA"]),
        reverse("enterprise:accounts-detail", args=["GA-1"]),
    ]


@pytest.mark.parametrize("who", ["admin", "county_manager", "account_manager", "auditor"])
def test_every_page_opens_in_chinese_for_each_role(world: World, login: Any, who: str) -> None:
    from tests.web.test_every_page_zh import ALLOWED_WORDS, DATA_WORDS, english_words

    client = login(world.users[who])
    for url in pages(world):
        answer = client.get(url, **ZH)
        assert answer.status_code == 200, (who, url)
        html = answer.content.decode()
        main = html[html.index("<main>") : html.index("</main>")].split('<div id="part-sections"')[
            0
        ]
        found = english_words(main, ALLOWED_WORDS | DATA_WORDS | {"GA", "FB", "PI", "AM", "SA"})
        assert not found, (who, url, found)


def test_the_360_page_shows_the_tree_team_products_and_masked_members(
    world: World, login: Any
) -> None:
    client = login(world.users["county_manager"])
    html = client.get(reverse("enterprise:accounts-detail", args=["GA"]), **ZH).content.decode()
    # the branch in the hierarchy, the lead, the product ending soon highlighted
    assert "甲物流分公司" in html
    assert "王经理" in html
    assert 'class="ending-soon"' in html
    # members masked, linking to the customer page
    assert "138****5678" in html
    assert "13812345678" not in html
    assert reverse("data:customer-detail", args=["SA1"]) in html


def test_an_outsider_gets_404_on_pages_and_forms(world: World, login: Any) -> None:
    client = login(world.outsider)
    detail = client.get(reverse("enterprise:accounts-detail", args=["GA"]))
    posts = [
        client.post(reverse(f"enterprise:accounts-{name}", args=["GA"]), data)
        for name, data in (
            ("ownership", {"ownership": Ownership.PROJECT, "reason": "x"}),
            ("move", {"parent": "", "reason": "x"}),
            ("team-add", {"employee_no": "AM2", "role": TeamRole.SUPPORT}),
            ("team-remove", {"employee_no": "AM1"}),
            ("team-lead", {"employee_no": "AM2", "reason": "x"}),
            ("merge", {"merged": "GA-1", "reason": "x"}),
        )
    ]
    assert [detail.status_code, *(p.status_code for p in posts)] == [404] * 7
    assert Account.objects.get(enterprise_id="GA").ownership == Ownership.REGIONAL


def test_the_account_manager_sees_and_changes_only_their_accounts(world: World, login: Any) -> None:
    client = login(world.am_user)
    listing = client.get(reverse("enterprise:accounts-list"), **ZH).content.decode()
    assert "甲物流集团" in listing
    assert "乙制造集团" not in listing
    assert client.get(reverse("enterprise:accounts-detail", args=["FB"])).status_code == 404
    # adding a colleague to their own account works
    answer = client.post(
        reverse("enterprise:accounts-team-add", args=["GA"]),
        {"employee_no": "AM2", "role": TeamRole.SOLUTION},
    )
    assert answer.status_code == 302
    assert AccountTeamMember.objects.filter(account=world.group, staff=world.colleague).exists()
    # merging is not theirs (no approve grant): 404
    merge = client.post(
        reverse("enterprise:accounts-merge", args=["GA"]), {"merged": "GA-1", "reason": "x"}
    )
    assert merge.status_code == 404


def test_the_list_filters_and_exports_with_one_filterset(world: World, login: Any) -> None:
    client = login(world.users["admin"])
    listing = client.get(reverse("enterprise:accounts-list"), {"grade": "B"}).content.decode()
    assert "甲物流分公司" in listing
    assert "甲物流集团" not in listing
    by_manager = client.get(reverse("enterprise:accounts-list"), {"manager": "AM1"})
    assert "乙制造集团" not in by_manager.content.decode()
    export = client.get(reverse("enterprise:accounts-export"), {"industry": "物流运输"})
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert sorted(r[0] for r in rows[1:]) == ["GA", "GA-1"]


def test_the_api_lists_with_the_filter_and_reads_one_in_scope(world: World, client: Client) -> None:
    _token, secret = create_token(user=world.am_user, name="t", days=30)
    headers = {"Authorization": f"Bearer {secret}"}
    listing = client.get("/api/v1/enterprise/accounts", {"grade": "A"}, headers=headers)
    assert [a["enterprise_id"] for a in listing.json()["items"]] == ["GA"]
    detail = client.get("/api/v1/enterprise/accounts/GA", headers=headers).json()
    assert detail["children"] == ["GA-1"]
    assert detail["team"][0]["employee_no"] == "AM1"
    assert detail["products"][0]["ending_soon"] is True
    assert client.get("/api/v1/enterprise/accounts/FB", headers=headers).status_code == 404


def test_the_dashboard_counts_by_grade_and_industry(world: World, login: Any) -> None:
    client = login(world.users["admin"])
    answer = client.get(reverse("enterprise:dashboard"), **ZH)
    figures = answer.context["figures"]
    assert dict(figures.by_grade) == {"A": 1, "B": 1, "C": 1}
    assert dict(figures.by_industry) == {"物流运输": 2, "制造业": 1}
