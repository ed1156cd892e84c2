"""Importing key persons from a CRM export (CSV in UTF-8 or GBK, or XLSX), all or nothing.

Columns: 集团编码 (the account), 姓名, 手机号码, 角色, 职务 (optional), 生日 (optional). The mobile
number decides who a person is: a number given twice in the file under different names, or
on file for a person of another name, is refused naming the file, row and field; the same
person (same number and name) on another account or with another role links the existing
person. A row whose account is outside the importer's scope reads like an unknown account
(nothing about other scopes leaks). Any refused row loads nothing; a row already on file
(same account, person and role) is skipped, so a retry of the same file loads nothing twice.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from quanwang.core.choices import Action
from quanwang.core.errors import ServiceError
from quanwang.core.tabular import RowError, read_csv
from quanwang.enterprise.choices import PersonRole
from quanwang.enterprise.models.persons import KeyPerson, KeyPersonRole
from quanwang.enterprise.persons.services.people import (
    PersonInput,
    clean_mobile,
    person_accounts,
    place_person,
)

COL_ACCOUNT = "集团编码"
COL_NAME = "姓名"
COL_MOBILE = "手机号码"
COL_ROLE = "角色"
COL_TITLE = "职务"
COL_BIRTHDAY = "生日"
REQUIRED = (COL_ACCOUNT, COL_NAME, COL_MOBILE, COL_ROLE)
MAX_ROWS = 20_000

# The words CRM exports use for each role, besides the codes themselves.
ROLE_WORDS: dict[str, PersonRole] = {
    "决策人": PersonRole.DECISION_MAKER,
    "决策者": PersonRole.DECISION_MAKER,
    "影响人": PersonRole.INFLUENCER,
    "影响者": PersonRole.INFLUENCER,
    "使用人": PersonRole.USER,
    "使用者": PersonRole.USER,
    "用户": PersonRole.USER,
    "财务": PersonRole.FINANCE,
    "财务负责人": PersonRole.FINANCE,
    "IT": PersonRole.IT,
    "信息化": PersonRole.IT,
    "技术": PersonRole.IT,
}
MOBILE = re.compile(r"1\d{10}")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")


@dataclass
class ImportResult:
    rows: int = 0
    persons_added: int = 0
    persons_linked: int = 0
    roles_added: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def loaded(self) -> bool:
        return not self.errors


def _rows(path: Path, *, name: str) -> list[tuple[int, dict[str, str]]]:
    suffix = Path(name).suffix.lower() or path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return _xlsx_rows(path)
    if suffix not in {".csv", ".txt"}:
        raise ServiceError(_("Use a .csv or .xlsx file."), field="file")
    try:
        return list(read_csv(path))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ServiceError(_("The file could not be read as text."), field="file") from exc


def _xlsx_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    from quanwang.data.workbooks import cell_text

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise ServiceError(_("The file is not a readable workbook."), field="file") from exc
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return []
        names = [cell_text(v).strip() for v in header]
        found: list[tuple[int, dict[str, str]]] = []
        for number, values in enumerate(rows, start=2):
            texts = [cell_text(v).strip() for v in values]
            if not any(texts):
                continue
            found.append((number, {n: t for n, t in zip(names, texts, strict=False) if n}))
        return found
    finally:
        book.close()


def _birthday(text: str) -> dt.date | None:
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text[:19].split(" ")[0], fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def _role(text: str) -> PersonRole | None:
    if text in PersonRole.values:
        return PersonRole(text)
    if text.upper() in ROLE_WORDS:
        return ROLE_WORDS[text.upper()]
    if text in ROLE_WORDS:
        return ROLE_WORDS[text]
    for role in PersonRole:
        if text == str(role.label):
            return role
    return None


@dataclass(frozen=True)
class _Row:
    number: int
    account_pk: int
    given: PersonInput


def import_persons(*, user: Any, path: Path, name: str) -> ImportResult:
    """Check every row, then load them all in one transaction, or nothing."""
    result = ImportResult()
    raw_rows = _rows(path, name=name)
    result.rows = len(raw_rows)
    if len(raw_rows) > MAX_ROWS:
        raise ServiceError(
            _("The file has more than %(n)d rows: split it.") % {"n": MAX_ROWS}, field="file"
        )

    def refuse(number: int, column: str, value: str, reason: str) -> None:
        result.errors.append(RowError(name, number, column, value[:50], reason))

    if raw_rows:
        missing = [c for c in REQUIRED if c not in raw_rows[0][1]]
        if missing:
            refuse(1, missing[0], "", _("The header has no column %(c)s.") % {"c": missing[0]})
            return result
    codes = {raw.get(COL_ACCOUNT, "") for _n, raw in raw_rows}
    accounts = dict(
        person_accounts(user=user, action=Action.ADD)
        .filter(enterprise_id__in=codes)
        .values_list("enterprise_id", "pk")
    )
    rows: list[_Row] = []
    seen_mobiles: dict[str, tuple[str, int]] = {}
    seen_roles: set[tuple[int, str, str]] = set()
    for number, raw in raw_rows:
        bad = False
        for column in REQUIRED:
            if not raw.get(column):
                refuse(number, column, "", _("Required."))
                bad = True
        if bad:
            continue
        code, person_name = raw[COL_ACCOUNT], raw[COL_NAME]
        account_pk = accounts.get(code)
        if account_pk is None:
            refuse(number, COL_ACCOUNT, code, _("No account with this code in your scope."))
            continue
        mobile = clean_mobile(raw[COL_MOBILE])
        if not MOBILE.fullmatch(mobile):
            refuse(number, COL_MOBILE, raw[COL_MOBILE], _("Not a mobile number."))
            continue
        role = _role(raw[COL_ROLE])
        if role is None:
            refuse(number, COL_ROLE, raw[COL_ROLE], _("Unknown role."))
            continue
        try:
            birthday = _birthday(raw.get(COL_BIRTHDAY, ""))
        except ValueError:
            refuse(number, COL_BIRTHDAY, raw[COL_BIRTHDAY], _("Not a date (use YYYY-MM-DD)."))
            continue
        earlier = seen_mobiles.get(mobile)
        if earlier is not None and earlier[0] != person_name:
            refuse(
                number,
                COL_MOBILE,
                raw[COL_MOBILE],
                _("The same number is given on row %(row)d for another name.")
                % {"row": earlier[1]},
            )
            continue
        seen_mobiles.setdefault(mobile, (person_name, number))
        key = (account_pk, mobile, role.value)
        if key in seen_roles:
            refuse(number, COL_MOBILE, raw[COL_MOBILE], _("The same person and role appear twice."))
            continue
        seen_roles.add(key)
        given = PersonInput(
            name=person_name,
            mobile=mobile,
            role=role,
            title=raw.get(COL_TITLE, "")[:50],
            birthday=birthday,
        )
        rows.append(_Row(number=number, account_pk=account_pk, given=given))
    # Against the file: a number already on file under another name.
    on_file = dict(
        KeyPerson.objects.filter(mobile__in=seen_mobiles.keys()).values_list("mobile", "name")
    )
    for row in rows:
        known = on_file.get(row.given.mobile)
        if known is not None and known != row.given.name:
            refuse(
                row.number,
                COL_MOBILE,
                row.given.mobile,
                _("This mobile number is on file for another person."),
            )
    if result.errors:
        result.errors.sort(key=lambda e: (e.row, e.field))
        return result
    _load(rows=rows, result=result, user=user, name=name)
    return result


def _load(*, rows: list[_Row], result: ImportResult, user: Any, name: str) -> None:
    from quanwang.enterprise.models import Account

    with transaction.atomic():
        accounts = Account.objects.in_bulk({r.account_pk for r in rows})
        existing = set(
            KeyPersonRole.objects.filter(
                account_id__in=accounts.keys(),
                person__mobile__in={r.given.mobile for r in rows},
            ).values_list("account_id", "person__mobile", "role")
        )
        known_mobiles = set(
            KeyPerson.objects.filter(mobile__in={r.given.mobile for r in rows}).values_list(
                "mobile", flat=True
            )
        )
        for row in rows:
            if (row.account_pk, row.given.mobile, row.given.role.value) in existing:
                result.skipped += 1
                continue
            try:
                placed = place_person(account=accounts[row.account_pk], given=row.given)
            except ServiceError as refused:
                # Changed between the check and the load (another import at once): refuse all.
                result.errors.append(
                    RowError(name, row.number, COL_MOBILE, row.given.mobile, refused.message)
                )
                transaction.set_rollback(True)
                result.persons_added = result.persons_linked = result.roles_added = 0
                return
            result.roles_added += 1
            if placed.new_person:
                result.persons_added += 1
            elif row.given.mobile in known_mobiles:
                result.persons_linked += 1
            known_mobiles.add(row.given.mobile)
