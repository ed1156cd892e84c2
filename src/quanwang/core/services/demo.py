"""A placeholder operator for trying the console: an org tree, staff and one login per role.

Replaced by the synthetic operator of the "Operator data" issue once that lands.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from quanwang.core.choices import OrgLevel, Role
from quanwang.core.models import OrgUnit, RoleAssignment, Staff

DEMO_PASSWORD = "quanwang-demo"

# code, name, English name, level, parent code
ORG_TREE = [
    ("GD", "广东省公司", "Guangdong Province", OrgLevel.GROUP, ""),
    ("GZ", "广州分公司", "Guangzhou", OrgLevel.CITY, "GD"),
    ("SZ", "深圳分公司", "Shenzhen", OrgLevel.CITY, "GD"),
    ("GZ-TH", "天河分局", "Tianhe", OrgLevel.COUNTY, "GZ"),
    ("GZ-HZ", "海珠分局", "Haizhu", OrgLevel.COUNTY, "GZ"),
    ("SZ-NS", "南山分局", "Nanshan", OrgLevel.COUNTY, "SZ"),
    ("SZ-FT", "福田分局", "Futian", OrgLevel.COUNTY, "SZ"),
    ("GZ-TH-G01", "天河珠江新城网格", "Zhujiang New Town grid", OrgLevel.GRID, "GZ-TH"),
    ("GZ-TH-G02", "天河体育中心网格", "Tianhe Sports Centre grid", OrgLevel.GRID, "GZ-TH"),
    ("GZ-HZ-G01", "海珠琶洲网格", "Pazhou grid", OrgLevel.GRID, "GZ-HZ"),
    ("SZ-NS-G01", "南山科技园网格", "Science Park grid", OrgLevel.GRID, "SZ-NS"),
    ("SZ-FT-G01", "福田中心区网格", "Futian CBD grid", OrgLevel.GRID, "SZ-FT"),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    name: str
    role: Role
    org_code: str
    mobile: str
    #: An existing staff record the login is (that staff member's own login), rather than a
    #: DEMOnnn record made for it: e.g. a generated 政企客户经理 with enterprises to serve.
    employee_no: str | None = None


LOGINS = [
    DemoLogin("admin", "李省管", Role.PROVINCE_ADMIN, "GD", "13800000001"),
    DemoLogin("gz_marketer", "王市场", Role.CITY_MARKETER, "GZ", "13800000002"),
    DemoLogin("sz_marketer", "陈市场", Role.CITY_MARKETER, "SZ", "13800000003"),
    DemoLogin("th_manager", "赵分局", Role.COUNTY_MANAGER, "GZ-TH", "13800000004"),
    DemoLogin("th_grid", "刘网格", Role.GRID_MANAGER, "GZ-TH-G01", "13800000005"),
    DemoLogin("th_account", "黄客户经理", Role.ACCOUNT_MANAGER, "GZ-TH", "13800000006"),
    DemoLogin("gz_channel", "周渠道", Role.CHANNEL_MANAGER, "GZ", "13800000007"),
    DemoLogin("agency", "某营销服务商", Role.AGENCY, "GD", "13800000008"),
    DemoLogin("auditor", "孙审计", Role.AUDITOR, "GD", "13800000009"),
    DemoLogin("multi", "吴双岗", Role.COUNTY_MANAGER, "GZ-HZ", "13800000010"),
    DemoLogin("multi", "吴双岗", Role.CITY_MARKETER, "SZ", "13800000010"),
]

EXTRA_STAFF = [
    ("E1001", "郑一", "13912340001", "营业员", "GZ-TH-G01"),
    ("E1002", "钱二", "13912340002", "装维", "GZ-TH-G02"),
    ("E1003", "冯三", "13912340003", "营业员", "GZ-HZ-G01"),
    ("E1004", "何四", "13912340004", "网格助理", "SZ-NS-G01"),
    ("E1005", "吕五", "13912340005", "营业员", "SZ-FT-G01"),
]


def create_logins(*, logins: list[DemoLogin], units: dict[str, OrgUnit]) -> None:
    """One login per entry, with its role at its unit and a staff record. Idempotent."""
    user_model = get_user_model()
    for login in logins:
        user, created = user_model.objects.get_or_create(
            username=login.username, defaults={"is_staff": login.role is Role.PROVINCE_ADMIN}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        RoleAssignment.objects.get_or_create(
            user=user, role=login.role, org_unit=units[login.org_code]
        )
        if (
            login.employee_no is not None
            and Staff.objects.filter(employee_no=login.employee_no).exists()
        ):
            # A login is one staff member: let go of any other record first.
            Staff.objects.filter(user=user).exclude(employee_no=login.employee_no).update(user=None)
            Staff.objects.filter(employee_no=login.employee_no).update(user=user)
        elif not Staff.objects.filter(user=user).exists():
            # Named after the login, not its place in the list: a later call with another
            # list (a partner's login) must not take over an earlier login's record.
            Staff.objects.update_or_create(
                employee_no=f"DEMO-{login.username}"[:32],
                defaults={
                    "user": user,
                    "name": login.name,
                    "mobile": login.mobile,
                    "title": login.role.label,
                    "org_unit": units[login.org_code],
                },
            )


def build_demo() -> list[DemoLogin]:
    """Create (or bring back) the demo operator. Running it twice changes nothing."""
    with transaction.atomic():
        units: dict[str, OrgUnit] = {}
        for code, name, name_en, level, parent_code in ORG_TREE:
            parent = units.get(parent_code)
            units[code], _created = OrgUnit.objects.update_or_create(
                code=code,
                defaults={
                    "name": name,
                    "name_en": name_en,
                    "level": level,
                    "parent": parent,
                    "path": f"{parent.path if parent else '/'}{code}/",
                },
            )
        create_logins(logins=LOGINS, units=units)
        for employee_no, name, mobile, title, org_code in EXTRA_STAFF:
            Staff.objects.update_or_create(
                employee_no=employee_no,
                defaults={
                    "name": name,
                    "mobile": mobile,
                    "title": title,
                    "org_unit": units[org_code],
                },
            )
    return LOGINS
