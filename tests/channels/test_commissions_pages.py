"""The console's commission pages, exports, sections and CLI: who reads which statement, the
partner's own view, reproducible exports, approving from the page."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook  # type: ignore[import-untyped]
from pypdf import PdfReader

from quanwang.channels.commissions import exports, sections
from quanwang.channels.commissions.choices import StatementStatus
from quanwang.channels.commissions.services.by_grid import paid_by_grid
from quanwang.channels.models import CommissionRuleSet, CommissionStatement
from quanwang.core.choices import JobKind, Role
from quanwang.core.models import Job
from tests import factories
from tests.channels.test_commissions_world import FIXED_50, World

D = Decimal


@pytest.fixture
def world(tree: factories.Tree, tmp_path: Path) -> World:
    """June computed for both stores: S1 (city A) with a sale, a refunded sale and a sale no
    rule covers; S2 (city B) with one sale."""
    built = World(tree, tmp_path)
    built.rules(FIXED_50)
    built.sale("A1", "2024-06-03", subscriber="SUBX0001")
    built.sale("A2", "2024-06-04", subscriber="U2")
    built.refund("R2", "2024-06-05", "A2")
    built.sale("T1", "2024-06-06", product="终端")
    built.sale("B1", "2024-06-07", store="S2", subscriber="U9")
    built.put()
    built.run("2024-06")
    return built


def _partner(world: World, store: str = "S1") -> object:
    user = factories.user(role=Role.CHANNEL_PARTNER, at=world.tree.grid_a)
    (world.s1 if store == "S1" else world.s2).partners.add(user)
    return user


def _statement(world: World, store: str) -> CommissionStatement:
    found = world.statement("2024-06", store)
    assert found is not None
    return found


def test_a_partner_reads_its_own_statement_and_no_other(world: World, client: Client) -> None:
    # given a partner of S1
    client.force_login(_partner(world))  # type: ignore[arg-type]
    own, other = _statement(world, "S1"), _statement(world, "S2")
    # when they open their statement, its lines and exports
    for name, args in (
        ("channels:commissions-detail", [own.pk]),
        ("channels:commissions-line", [own.pk, 1]),
        ("channels:commissions-xlsx", [own.pk]),
        ("channels:commissions-pdf", [own.pk]),
    ):
        assert client.get(reverse(name, args=args)).status_code == 200, name
    # then another store's statement does not exist for them, page, line or export
    for name, args in (
        ("channels:commissions-detail", [other.pk]),
        ("channels:commissions-line", [other.pk, 1]),
        ("channels:commissions-xlsx", [other.pk]),
        ("channels:commissions-pdf", [other.pk]),
    ):
        assert client.get(reverse(name, args=args)).status_code == 404, name
    # and the list shows theirs only
    page = client.get(reverse("channels:commissions-list")).content.decode()
    assert f'data-statement="{own.pk}"' in page
    assert f'data-statement="{other.pk}"' not in page
    # and they may not approve or run anything
    assert client.post(reverse("channels:commissions-approve", args=[own.pk])).status_code == 404
    assert client.post(reverse("channels:commissions-run"), {"month": "2024-06"}).status_code == 404


def test_a_city_marketer_reads_only_the_statements_of_their_city(
    world: World, client: Client
) -> None:
    marketer = factories.user(role=Role.CITY_MARKETER, at=world.tree.city_a)
    client.force_login(marketer)
    assert (
        client.get(
            reverse("channels:commissions-detail", args=[_statement(world, "S1").pk])
        ).status_code
        == 200
    )
    assert (
        client.get(
            reverse("channels:commissions-detail", args=[_statement(world, "S2").pk])
        ).status_code
        == 404
    )


def test_the_statement_page_shows_lines_their_computation_and_the_facts(
    world: World, client: Client
) -> None:
    client.force_login(world.approver)
    statement = _statement(world, "S1")
    page = client.get(reverse("channels:commissions-detail", args=[statement.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "A1" in text
    assert "标准酬金 v1" in text
    assert 'id="notes"' in text
    line = client.get(reverse("channels:commissions-line", args=[statement.pk, 1]))
    assert "SUBX0001" in line.content.decode()  # staff see the line's subscriber


def test_the_partner_view_shows_no_subscriber(world: World, client: Client) -> None:
    # given the partner of S1
    client.force_login(_partner(world))  # type: ignore[arg-type]
    statement = _statement(world, "S1")
    # when they read a line's facts and download the XLSX
    line = client.get(reverse("channels:commissions-line", args=[statement.pk, 1]))
    download = client.get(reverse("channels:commissions-xlsx", args=[statement.pk]))
    # then the subscriber is nowhere, and no other store either
    assert "SUBX0001" not in line.content.decode()
    book = load_workbook(io.BytesIO(download.content))
    cells = [str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row]
    assert "SUBX0001" not in cells
    assert "S2" not in cells
    assert "B1" not in cells
    assert "A1" in cells


def test_staff_download_the_partner_view_too(world: World, client: Client) -> None:
    client.force_login(world.approver)
    statement = _statement(world, "S1")
    full = client.get(reverse("channels:commissions-xlsx", args=[statement.pk]))
    partner = client.get(
        reverse("channels:commissions-xlsx", args=[statement.pk]) + "?view=partner"
    )

    def cells(data: bytes) -> list[str]:
        book = load_workbook(io.BytesIO(data))
        return [str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row]

    assert "SUBX0001" in cells(full.content)
    assert "SUBX0001" not in cells(partner.content)


def test_exports_are_byte_identical_across_reruns(world: World) -> None:
    # given the statement's XLSX now
    before = exports.statement_xlsx(_statement(world, "S1"))
    again = exports.statement_xlsx(_statement(world, "S1"))
    # when June is computed again from the same facts
    world.run("2024-06")
    after = exports.statement_xlsx(_statement(world, "S1"))
    # then the bytes are the same
    assert before == again == after


def test_the_pdf_embeds_its_chinese_font(world: World) -> None:
    # when the statement is made a PDF
    pdf = exports.statement_pdf(_statement(world, "S1"))
    # then its font is embedded and its Chinese text reads back
    reader = PdfReader(io.BytesIO(pdf))
    embedded = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            for descendant in font.get_object().get("/DescendantFonts", []):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                if "/FontFile2" in descriptor or "/FontFile3" in descriptor:
                    embedded.add(str(descriptor["/FontName"]))
    assert embedded
    text = "".join(page.extract_text() for page in reader.pages)
    assert "网点S1" in text
    assert "A1" in text
    assert "标准酬金" in text


def test_approving_from_the_page_freezes_the_statement(world: World, client: Client) -> None:
    statement = _statement(world, "S1")
    # the one who computed it is refused
    client.force_login(world.runner)
    client.post(reverse("channels:commissions-approve", args=[statement.pk]))
    statement.refresh_from_db()
    assert statement.status == StatementStatus.COMPUTED
    # another approver freezes it
    client.force_login(world.approver)
    client.post(reverse("channels:commissions-approve", args=[statement.pk]))
    statement.refresh_from_db()
    assert statement.status == StatementStatus.APPROVED
    assert statement.approved_by == world.approver
    # and the whole month in one go
    response = client.post(reverse("channels:commissions-approve-month"), {"month": "2024-06"})
    assert response.status_code == 302
    assert not CommissionStatement.objects.filter(status=StatementStatus.COMPUTED).exists()


def test_the_console_starts_a_run_as_a_job(world: World, client: Client) -> None:
    client.force_login(world.approver)
    response = client.post(reverse("channels:commissions-run"), {"month": "2024-07"})
    job = Job.objects.filter(kind=JobKind.RUN_COMMISSIONS).latest("pk")
    assert response.status_code == 302
    assert response["Location"] == reverse("core:job-detail", args=[job.pk])
    assert job.params == {"month": "2024-07"}
    jobs = Job.objects.filter(kind=JobKind.RUN_COMMISSIONS).count()
    bad = client.post(reverse("channels:commissions-run"), {"month": "07/2024"})
    assert bad.status_code == 302
    assert Job.objects.filter(kind=JobKind.RUN_COMMISSIONS).count() == jobs


def test_the_list_page_offers_run_and_approval_to_those_who_may(
    world: World, client: Client
) -> None:
    client.force_login(world.approver)
    page = client.get(reverse("channels:commissions-list")).content.decode()
    assert 'id="run"' in page
    assert 'id="approve-month"' in page
    viewer = factories.user(role=Role.COUNTY_MANAGER, at=world.tree.county_a)
    client.force_login(viewer)
    page = client.get(reverse("channels:commissions-list")).content.decode()
    assert 'id="run"' not in page
    assert 'id="approve-month"' not in page
    agency = factories.user(role=Role.AGENCY, at=world.tree.province)
    client.force_login(agency)
    assert client.get(reverse("channels:commissions-list")).status_code == 404


def test_rule_pages_draft_check_and_publish(
    tree: factories.Tree, tmp_path: Path, client: Client
) -> None:
    # given a province admin on the rules page
    world = World(tree, tmp_path)
    client.force_login(world.admin)
    assert client.get(reverse("channels:commissions-rules")).status_code == 200
    # when they draft a set, add two overlapping rules and publish
    client.post(
        reverse("channels:commissions-rules"),
        {"name": "门店酬金", "valid_from": "2024-01-01", "valid_until": ""},
    )
    draft = CommissionRuleSet.objects.get(name="门店酬金")
    url = reverse("channels:commissions-ruleset", args=[draft.pk])
    rule = {
        "product": "号卡", "plan_id": "", "store_type": "", "valid_from": "", "valid_until": "",
        "fixed_amount": "50", "upfront_share": "1", "deferred_months": "0",
        "revenue_share": "0", "revenue_months": "0", "clawback_months": "0",
        "tiers": "3: 60", "note": "",
    }  # fmt: skip
    assert client.post(url, rule).status_code == 302
    assert client.post(url, {**rule, "store_type": "合作店"}).status_code == 302
    page = client.get(url).content.decode()
    assert 'id="problems"' in page
    client.post(reverse("channels:commissions-ruleset-publish", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == "draft"
    # then removing the second rule lets it publish
    second = draft.rules.order_by("pk").last()
    assert second is not None
    client.post(reverse("channels:commissions-rule-delete", args=[draft.pk, second.pk]))
    client.post(reverse("channels:commissions-ruleset-publish", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == "active"
    assert draft.rules.get().tiers.get().min_volume == 3
    # and a bad tier line is named
    other = client.post(
        reverse("channels:commissions-rules"),
        {"name": "其他", "valid_from": "2030-01-01", "valid_until": ""},
    )
    assert other.status_code == 302
    other_set = CommissionRuleSet.objects.get(name="其他")
    bad = client.post(
        reverse("channels:commissions-ruleset", args=[other_set.pk]), {**rule, "tiers": "x"}
    )
    assert bad.status_code == 200
    assert "“x”" in bad.content.decode()


def test_a_city_marketer_reads_rules_but_may_not_change_them(world: World, client: Client) -> None:
    marketer = factories.user(role=Role.CITY_MARKETER, at=world.tree.city_a)
    client.force_login(marketer)
    rule_set = CommissionRuleSet.objects.get()
    assert (
        client.get(reverse("channels:commissions-ruleset", args=[rule_set.pk])).status_code == 200
    )
    response = client.post(reverse("channels:commissions-ruleset-version", args=[rule_set.pk]))
    assert response.status_code == 404


def test_sections_and_the_grid_figures(world: World) -> None:
    world.approve("2024-06")
    partner = _partner(world)
    store_ctx = sections.store_section(store=world.s1, user=world.approver, month=None)
    assert store_ctx is not None
    assert [s.month for s in store_ctx["statements"]] == ["2024-06"]
    partner_ctx = sections.partner_section(stores=[world.s1, world.s2], user=partner)
    assert partner_ctx is not None
    assert {s.store_id for s in partner_ctx["statements"]} == {world.s1.pk}
    agency = factories.user(role=Role.AGENCY, at=world.tree.province)
    assert sections.store_section(store=world.s1, user=agency, month=None) is None
    grid_ctx = sections.grid_section(grid=world.tree.grid_a, user=world.approver, month="2024-06")
    assert grid_ctx is not None
    assert grid_ctx["approved_total"] == D("50.00")
    assert paid_by_grid(month="2024-06") == {
        world.tree.grid_a.code: D("50.00"),
        world.tree.grid_b.code: D("50.00"),
    }


def test_the_cli_computes_and_approves_a_month(world: World) -> None:
    out = io.StringIO()
    call_command("commissions", month="2024-07", stdout=out)
    assert "2024-07" in out.getvalue()
    call_command(
        "commissions", month="2024-06", approve=True, user=world.approver.username, stdout=out
    )
    assert not CommissionStatement.objects.filter(
        month="2024-06", status=StatementStatus.COMPUTED
    ).exists()
