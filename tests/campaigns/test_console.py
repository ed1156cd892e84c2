"""The campaign pages: segment builder preview, campaign creation and its steps, in scope."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from quanwang.campaigns.choices import CampaignState
from quanwang.campaigns.models import Campaign
from quanwang.campaigns.services import create_campaign, execution_progress, transition
from quanwang.core.choices import Role
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import EXPIRING, TODAY, approved, design, marketer


def test_the_live_preview_shows_the_count_and_the_rule_in_words(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    client.force_login(marketer(tree))

    response = client.post("/campaigns/segments/preview/", {"rule": json.dumps(EXPIRING)})

    body = response.content.decode()
    assert response.context["preview"].count == 50
    assert "合约3个月内到期" in body


def test_the_preview_names_a_field_that_does_not_exist(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    client.force_login(marketer(tree))

    response = client.post(
        "/campaigns/segments/preview/", {"rule": '{"field": "nope", "op": ">", "value": 1}'}
    )

    assert "nope" in response.context["error"]


def test_a_marketer_saves_a_segment_then_designs_a_campaign_from_the_console(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a city marketer who saves a segment on the builder page
    client.force_login(marketer(tree))
    saved = client.post(
        "/campaigns/segments/", {"name": "到期", "rule": json.dumps(EXPIRING), "description": ""}
    )
    assert saved.status_code == 302
    form = client.get("/campaigns/new/").context["form"]
    [version] = list(form.fields["segment_version"].queryset)

    # When they create a campaign on it
    start = dt.date.today() + dt.timedelta(days=1)
    created = client.post(
        "/campaigns/new/",
        {
            "name": "续约关怀", "campaign_type": "retention", "hypothesis": "到期前关怀可降低离网",
            "objective_metric": "续约数", "objective_target": "10",
            "objective_deadline": str(start + dt.timedelta(days=30)),
            "segment_version": version.pk, "channels": ["sms"], "starts_on": str(start),
            "ends_on": str(start + dt.timedelta(days=30)), "budget": "1000",
            "control_share": "10", "seed": "3",
        },
    )  # fmt: skip

    # Then it is a draft with an estimate, and the page offers to submit it
    campaign = Campaign.objects.get()
    assert created.status_code == 302
    assert campaign.state == CampaignState.DRAFT
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="move-submit"' in page
    assert 'id="estimate"' in page


def test_another_citys_county_manager_does_not_see_the_campaign(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    from tests.campaigns.test_campaigns import TODAY

    campaign = create_campaign(actor=None, org_unit=tree.city_a, design=design(tree), today=TODAY)
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b))

    assert client.get(f"/campaigns/{campaign.pk}/").status_code == 404
    assert client.get("/campaigns/").context["campaigns"].count() == 0


def test_an_issued_campaign_page_shows_quota_progress_and_the_dispatch_form(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    designer = marketer(tree)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )
    client.force_login(designer)

    page = client.get(f"/campaigns/{campaign.pk}/")

    body = page.content.decode()
    assert [p.unit.code for p in page.context["progress"]] == [tree.grid_a.code, tree.grid_b.code]
    assert f"/campaigns/{campaign.pk}/dispatch/" in body
    assert f"/campaigns/{campaign.pk}/responses/" in body


def test_responses_uploaded_on_the_page_are_counted_and_reported(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    designer = marketer(tree)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )
    client.force_login(designer)
    upload = SimpleUploadedFile(
        "orders.csv",
        f"campaign_id,subscriber_id,revenue\n{campaign.pk},S000,20\n{campaign.pk},S001,20\n".encode(),
    )

    page = client.post(f"/campaigns/{campaign.pk}/responses/", {"file": upload})

    report = page.context["response_report"]
    assert (report.loaded, report.quarantined) == (1, 1)


def test_a_unit_behind_plan_at_mid_window_is_flagged(tree: factories.Tree, city: Snapshot) -> None:
    designer = marketer(tree)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )

    early = execution_progress(campaign=campaign, today=campaign.starts_on + dt.timedelta(days=5))
    late = execution_progress(campaign=campaign, today=campaign.ends_on)

    assert not any(p.behind for p in early)
    assert all(p.behind for p in late)
