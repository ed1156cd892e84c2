"""Campaign design, estimate, approval and issuing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from quanwang.campaigns.choices import CampaignState
from quanwang.campaigns.models import Quota
from quanwang.campaigns.services import create_campaign, transition, update_estimate
from quanwang.core.choices import Role
from quanwang.core.errors import ServiceError
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import TODAY, approved, design, marketer, offer


def test_a_draft_carries_an_estimate_range_with_its_assumptions(
    tree: factories.Tree, city: Snapshot
) -> None:
    campaign = create_campaign(
        actor=marketer(tree), org_unit=tree.province, design=design(tree), today=TODAY
    )

    estimate = campaign.estimate
    low, mid, high = estimate["net_revenue"]
    assert estimate["treated"] == 45  # 50 customers, 10% held out
    assert low < mid < high
    names = {a["name"]: a for a in estimate["assumptions"]}
    assert names["offer_cost_per_taker"]["value"] == 30
    assert names["incremental_monthly_revenue"]["source"].startswith("mean ARPU")


def test_an_assumption_changed_by_the_marketer_moves_the_range(
    tree: factories.Tree, city: Snapshot
) -> None:
    designer = marketer(tree)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=design(tree), today=TODAY
    )

    changed = update_estimate(
        actor=designer, campaign=campaign, overrides={"take_rate_expected": 0.5}
    )

    assert changed.estimate["takers"][1] > campaign.estimate["takers"][1]
    sources = {a["name"]: a["source"] for a in changed.estimate["assumptions"]}
    assert sources["take_rate_expected"] == "override"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"starts_on": dt.date(2024, 6, 1)}, "starts_on"),
        ({"ends_on": dt.date(2024, 6, 30), "starts_on": dt.date(2024, 7, 2)}, "ends_on"),
        ({"channels": []}, "channels"),
        ({"hypothesis": "  "}, "hypothesis"),
        ({"control_share": Decimal("0.9")}, "control_share"),
    ],
)
def test_a_design_that_cannot_run_is_refused_naming_the_field(
    tree: factories.Tree, city: Snapshot, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ServiceError) as refused:
        create_campaign(
            actor=marketer(tree), org_unit=tree.province, design=design(tree, **fields),
            today=TODAY,
        )  # fmt: skip

    assert refused.value.field == field


def test_an_offer_past_its_validity_is_refused(tree: factories.Tree, city: Snapshot) -> None:
    stale = offer(
        tree, code="OLD", valid_from=dt.date(2024, 1, 1), valid_until=dt.date(2024, 6, 30)
    )

    with pytest.raises(ServiceError, match="OLD") as refused:
        create_campaign(
            actor=marketer(tree), org_unit=tree.province,
            design=design(tree, offers=[stale]), today=TODAY,
        )  # fmt: skip

    assert refused.value.field == "offers"


def test_the_designer_cannot_approve_their_own_campaign(
    tree: factories.Tree, city: Snapshot
) -> None:
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    campaign = create_campaign(
        actor=admin, org_unit=tree.province, design=design(tree), today=TODAY
    )
    campaign = transition(actor=admin, campaign=campaign, move="submit")

    with pytest.raises(ServiceError, match="own campaign"):
        transition(actor=admin, campaign=campaign, move="approve")


def test_an_approval_by_someone_without_the_right_is_refused(
    tree: factories.Tree, city: Snapshot
) -> None:
    designer = marketer(tree)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=design(tree), today=TODAY
    )
    campaign = transition(actor=designer, campaign=campaign, move="submit")
    another_marketer = marketer(tree)

    with pytest.raises(ServiceError, match="may not approve"):
        transition(actor=another_marketer, campaign=campaign, move="approve")

    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SUBMITTED


def test_a_rejection_needs_a_reason_and_sends_the_campaign_back_to_draft(
    tree: factories.Tree, city: Snapshot
) -> None:
    designer = marketer(tree)
    approver = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=design(tree), today=TODAY
    )
    campaign = transition(actor=designer, campaign=campaign, move="submit")

    with pytest.raises(ServiceError):
        transition(actor=approver, campaign=campaign, move="reject")
    campaign = transition(actor=approver, campaign=campaign, move="reject", comment="预算过高")
    campaign = transition(actor=designer, campaign=campaign, move="revise")

    history = [(e.to_state, e.comment) for e in campaign.events.all()]
    assert history[-2:] == [(CampaignState.REJECTED, "预算过高"), (CampaignState.DRAFT, "")]
    assert [e.to_state for e in campaign.events.all()][:2] == [
        CampaignState.DRAFT, CampaignState.SUBMITTED,
    ]  # fmt: skip


def test_issuing_freezes_the_audience_holds_out_control_and_splits_quotas(
    tree: factories.Tree, city: Snapshot
) -> None:
    # Given an approved campaign over everyone with ARPU ≥ 10 (all 200 customers)
    designer = marketer(tree)
    everyone = design(tree, rule={"field": "arpu_3m", "op": ">=", "value": 10})
    campaign = approved(tree, designer, everyone)

    # When it is issued
    issued = transition(actor=designer, campaign=campaign, move="issue", today=TODAY)

    # Then 200 customers are frozen, about 10% held out in each grid, and each grid has a quota
    frozen = duckdb.sql(
        f"SELECT grid_id, count(*), count(*) FILTER (WHERE in_control) "
        f"FROM '{issued.audience_path}' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert issued.state == CampaignState.ISSUED
    assert issued.audience_size == 200
    assert [(g, n) for g, n, _c in frozen] == [(tree.grid_a.code, 100), (tree.grid_b.code, 100)]
    assert all(8 <= c <= 12 for _g, _n, c in frozen)
    quotas = {
        q.org_unit.code: (q.audience, q.deadline) for q in Quota.objects.filter(campaign=issued)
    }
    treated_a = 100 - frozen[0][2]
    assert quotas[tree.grid_a.code] == (treated_a, dt.date(2024, 8, 31))


def test_the_control_split_is_reproducible_by_seed(tree: factories.Tree, city: Snapshot) -> None:
    designer = marketer(tree)
    rule = {"field": "arpu_3m", "op": ">=", "value": 10}

    def control_of(seed: int) -> list[str]:
        seeded = design(tree, rule=rule, seed=seed, name=f"seed {seed}")
        issued = transition(
            actor=designer, campaign=approved(tree, designer, seeded), move="issue", today=TODAY
        )
        rows = duckdb.sql(
            f"SELECT subscriber_id FROM '{issued.audience_path}' WHERE in_control ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]

    assert control_of(7) == control_of(7)
    assert control_of(7) != control_of(8)


def test_a_segment_whose_field_disappeared_is_refused_at_issue(
    tree: factories.Tree, city: Snapshot
) -> None:
    designer = marketer(tree)
    campaign = approved(tree, designer)
    version = campaign.segment_version
    version.rule = {"field": "retired_score", "op": ">", "value": 1}
    version.save()

    with pytest.raises(ServiceError, match="retired_score"):
        transition(actor=designer, campaign=campaign, move="issue", today=TODAY)

    campaign.refresh_from_db()
    assert campaign.state == CampaignState.APPROVED
    assert campaign.audience_path == ""


def test_a_segment_with_no_customers_in_the_campaigns_unit_is_not_issued(
    tree: factories.Tree, city: Snapshot
) -> None:
    designer = marketer(tree)
    campaign = approved(
        tree, designer, design(tree, rule={"field": "arpu_3m", "op": ">", "value": 10_000})
    )

    with pytest.raises(ServiceError, match="selects no customers"):
        transition(actor=designer, campaign=campaign, move="issue", today=TODAY)
