from __future__ import annotations

from django.contrib.auth import get_user_model

from quanwang.core.models import OrgUnit, RoleAssignment, Staff
from quanwang.data.customers import customer_360, search
from quanwang.data.demo import LOAD_ORDER, build_operator_demo
from quanwang.data.warehouse import Warehouse


def test_the_demo_operator_is_generated_imported_and_usable(db: None) -> None:
    # Given a small demo city built through the importers
    logins = build_operator_demo(subscribers=1500, months=2, seed=3)

    # Then every table is loaded, the org tree and staff exist, and each role has a login
    store = Warehouse()
    assert all(store.current_file(table) is not None for table in LOAD_ORDER)
    assert OrgUnit.objects.filter(level="grid").exists()
    assert Staff.objects.count() > len(logins)
    assert RoleAssignment.objects.count() == len(logins)

    # And the grid manager finds a customer of their grid in the customer 360
    grid_manager = get_user_model().objects.get(username="grid_manager")
    grid = RoleAssignment.objects.get(user=grid_manager).org_unit
    import duckdb

    subscriber_id = (
        duckdb.connect()
        .execute(
            f"SELECT subscriber_id FROM {store.relation('subscribers')} WHERE grid_id = ? LIMIT 1",
            [grid.code],
        )
        .fetchall()[0][0]
    )
    assert [r["subscriber_id"] for r in search(user=grid_manager, query=subscriber_id)] == [
        subscriber_id
    ]
    assert customer_360(user=grid_manager, subscriber_id=subscriber_id)["usage"]


def test_building_the_demo_twice_changes_nothing(db: None) -> None:
    build_operator_demo(subscribers=500, months=1, seed=5)
    first = Warehouse().count("subscribers"), Staff.objects.count(), OrgUnit.objects.count()

    build_operator_demo(subscribers=500, months=1, seed=5)

    assert (
        Warehouse().count("subscribers"),
        Staff.objects.count(),
        OrgUnit.objects.count(),
    ) == first


def test_the_demo_command_also_builds_the_last_months_snapshot(db: None) -> None:
    from django.core.management import call_command

    from quanwang.insight.snapshots import SnapshotStore

    call_command("demo", "--subscribers", "1500", "--months", "2", "--seed", "3")

    latest = SnapshotStore().latest()
    assert latest is not None
    assert latest.month == "2024-02"
    assert latest.rows > 1000


def test_the_demo_command_fills_the_offer_catalogue_and_drafts_a_campaign(db: None) -> None:
    from django.core.management import call_command

    from quanwang.campaigns.choices import CampaignState, OfferType
    from quanwang.campaigns.models import Campaign, Offer

    call_command("demo", "--subscribers", "1500", "--months", "2", "--seed", "3")
    call_command("demo", "--subscribers", "1500", "--months", "2", "--seed", "3")

    assert set(Offer.objects.values_list("offer_type", flat=True)) == set(OfferType.values)
    # (built twice: one draft and one running campaign, not two of each)
    [campaign] = Campaign.objects.filter(state=CampaignState.DRAFT)
    assert campaign.estimate["treated"] > 0
    names = list(Campaign.objects.values_list("name", flat=True))
    assert len(names) == len(set(names)) == 2
    assert Campaign.objects.filter(state=CampaignState.RUNNING).count() == 1


def test_the_demo_account_manager_is_a_generated_account_manager_with_enterprises(
    db: None,
) -> None:
    # Given the demo city built through the importers
    build_operator_demo(subscribers=1500, months=2, seed=3)

    # When the account_manager login's staff record is looked up
    login = get_user_model().objects.get(username="account_manager")
    staff = Staff.objects.get(user=login)

    # Then it is a generated 政企客户经理 of the login's district who serves enterprises
    import duckdb

    served = (
        duckdb.connect()
        .execute(
            f"SELECT count(*) FROM {Warehouse().relation('enterprises')} "
            "WHERE account_manager_employee_no = ?",
            [staff.employee_no],
        )
        .fetchall()[0][0]
    )
    assert staff.title == "政企客户经理"
    assert staff.org_unit == RoleAssignment.objects.get(user=login).org_unit
    assert served > 0
