"""Task lists split by account manager (客户经理): a campaign's enterprise customers go to the
account manager of their enterprise, with a quota of their own; everyone else to grids."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import duckdb
import pytest
from openpyxl import load_workbook

from quanwang.campaigns.choices import Channel, ContactOutcome, TaskSplit
from quanwang.campaigns.issuing import account_manager_assignments
from quanwang.campaigns.models import Campaign, EarlyWarning, Quota, TaskOutcome
from quanwang.campaigns.services import (
    create_campaign,
    execution_progress,
    transition,
)
from quanwang.campaigns.tasks import TaskFilters, TaskState, record_outcome, task_list
from quanwang.campaigns.warnings import raise_warnings
from quanwang.core.choices import Role
from quanwang.core.errors import ServiceError
from quanwang.core.models import Staff
from quanwang.data.importer import import_file
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import (
    TEN_AM,
    TODAY,
    approved,
    design,
    dispatch_tasks,
    load_city_warehouse,
    marketer,
)
from tests.insight.conftest import PLANS, subscriber

AN_HOUR_LATER = TEN_AM + dt.timedelta(hours=1)
MANAGER_NO = "AM001"
# Enterprise members among the segment (a contract ending within 3 months: every fourth).
BANK = ("S000", "S004", "S008", "S012", "S100", "S104", "S001")  # S001 is not in the segment
LOGISTICS = ("S016",)  # an enterprise with no account manager
SCHOOL = ("S120",)  # its account manager is not on the staff
MID = dt.date(2024, 8, 1)  # just past half-way through the window


@pytest.fixture
def account_manager(tree: factories.Tree) -> Any:
    """County A's account manager: a login with the role, and their staff record AM001."""
    user = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.county_a)
    staff = factories.staff(at=tree.county_a, employee_no=MANAGER_NO, name="黄经理")
    staff.user = user
    staff.save()
    return user


def _load_enterprises(tree: factories.Tree, tmp_path: Path, *, bank: str = MANAGER_NO) -> None:
    """The bank (served by `bank`), a logistics firm and a school, with their members."""
    enterprises = [
        {"enterprise_id": "ENT1", "name": "甲银行", "industry": "金融",
         "grid_id": tree.grid_a.code, "account_manager_employee_no": bank},
        {"enterprise_id": "ENT2", "name": "乙物流", "industry": "物流",
         "grid_id": tree.grid_a.code},
        {"enterprise_id": "ENT3", "name": "丙学校", "industry": "教育",
         "grid_id": tree.grid_b.code, "account_manager_employee_no": "E999999"},
    ]  # fmt: skip
    members = [
        {"enterprise_id": enterprise, "subscriber_id": sid}
        for enterprise, ids in (("ENT1", BANK), ("ENT2", LOGISTICS), ("ENT3", SCHOOL))
        for sid in ids
    ]
    files = factories.canonical_files(tmp_path, enterprises=enterprises, enterprise_members=members)
    for table in ("enterprises", "enterprise_members"):
        import_file(table_name=table, path=files[table])


def _issue(tree: factories.Tree, split: TaskSplit) -> tuple[Any, Campaign]:
    designer = marketer(tree)
    chosen = design(tree, task_split=split)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer, chosen), move="issue", today=TODAY
    )
    return designer, campaign


@pytest.fixture
def split(
    tree: factories.Tree, city: Snapshot, tmp_path: Path, account_manager: Any
) -> tuple[Any, Campaign]:
    """An issued campaign split by account manager whose task step t1 went out at 10:00."""
    load_city_warehouse(tree, tmp_path)
    _load_enterprises(tree, tmp_path)
    designer, campaign = _issue(tree, TaskSplit.ACCOUNT_MANAGER)
    dispatch_tasks(designer, campaign, text="上门拜访集团客户，介绍续约优惠")
    return designer, campaign


def _frozen(campaign: Campaign) -> dict[str, tuple[str | None, str, bool]]:
    """subscriber → (account manager, grid, in control) of the frozen audience."""
    described = duckdb.execute(f"SELECT * FROM '{campaign.audience_path}' LIMIT 0").description
    manager = "account_manager" if "account_manager" in [d[0] for d in described or []] else "NULL"
    rows = duckdb.execute(
        f"SELECT subscriber_id, {manager}, grid_id, in_control FROM '{campaign.audience_path}'"
    ).fetchall()
    return {sid: (am, grid, control) for sid, am, grid, control in rows}


def _treated(campaign: Campaign, *, manager: str | None, grid: str | None = None) -> list[str]:
    return sorted(
        sid
        for sid, (am, in_grid, control) in _frozen(campaign).items()
        if not control and am == manager and (grid is None or in_grid == grid)
    )


def test_issuing_freezes_each_enterprise_customer_with_their_account_manager(
    split: tuple[Any, Campaign],
) -> None:
    # Given a campaign split by account manager, issued
    _designer, campaign = split

    # When its frozen audience is read
    frozen = _frozen(campaign)

    # Then the bank's members in the segment carry its account manager; nobody else does
    managed = {sid for sid, (am, _grid, _control) in frozen.items() if am is not None}
    assert managed == {sid for sid in BANK if sid in frozen}
    assert {frozen[sid][0] for sid in managed} == {MANAGER_NO}
    assert "S001" not in frozen


def test_an_enterprise_without_an_account_manager_on_the_staff_leaves_its_members_to_the_grid(
    split: tuple[Any, Campaign],
) -> None:
    # Given the logistics firm (no account manager) and the school (one not on the staff)
    _designer, campaign = split

    # When their members' places in the frozen audience are read
    frozen = _frozen(campaign)

    # Then they have no account manager: their grid has them, as before
    assert frozen["S016"][0] is None
    assert frozen["S120"][0] is None


def test_a_customers_own_enterprise_comes_before_their_other_memberships(
    db: None, tmp_path: Path
) -> None:
    # Given a customer of the school (subscribers.enterprise_id) who is also a bank member,
    # and one who is a bank member only (a member belongs to one enterprise: issue 17)
    subscribers = [
        subscriber("S1", grid_id=None, enterprise_id="ENT3"),
        subscriber("S2", grid_id=None),
    ]
    enterprises = [
        {"enterprise_id": "ENT1", "name": "甲银行", "industry": "金融",
         "account_manager_employee_no": "AM1"},
        {"enterprise_id": "ENT3", "name": "丙学校", "industry": "教育",
         "account_manager_employee_no": "AM3"},
    ]  # fmt: skip
    members = [
        {"enterprise_id": enterprise, "subscriber_id": sid}
        for enterprise, sid in (("ENT1", "S1"), ("ENT1", "S2"))
    ]
    files = factories.canonical_files(
        tmp_path, plans=PLANS, enterprises=enterprises, subscribers=subscribers,
        enterprise_members=members,
    )  # fmt: skip
    for table in ("plans", "enterprises", "subscribers", "enterprise_members"):
        import_file(table_name=table, path=files[table])

    # When their account managers are assigned
    assigned = account_manager_assignments(employee_numbers=["AM1", "AM3"]).to_pylist()

    # Then S1 goes with their own enterprise's manager, S2 with the bank's
    assert assigned == [
        {"subscriber_id": "S1", "account_manager": "AM3"},
        {"subscriber_id": "S2", "account_manager": "AM1"},
    ]


def test_an_account_manager_outside_the_campaigns_org_unit_leaves_customers_to_their_grid(
    tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    # Given the bank served by an account manager of city B, and a campaign of city A
    load_city_warehouse(tree, tmp_path)
    factories.staff(at=tree.county_b, employee_no="AM002")
    _load_enterprises(tree, tmp_path, bank="AM002")
    designer = marketer(tree)
    chosen = design(tree, task_split=TaskSplit.ACCOUNT_MANAGER)
    campaign = create_campaign(actor=designer, org_unit=tree.city_a, design=chosen, today=TODAY)
    # City A's half of the customers expects a loss: acknowledged, this test is about issuing.
    campaign = transition(actor=designer, campaign=campaign, move="submit", acknowledge_loss=True)
    approver = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    campaign = transition(actor=approver, campaign=campaign, move="approve", comment="同意")

    # When it is issued
    campaign = transition(actor=designer, campaign=campaign, move="issue", today=TODAY)

    # Then the bank's members in city A stay with their grid, and no manager has a quota
    frozen = _frozen(campaign)
    assert "S000" in frozen
    assert {am for am, _grid, _control in frozen.values()} == {None}
    assert not Quota.objects.filter(account_manager__isnull=False).exists()


def test_an_account_managers_customers_make_their_quota_and_leave_their_grids(
    split: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    # Given the issued campaign's quotas
    _designer, campaign = split
    quotas = {(q.org_unit.code, q.account_manager_id): q for q in Quota.objects.all()}
    manager = Staff.objects.get(employee_no=MANAGER_NO)

    # Then the account manager has a quota of their treated customers, held at their county,
    # and grid A's quota counts only the treated customers of no account manager
    mine = quotas[(tree.county_a.code, manager.pk)]
    assert mine.audience == len(_treated(campaign, manager=MANAGER_NO))
    assert mine.deadline == campaign.ends_on
    assert mine.target >= 1
    grid_a = quotas[(tree.grid_a.code, None)]
    assert grid_a.audience == len(_treated(campaign, manager=None, grid=tree.grid_a.code))


def test_the_account_manager_sees_exactly_their_customers_tasks(
    split: tuple[Any, Campaign], account_manager: Any
) -> None:
    # Given the account manager's login
    _designer, campaign = split

    # When they open their task list
    page = task_list(user=account_manager, page_size=500)

    # Then it holds their treated customers, from both grids, with no store and the deadline
    assert sorted(r.subscriber_id for r in page.rows) == _treated(campaign, manager=MANAGER_NO)
    assert page.rows
    assert {r.account_manager for r in page.rows} == {MANAGER_NO}
    assert {r.account_manager_name for r in page.rows} == {"黄经理"}
    assert {r.store_id for r in page.rows} == {None}
    assert {r.deadline for r in page.rows} == {campaign.ends_on}


def test_a_grid_manager_no_longer_lists_the_account_managers_customers(
    split: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    # Given grid A's manager
    _designer, campaign = split
    grid_manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)

    # When they open their task list
    page = task_list(user=grid_manager, page_size=500)

    # Then it holds grid A's treated customers of no account manager, each with a store
    expected = _treated(campaign, manager=None, grid=tree.grid_a.code)
    assert sorted(r.subscriber_id for r in page.rows) == expected
    assert {r.account_manager for r in page.rows} == {None}
    assert None not in {r.store_id for r in page.rows}


def test_the_account_managers_county_manager_follows_their_tasks(
    split: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    # Given county A's manager, over the account manager's county
    _designer, campaign = split
    county_manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    # When they filter their task list by the account manager
    page = task_list(
        user=county_manager, filters=TaskFilters(account_manager=MANAGER_NO), page_size=500
    )

    # Then they see the manager's customers, those of grid B included
    assert sorted(r.subscriber_id for r in page.rows) == _treated(campaign, manager=MANAGER_NO)


def test_another_countys_manager_does_not_see_the_account_managers_customers_in_their_grid(
    split: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    # Given county B's manager, whose grid B holds some of the account manager's customers
    _designer, campaign = split
    in_grid_b = _treated(campaign, manager=MANAGER_NO, grid=tree.grid_b.code)
    county_manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b)

    # When they open their task list
    page = task_list(user=county_manager, page_size=500)

    # Then grid B's own tasks are there and the account manager's are not
    listed = {r.subscriber_id for r in page.rows}
    assert in_grid_b
    assert listed.isdisjoint(in_grid_b)
    assert listed == set(_treated(campaign, manager=None, grid=tree.grid_b.code))


def test_an_account_manager_records_an_outcome_at_their_own_unit(
    split: tuple[Any, Campaign], tree: factories.Tree, account_manager: Any
) -> None:
    # Given one of the account manager's customers
    _designer, campaign = split
    customer = _treated(campaign, manager=MANAGER_NO)[0]

    # When they record an acceptance
    record_outcome(
        actor=account_manager, campaign=campaign, subscriber_id=customer,
        outcome=ContactOutcome.ACCEPTED, note="集团统一续约", at=AN_HOUR_LATER,
    )  # fmt: skip

    # Then it is kept as theirs, at their county, and shows on their list
    [row] = TaskOutcome.objects.all()
    assert row.account_manager == Staff.objects.get(employee_no=MANAGER_NO)
    assert (row.org_unit, row.store_id) == (tree.county_a, "")
    assert list(TaskOutcome.objects.restrict(account_manager)) == [row]
    [listed] = task_list(user=account_manager, filters=TaskFilters(state=TaskState.ACCEPTED)).rows
    assert listed.subscriber_id == customer


def test_an_account_manager_cannot_record_a_grids_customer(
    split: tuple[Any, Campaign], tree: factories.Tree, account_manager: Any
) -> None:
    _designer, campaign = split
    grid_customer = _treated(campaign, manager=None, grid=tree.grid_a.code)[0]

    with pytest.raises(ServiceError, match="grid whose tasks you may not record") as caught:
        record_outcome(
            actor=account_manager, campaign=campaign, subscriber_id=grid_customer,
            outcome=ContactOutcome.CONTACTED, at=AN_HOUR_LATER,
        )  # fmt: skip

    assert caught.value.field == "subscriber_id"
    assert not TaskOutcome.objects.exists()


def test_a_grid_manager_cannot_record_the_account_managers_customer_in_their_grid(
    split: tuple[Any, Campaign], tree: factories.Tree
) -> None:
    _designer, campaign = split
    customer = _treated(campaign, manager=MANAGER_NO, grid=tree.grid_a.code)[0]
    grid_manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)

    with pytest.raises(ServiceError, match="task list of account manager 黄经理") as caught:
        record_outcome(
            actor=grid_manager, campaign=campaign, subscriber_id=customer,
            outcome=ContactOutcome.CONTACTED, at=AN_HOUR_LATER,
        )  # fmt: skip

    assert caught.value.field == "subscriber_id"


def test_the_account_managers_outcomes_count_in_their_progress_not_their_grids(
    split: tuple[Any, Campaign], tree: factories.Tree, account_manager: Any
) -> None:
    # Given two of the account manager's customers in grid A reached, one accepting
    _designer, campaign = split
    first, second = _treated(campaign, manager=MANAGER_NO, grid=tree.grid_a.code)[:2]
    for customer, outcome in ((first, ContactOutcome.ACCEPTED), (second, ContactOutcome.REFUSED)):
        record_outcome(
            actor=account_manager, campaign=campaign, subscriber_id=customer, outcome=outcome,
            at=AN_HOUR_LATER,
        )  # fmt: skip

    # When the campaign's progress is read
    progress = execution_progress(campaign=campaign, today=TODAY)

    # Then the account manager's row has both contacts and the taker; grid A's has neither
    [mine] = [p for p in progress if p.account_manager is not None]
    grid_a = next(
        p for p in progress if p.account_manager is None and p.unit.code == tree.grid_a.code
    )
    assert mine.account_manager is not None
    assert (mine.unit, mine.account_manager.employee_no) == (tree.county_a, MANAGER_NO)
    assert (mine.contacted, mine.responders) == (2, 1)
    assert (grid_a.contacted, grid_a.responders) == (0, 0)


def test_an_account_manager_behind_plan_is_warned_themselves(
    split: tuple[Any, Campaign], account_manager: Any
) -> None:
    # Given nobody has taken the offer by mid-window
    _designer, campaign = split

    # When the day's warnings are raised
    raise_warnings(campaign=campaign, today=MID)

    # Then the account manager's warning is theirs and goes to their own login
    warning = EarlyWarning.objects.get(account_manager__employee_no=MANAGER_NO)
    assert [entry["user_id"] for entry in warning.delivered] == [account_manager.pk]
    assert EarlyWarning.objects.filter(account_manager__isnull=True).exists()


def test_a_campaign_split_by_grid_keeps_enterprise_customers_with_their_grid(
    tree: factories.Tree, city: Snapshot, tmp_path: Path, account_manager: Any
) -> None:
    # Given the same enterprises, and a campaign left split by grid and store (the default)
    load_city_warehouse(tree, tmp_path)
    _load_enterprises(tree, tmp_path)
    designer, campaign = _issue(tree, TaskSplit.GRID)

    # When its task step goes out
    dispatch_tasks(designer, campaign, text="上门拜访集团客户，介绍续约优惠")

    # Then the account manager has no quota and no task, and the bank's members are grid tasks
    assert not Quota.objects.filter(account_manager__isnull=False).exists()
    assert task_list(user=account_manager).total == 0
    rows = {r.subscriber_id: r for r in task_list(user=None, page_size=500).rows}
    bank = [sid for sid in _treated(campaign, manager=None) if sid in BANK]
    assert bank
    assert all(rows[sid].account_manager is None and rows[sid].grid_id for sid in bank)


def test_splitting_by_account_manager_needs_the_task_channel(
    tree: factories.Tree, city: Snapshot
) -> None:
    # Given a design split by account manager with SMS only
    chosen = design(tree, channels=[Channel.SMS], task_split=TaskSplit.ACCOUNT_MANAGER)

    # When it is created, then it is refused naming the field
    with pytest.raises(ServiceError, match="only in a campaign with the task channel") as caught:
        create_campaign(actor=marketer(tree), org_unit=tree.province, design=chosen, today=TODAY)
    assert caught.value.field == "task_split"


def test_the_account_manager_works_their_list_in_the_console(
    split: tuple[Any, Campaign], account_manager: Any, client: Any
) -> None:
    # Given the account manager logged in
    _designer, campaign = split
    client.force_login(account_manager)
    mine = _treated(campaign, manager=MANAGER_NO)

    # When they open the task list
    page = client.get("/campaigns/tasks/")

    # Then their customers are listed under their name, and they may filter by themselves
    body = page.content.decode()
    assert page.status_code == 200
    assert all(f'id="task-{campaign.pk}-{sid}"' in body for sid in mine)
    assert page.context["result"].total == len(mine)
    assert "黄经理" in body
    choices = dict(page.context["form"].fields["account_manager"].choices)
    assert set(choices) == {"", MANAGER_NO}


def test_an_account_managers_list_downloads_as_a_workbook(
    split: tuple[Any, Campaign], account_manager: Any, client: Any
) -> None:
    # Given the account manager logged in
    _designer, campaign = split
    client.force_login(account_manager)

    # When they download their list
    answer = client.get(
        f"/campaigns/tasks/tasks.xlsx?account_manager={MANAGER_NO}", HTTP_ACCEPT_LANGUAGE="en"
    )

    # Then it has one row per customer of theirs, with their name as the account manager
    rows = list(load_workbook(io.BytesIO(answer.content)).active.iter_rows(values_only=True))
    header = list(rows[0])
    assert answer["Content-Disposition"] == f'attachment; filename="tasks-{MANAGER_NO}.xlsx"'
    assert sorted(r[header.index("Subscriber ID")] for r in rows[1:]) == _treated(
        campaign, manager=MANAGER_NO
    )
    assert {r[header.index("Account manager")] for r in rows[1:]} == {"黄经理"}
