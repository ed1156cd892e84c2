from __future__ import annotations

import pytest
from django.test import Client

from quanwang.core.choices import AuditAction, Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import AuditRecord, Staff
from quanwang.core.services.staff import export_csv, reveal_mobile
from tests import factories


def test_revealing_a_mobile_number_is_audited_with_the_reason(tree: factories.Tree) -> None:
    # Given a county manager and a staff member in their county
    member = factories.staff(at=tree.grid_a, mobile="13812345678")
    user = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    # When they reveal the number with a reason
    mobile = reveal_mobile(actor=user, staff_id=member.pk, reason="回访核实", ip_address="10.0.0.1")

    # Then they get it in full and the audit log says who, what, when and why
    record = AuditRecord.objects.get()
    assert mobile == "13812345678"
    assert (record.actor, record.action, record.target_id, record.reason) == (
        user,
        AuditAction.VIEW_PII,
        str(member.pk),
        "回访核实",
    )
    assert "13812345678" not in record.target_repr


def test_a_reveal_without_a_reason_is_refused_and_not_audited(tree: factories.Tree) -> None:
    member = factories.staff(at=tree.grid_a)
    user = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    with pytest.raises(ServiceError):
        reveal_mobile(actor=user, staff_id=member.pk, reason="  ", ip_address=None)

    assert AuditRecord.objects.count() == 0


def test_a_role_without_the_permission_cannot_reveal(tree: factories.Tree) -> None:
    # Given a city marketer (may see staff, masked only)
    member = factories.staff(at=tree.grid_a)
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)

    # When they try to reveal, then it is as if the record were not there
    with pytest.raises(NotFound):
        reveal_mobile(actor=user, staff_id=member.pk, reason="x", ip_address=None)
    assert AuditRecord.objects.count() == 0


def test_a_full_export_is_audited_and_contains_full_numbers(tree: factories.Tree) -> None:
    factories.staff(at=tree.grid_a, mobile="13812345678")
    factories.staff(at=tree.grid_b, mobile="13912345678")
    user = factories.user(role=Role.PROVINCE_ADMIN, at=tree.city_a)

    content = export_csv(
        actor=user, queryset=Staff.objects.all(), full=True, reason="年度核对", ip_address=None
    )

    record = AuditRecord.objects.get()
    assert "13812345678" in content
    assert "13912345678" not in content
    assert (record.action, record.target_repr, record.org_unit) == (
        AuditAction.EXPORT_PII,
        "1 staff",
        tree.grid_a,
    )


def test_a_masked_export_is_audited_too(tree: factories.Tree) -> None:
    factories.staff(at=tree.grid_a, mobile="13812345678")
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)

    content = export_csv(
        actor=user, queryset=Staff.objects.all(), full=False, reason="统计", ip_address=None
    )

    assert "138****5678" in content
    assert "13812345678" not in content
    assert AuditRecord.objects.get().action == AuditAction.EXPORT


def test_a_full_export_is_refused_to_a_role_without_the_right(tree: factories.Tree) -> None:
    factories.staff(at=tree.grid_a)
    user = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    with pytest.raises(NotFound):
        export_csv(actor=user, queryset=Staff.objects.all(), full=True, reason="x", ip_address=None)
    assert AuditRecord.objects.count() == 0


def test_auditors_browse_audit_records_of_their_subtree(
    tree: factories.Tree, client: Client
) -> None:
    # Given reveals in two cities and an auditor of city A
    for unit, name in ((tree.grid_a, "甲"), (tree.grid_b, "乙")):
        member = factories.staff(at=unit, name=name)
        admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
        reveal_mobile(actor=admin, staff_id=member.pk, reason=f"理由{name}", ip_address=None)
    auditor = factories.user(role=Role.AUDITOR, at=tree.city_a)
    client.force_login(auditor)

    # When the auditor opens the audit log
    page = client.get("/audit/").content.decode()

    # Then they see city A's record only
    assert "理由甲" in page
    assert "理由乙" not in page
