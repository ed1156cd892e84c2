"""Incentive pages: a staff member sees only their own statements (another's is 404), a unit's
reader their subtree's, approval by POST once, XLSX and a PDF with Chinese text, the rules
pages, and the CLI."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook  # type: ignore[import-untyped]
from pypdf import PdfReader

from quanwang.performance.incentives.choices import StatementStatus
from quanwang.performance.incentives.services import statements
from quanwang.performance.models import IncentiveStatement
from tests.performance import test_incentives_world as world

pytestmark = pytest.mark.django_db


def _computed(tree: Any) -> world.World:
    w = world.build(tree)
    world.actuals(world.december(complaints=1))
    statements.run_month(actor=w.marketer, month="2024-12")
    return w


def test_a_staff_member_sees_only_their_own_statement(tree: Any, login: Any) -> None:
    # given December's statements of both grid managers of grid A
    w = _computed(tree)
    mine = IncentiveStatement.objects.get(staff=w.staff_a1)
    theirs = IncentiveStatement.objects.get(staff=w.staff_a2)
    client = login(w.manager_a1)
    # when the first grid manager opens the list, their statement and the other's
    listing = client.get(reverse("performance:incentives-list"))
    own = client.get(reverse("performance:incentives-detail", args=[mine.pk]))
    other = client.get(reverse("performance:incentives-detail", args=[theirs.pk]))
    other_pdf = client.get(reverse("performance:incentives-pdf", args=[theirs.pk]))
    # then only their own is listed and readable; the other's is 404, its exports too
    assert listing.status_code == 200
    assert f'data-statement="{mine.pk}"' in listing.text
    assert f'data-statement="{theirs.pk}"' not in listing.text
    assert own.status_code == 200
    assert 'data-kind="piece"' in own.text
    assert other.status_code == 404
    assert other_pdf.status_code == 404
    # and the grid manager cannot approve even their own (404 for the action)
    post = client.post(reverse("performance:incentives-approve", args=[mine.pk]))
    assert post.status_code == 404


def test_another_citys_marketer_gets_404(tree: Any, login: Any) -> None:
    # given a statement of city A and a marketer of city B
    w = _computed(tree)
    from quanwang.core.choices import Role
    from tests import factories

    outsider = factories.user(role=Role.CITY_MARKETER, at=tree.city_b)
    statement = IncentiveStatement.objects.get(staff=w.staff_a1)
    # when city B's marketer opens or approves it
    client = login(outsider)
    # then 404 for both, and it stays computed
    assert (
        client.get(reverse("performance:incentives-detail", args=[statement.pk])).status_code == 404
    )
    post = client.post(reverse("performance:incentives-approve", args=[statement.pk]))
    assert post.status_code == 404
    statement.refresh_from_db()
    assert statement.status == StatementStatus.COMPUTED


def test_approving_by_post_twice_approves_once(tree: Any, login: Any) -> None:
    # given December computed by one marketer
    w = _computed(tree)
    statement = IncentiveStatement.objects.get(staff=w.staff_a1)
    client = login(w.approver)
    # when the other marketer submits approve twice
    url = reverse("performance:incentives-approve", args=[statement.pk])
    first, second = client.post(url), client.post(url)
    # then it is approved once, by them
    statement.refresh_from_db()
    assert first.status_code == second.status_code == 302
    assert statement.status == StatementStatus.APPROVED
    assert statement.approved_by == w.approver
    # and the detail page offers no approve button any more
    page = client.get(reverse("performance:incentives-detail", args=[statement.pk]))
    assert 'id="approve"' not in page.text


def test_exports_hold_the_lines_and_the_pdf_has_chinese(tree: Any, login: Any) -> None:
    # given EA1's December statement (piece, team and a complaint)
    w = _computed(tree)
    statement = IncentiveStatement.objects.get(staff=w.staff_a1)
    client = login(w.manager_a1)
    # when they download the XLSX and the PDF
    xlsx = client.get(reverse("performance:incentives-xlsx", args=[statement.pk]))
    pdf = client.get(reverse("performance:incentives-pdf", args=[statement.pk]))
    # then the XLSX has one row per line, the amounts adding up to the total
    book = load_workbook(io.BytesIO(xlsx.content))
    rows = list(book.worksheets[1].iter_rows(min_row=2, values_only=True))
    assert len(rows) == statement.line_count == 3
    assert round(sum(r[8] for r in rows), 2) == float(statement.total)
    # and the PDF's text is Chinese: the title and the staff member's name
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "网格长a1" in text
    assert "甲一网格" in text


def test_rules_pages_read_and_a_bad_version_keeps_what_was_typed(tree: Any, login: Any) -> None:
    # given the rules, a grid manager and the province admin
    w = world.build(tree)
    reader = login(w.manager_a1)
    assert reader.get(reverse("performance:incentives-rules")).status_code == 200
    assert (
        reader.get(reverse("performance:incentives-rule", args=[w.rule_set.pk])).status_code == 200
    )
    # when the grid manager tries to add a version: 404
    assert reader.post(reverse("performance:incentives-rule-add"), {}).status_code == 404
    # when the admin adds an overlapping version
    admin = login(w.admin)
    typed = '{"piece_rates": [{"kpi": "new_5g_plans", "yuan_per_unit": "25"}]}'
    admin.post(
        reverse("performance:incentives-rule-add"),
        {"role_kind": "grid_manager", "valid_from": "2024-07-01", "rules": typed},
    )
    page = admin.get(reverse("performance:incentives-rules"))
    # then the form shows the refusal and what was typed
    assert 'id="form-error"' in page.text
    assert "2024-07-01" in page.text
    assert "&quot;yuan_per_unit&quot;: &quot;25&quot;" in page.text


def test_cli_runs_idempotently_and_approves(tree: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # given the world's facts
    w = _computed(tree)
    IncentiveStatement.objects.all().delete()
    # when the month is run twice from the CLI (as the system: everyone)
    call_command("incentives", "run", "--month", "2024-12")
    call_command("incentives", "run", "--month", "2024-12")
    # then each grid manager has one statement
    assert IncentiveStatement.objects.count() == 3
    # and the approver approves those in their reach (city A's two)
    call_command("incentives", "approve", "--month", "2024-12", "--user", w.approver.username)
    assert IncentiveStatement.objects.filter(status=StatementStatus.APPROVED).count() == 2
    assert "2024-12" in capsys.readouterr().out
