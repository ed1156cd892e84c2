"""The home page of each demo role: the scope's key figures from the snapshot's summary, each
a link to its page; campaigns in flight, warnings and to-dos; and only the pages that exist
and that the role may open (no card or menu entry promises more)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from django.test import Client
from django.urls import resolve

from quanwang.campaigns.choices import CampaignState
from quanwang.campaigns.models import Campaign
from quanwang.campaigns.segments import save_segment
from quanwang.core.choices import Role
from quanwang.insight import services, summary
from quanwang.insight.choices import ValueTier
from quanwang.insight.snapshots import Snapshot, SnapshotStore
from quanwang.web.home import key_figures
from tests import factories

# Where each demo login stands (README: the demo logins).
DEMO_ROLES = {
    Role.PROVINCE_ADMIN: "province",
    Role.CITY_MARKETER: "city_a",
    Role.COUNTY_MANAGER: "county_a",
    Role.GRID_MANAGER: "grid_a",
    Role.ACCOUNT_MANAGER: "county_a",
    Role.CHANNEL_MANAGER: "city_a",
    Role.AGENCY: "province",
    Role.AUDITOR: "province",
}
# Links of the layout that are no console page.
NOT_PAGES = ("/logout/", "/i18n/", "/scope/", "/static/")

WIDE = pa.schema(
    [
        ("subscriber_id", pa.string()), ("grid_id", pa.string()), ("value_tier", pa.string()),
        ("revenue_window", pa.float64()), ("switching_cost", pa.float64()),
        ("churn_risk", pa.float64()), ("churn_reasons", pa.string()), ("arpu_m1", pa.float64()),
    ]
)  # fmt: skip


def snapshot(month: str, rows: list[dict[str, Any]], *, with_summary: bool = True) -> Snapshot:
    """A complete snapshot of `month` whose wide table holds `rows`, with its summary."""
    store = SnapshotStore()
    run_id, staging = store.begin(month)
    (staging / "wide").mkdir()
    records = [{"subscriber_id": f"S{i:04d}"} | row for i, row in enumerate(rows)]
    pq.write_table(pa.Table.from_pylist(records, schema=WIDE), staging / "wide" / "p.parquet")
    done = store.complete(
        staging,
        Snapshot(
            month=month, run_id=run_id, engine="duckdb", created=f"{month}-{run_id}",
            rows=len(rows), seconds=0.0,
        ),
    )  # fmt: skip
    if with_summary:
        built = summary.build(wide=done.path / "wide", units=services.org_grids(), run_id=run_id)
        summary.write(done.path, built)
    return done


def customers(grid: str, n: int, *, risk: float, arpu: float, tier: ValueTier) -> list[dict]:
    return [
        {
            "grid_id": grid, "value_tier": tier, "revenue_window": arpu * 6,
            "switching_cost": 40.0, "churn_risk": risk, "arpu_m1": arpu,
        }
        for _ in range(n)
    ]  # fmt: skip


def links(body: str) -> set[str]:
    """The console pages a page links to (paths, without query or fragment)."""
    found = {m.split("#")[0].split("?")[0] for m in re.findall(r'href="(/[^"]*)"', body)}
    return {path for path in found if path and not path.startswith(NOT_PAGES)}


def login_as(client: Client, tree: factories.Tree, role: Role) -> Any:
    user = factories.user(role=role, at=getattr(tree, DEMO_ROLES[role]))
    client.force_login(user)
    return user


@pytest.fixture
def city(tree: factories.Tree) -> None:
    """Two months of snapshots: grid A's churn risk rises from May to June, grid B's is flat."""
    snapshot(
        "2024-05",
        customers(tree.grid_a.code, 10, risk=0.02, arpu=50, tier=ValueTier.REGULAR)
        + customers(tree.grid_b.code, 10, risk=0.05, arpu=80, tier=ValueTier.LARGE),
    )
    snapshot(
        "2024-06",
        customers(tree.grid_a.code, 8, risk=0.03, arpu=50, tier=ValueTier.REGULAR)
        + customers(tree.grid_a.code, 2, risk=0.03, arpu=60_000, tier=ValueTier.KEY)
        + customers(tree.grid_b.code, 10, risk=0.05, arpu=80, tier=ValueTier.LARGE),
        with_summary=False,  # the home page builds the newest one's, as the dashboard does
    )


@pytest.mark.parametrize("role", list(DEMO_ROLES))
def test_each_roles_home_links_only_to_pages_it_may_open(
    role: Role, tree: factories.Tree, city: None, client: Client
) -> None:
    # Given a login of each demo role
    login_as(client, tree, role)

    # When they open the home page
    home = client.get("/")
    assert home.status_code == 200
    pages = links(home.content.decode())

    # Then every page it links to exists and opens for them
    assert pages, "the home page links to no page"
    for path in sorted(pages):
        resolve(path)
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("role", list(DEMO_ROLES))
def test_no_capability_card_or_menu_promises_a_page_that_does_not_exist(
    role: Role, tree: factories.Tree, client: Client, db: None
) -> None:
    login_as(client, tree, role)

    body = client.get("/").content.decode()

    # The old card's promises: enterprise, channel, loyalty and KPI pages that do not exist.
    for promise in ("政企、渠道", "客户忠诚度", "KPI 考核", "enterprise, channels, loyalty, KPIs"):
        assert promise not in body
    # A capability shows only with a page in it.
    for card in re.findall(r'<article class="card">(.*?)</article>', body, flags=re.S):
        assert "<li><a href=" in card
    assert 'class="cap cap-empty"' not in body


def test_the_auditor_sees_no_upload_or_import_button_anywhere_it_can_go(
    tree: factories.Tree, city: None, client: Client
) -> None:
    login_as(client, tree, Role.AUDITOR)

    home = client.get("/").content.decode()
    pages = links(home)
    bodies = [home] + [client.get(path).content.decode() for path in sorted(pages)]

    assert "/data/import/" not in pages
    assert "/org-units/import/" not in pages
    for body in bodies:
        assert 'type="file"' not in body
        assert "enctype=" not in body


def test_the_county_managers_figures_are_those_of_its_grids_and_link_to_their_pages(
    tree: factories.Tree, city: None, client: Client
) -> None:
    # Given a county manager of county A (grid A: 10 customers in June)
    login_as(client, tree, Role.COUNTY_MANAGER)

    # When they open the home page
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    figures = response.context["figures"]
    body = response.content.decode()

    # Then the figures are county A's of June, from the summary
    assert figures.month == "2024-06"
    assert figures.customers == 10
    assert figures.revenue == pytest.approx(8 * 50 + 2 * 60_000)
    assert figures.churn_rate == pytest.approx(0.03)
    # with the trend since May (2% → 3%)
    assert [p.month for p in figures.churn_trend] == ["2024-05", "2024-06"]
    assert figures.churn_change == pytest.approx(0.01)
    assert {t.tier: t.customers for t in figures.tiers}[ValueTier.KEY] == 2
    # and each figure is a link to the customer value page
    for figure in ("customers", "revenue", "churn"):
        href = re.search(rf'id="figure-{figure}" href="([^"]+)"', body)
        assert href, figure
        assert resolve(href.group(1).split("#")[0]).view_name == "insight:dashboard"
    # The month's revenue is large: in 万元, the exact amount on hover.
    assert 'title="120,400.00 yuan">12.0 × 10k yuan</span>' in body
    assert "↑ +1.00 points on the month before" in body


def test_the_figures_are_kept_for_a_minute_per_user_and_scope(
    tree: factories.Tree, city: None
) -> None:
    # Given a county manager who saw the figures once
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    first = key_figures(user=county)
    assert first is not None
    assert first.customers == 10

    # When the summary changes (it never does for a snapshot; here to see what is read)
    newest = SnapshotStore().latest()
    assert newest is not None
    data = json.loads((newest.path / summary.SUMMARY).read_text())
    data["units"][tree.county_a.code]["figures"]["values"]["customers"] = 999
    summary.write(newest.path, data)

    # Then they get the kept figures within the minute; another login reads the new ones
    assert key_figures(user=county) is not None
    assert key_figures(user=county).customers == 10  # type: ignore[union-attr]
    colleague = key_figures(user=factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))
    assert colleague is not None
    assert colleague.customers == 999


def test_an_agency_sees_no_figures_and_no_analysis_link(
    tree: factories.Tree, city: None, client: Client
) -> None:
    login_as(client, tree, Role.AGENCY)

    response = client.get("/")

    assert response.context["figures"] is None
    assert "/insight/" not in response.content.decode()


def test_an_approver_sees_the_campaigns_waiting_for_them_on_the_home_page_and_in_the_menu(
    tree: factories.Tree, city: None, client: Client
) -> None:
    # Given two submitted campaigns in city A: one by someone else, one by the approver
    approver = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    designer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    version = save_segment(
        actor=None,
        name="合约到期",
        rule={"field": "arpu_m1", "op": ">", "value": 10},
        org_unit=tree.county_a,
    )
    for name, author in (("七月续约", designer), ("我的营销案", approver)):
        Campaign.objects.create(
            name=name, campaign_type="retention", hypothesis="h", objective_metric="m",
            objective_target=1, objective_deadline=dt.date(2024, 8, 31),
            segment_version=version, starts_on=dt.date(2024, 7, 1),
            ends_on=dt.date(2024, 8, 31), budget=1000, org_unit=tree.county_a,
            state=CampaignState.SUBMITTED, created_by=author,
            estimate={"net_revenue": [-60000, -43503, 2000]},
        )  # fmt: skip
    client.force_login(approver)

    # When they open the home page
    response = client.get("/")
    body = response.content.decode()

    # Then one waits for them (nobody approves their own), in the list and as the menu's badge
    todos = response.context["todos"]
    assert todos.approvals_count == 1
    assert [t.campaign.name for t in todos.approvals] == ["七月续约"]
    # (with the designer's loss warning: its expected net is negative)
    [waiting] = todos.approvals
    assert waiting.expects_loss
    assert f'id="todo-loss-{waiting.campaign.pk}"' in body
    assert re.search(r'id="nav-todos" href="/#todos">[^<]*<span class="badge">1</span>', body)
    assert client.get("/campaigns/").content.decode().count('<span class="badge">1</span>') == 1


def test_a_grid_manager_has_no_to_do_badge(tree: factories.Tree, client: Client, db: None) -> None:
    login_as(client, tree, Role.GRID_MANAGER)

    body = client.get("/").content.decode()

    assert 'id="nav-todos"' not in body
    assert 'id="todos"' not in body


def test_with_no_snapshot_the_home_page_says_so(
    tree: factories.Tree, client: Client, db: None, settings: Any
) -> None:
    assert not (Path(settings.VAR_DIR) / "insight").exists()
    login_as(client, tree, Role.CITY_MARKETER)

    response = client.get("/")

    assert response.context["figures"] is None
    assert 'id="key-figures"' in response.content.decode()
