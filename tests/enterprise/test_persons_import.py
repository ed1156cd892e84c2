"""Importing key persons from a CRM export: GBK CSV and XLSX read, the same person on a second
account linked, duplicate numbers refused naming file/row/field with nothing loaded, and a row
of another scope's account refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from openpyxl import Workbook

from quanwang.core.choices import Role
from quanwang.enterprise.choices import PersonRole
from quanwang.enterprise.models.persons import CareKind, CareMoment, KeyPerson, KeyPersonRole
from quanwang.enterprise.persons.services.imports import import_persons
from tests import factories
from tests.enterprise import factories as ent
from tests.enterprise import persons_factories as pf

HEADER = ["集团编码", "姓名", "手机号码", "角色", "职务", "生日"]


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


def _csv(path: Path, rows: list[list[str]], encoding: str = "gbk") -> Path:
    lines = [",".join(HEADER), *(",".join(r) for r in rows)]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def _manager(tree: factories.Tree) -> tuple[Any, Any, Any]:
    staff = factories.staff(at=tree.grid_a)
    user = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a)
    staff.user = user
    staff.save()
    first = ent.account(at=tree.grid_a, enterprise_id="G001")
    second = ent.account(at=tree.grid_a, enterprise_id="G002")
    ent.on_team(account=first, staff=staff)
    ent.on_team(account=second, staff=staff)
    return user, first, second


def test_a_gbk_csv_loads_and_links_the_same_person(tree: factories.Tree, tmp_path: Path) -> None:
    # Given a GBK export naming 王建国 on two accounts with two roles
    user, _first, _second = _manager(tree)
    path = _csv(
        tmp_path / "关键人.csv",
        [
            ["G001", "王建国", "13900000001", "决策人", "总经理", "1975-02-29".replace("29", "28")],
            ["G002", "王建国", "13900000001", "影响人", "董事", ""],
            ["G001", "李娜", "13900000002", "财务", "财务总监", "1980/06/01"],
        ],
    )
    # When it is imported
    result = import_persons(user=user, path=path, name="关键人.csv")
    # Then two persons and three roles are loaded; 王建国 is one person on both accounts
    assert result.loaded, result.errors
    assert KeyPerson.objects.count() == 2
    wang = KeyPerson.objects.get(mobile="13900000001")
    assert wang.name == "王建国"
    assert wang.birthday == dt.date(1975, 2, 28)
    assert set(wang.roles.values_list("account__enterprise_id", "role")) == {
        ("G001", PersonRole.DECISION_MAKER),
        ("G002", PersonRole.INFLUENCER),
    }
    # And the birthdays start their care series
    assert CareMoment.objects.filter(kind=CareKind.BIRTHDAY).count() == 2
    # And a retry of the same file loads nothing twice
    again = import_persons(user=user, path=path, name="关键人.csv")
    assert again.loaded
    assert again.skipped == 3
    assert KeyPersonRole.objects.count() == 3


def test_an_xlsx_export_loads(tree: factories.Tree, tmp_path: Path) -> None:
    user, _first, _second = _manager(tree)
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["G001", "赵敏", 13900000003, "IT", "信息部主任", dt.datetime(1990, 2, 1)])
    path = tmp_path / "crm.xlsx"
    book.save(path)
    result = import_persons(user=user, path=path, name="crm.xlsx")
    assert result.loaded, result.errors
    person = KeyPerson.objects.get()
    assert (person.mobile, person.birthday) == ("13900000003", dt.date(1990, 2, 1))
    assert person.roles.get().role == PersonRole.IT


def test_a_number_twice_under_two_names_loads_nothing(tree: factories.Tree, tmp_path: Path) -> None:
    # Given a file whose row 3 repeats row 2's number for another name
    user, _first, _second = _manager(tree)
    path = _csv(
        tmp_path / "dup.csv",
        [
            ["G001", "王建国", "13900000001", "决策人", "", ""],
            ["G002", "王建军", "13900000001", "影响人", "", ""],
        ],
        encoding="utf-8",
    )
    # When imported
    result = import_persons(user=user, path=path, name="dup.csv")
    # Then the error names the file, the row and the field, and nothing is loaded
    assert not result.loaded
    [error] = result.errors
    assert (error.file, error.row, error.field) == ("dup.csv", 3, "手机号码")
    assert "row 2" in error.reason
    assert not KeyPerson.objects.exists()


def test_a_number_on_file_for_another_name_loads_nothing(
    tree: factories.Tree, tmp_path: Path
) -> None:
    user, first, _second = _manager(tree)
    pf.role(account=first, person=pf.person(name="张伟", mobile="13900000009"))
    path = _csv(
        tmp_path / "x.csv",
        [
            ["G002", "李娜", "13900000002", "财务", "", ""],
            ["G002", "张卫", "13900000009", "决策人", "", ""],
        ],
    )
    result = import_persons(user=user, path=path, name="x.csv")
    assert [(e.row, e.field) for e in result.errors] == [(3, "手机号码")]
    assert KeyPerson.objects.count() == 1


def test_a_row_of_another_scope_is_refused_by_row(tree: factories.Tree, tmp_path: Path) -> None:
    # Given an account in city B, outside the manager's accounts
    user, _first, _second = _manager(tree)
    ent.account(at=tree.grid_b, enterprise_id="G900")
    path = _csv(
        tmp_path / "scope.csv",
        [
            ["G001", "王建国", "13900000001", "决策人", "", ""],
            ["G900", "外人", "13900000005", "决策人", "", ""],
        ],
    )
    result = import_persons(user=user, path=path, name="scope.csv")
    # Then row 3 is refused on its account code, as if the account did not exist
    assert [(e.row, e.field, e.value) for e in result.errors] == [(3, "集团编码", "G900")]
    assert not KeyPerson.objects.exists()


def test_a_bad_birthday_and_role_are_named(tree: factories.Tree, tmp_path: Path) -> None:
    user, _first, _second = _manager(tree)
    path = _csv(
        tmp_path / "bad.csv",
        [
            ["G001", "王建国", "13900000001", "老板", "", ""],
            ["G001", "李娜", "13900000002", "财务", "", "明年"],
            ["G001", "赵敏", "1390000", "财务", "", ""],
        ],
    )
    result = import_persons(user=user, path=path, name="bad.csv")
    assert [(e.row, e.field) for e in result.errors] == [(2, "角色"), (3, "生日"), (4, "手机号码")]
    assert not KeyPerson.objects.exists()
