"""A refused form on a campaign's page shows the page again, in the console's layout with its
navigation, with the error next to the field (status 200); never a bare 400 page."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from quanwang.campaigns.choices import CampaignState
from quanwang.campaigns.services import create_campaign, transition
from quanwang.core.choices import Role
from quanwang.core.models import Job
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import TODAY, approved, design, marketer

NAV = '<nav class="capabilities"'
# The pages in English, so the errors read as their msgids.
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _submitted(tree: factories.Tree) -> Any:
    designer = marketer(tree)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=design(tree), today=TODAY
    )
    return transition(actor=designer, campaign=campaign, move="submit")


def test_rejecting_without_a_reason_shows_the_page_with_the_error_next_to_the_comment(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a submitted campaign and an approver
    campaign = _submitted(tree)
    client.force_login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))

    # When they reject it without saying why
    response = client.post(f"/campaigns/{campaign.pk}/reject/", {"comment": "  "}, **ENGLISH)

    # Then the campaign page comes back with the error under the comment, the navigation kept
    body = response.content.decode()
    assert response.status_code == 200
    assert NAV in body
    assert response.context["move_form"].errors["comment"] == ["Say why the campaign is rejected."]
    assert 'class="field has-error"' in body
    assert 'id="move-reject"' in body
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SUBMITTED


def test_a_refusal_with_no_field_shows_above_the_form(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a designer who may approve (a province admin) and submitted their own campaign
    designer = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=design(tree), today=TODAY
    )
    campaign = transition(actor=designer, campaign=campaign, move="submit")
    client.force_login(designer)

    # When they approve it themselves
    response = client.post(f"/campaigns/{campaign.pk}/approve/", {"comment": "好"}, **ENGLISH)

    # Then the page says why not, above the form
    body = response.content.decode()
    assert response.status_code == 200
    assert NAV in body
    assert '<ul class="errors" role="alert"><li>Nobody approves or rejects their own' in body


def test_dispatching_on_a_channel_the_campaign_does_not_use_shows_the_error_by_the_channel(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given an issued campaign sent by SMS and task lists
    designer = marketer(tree)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )
    client.force_login(designer)

    # When its designer dispatches a step on WeChat
    response = client.post(
        f"/campaigns/{campaign.pk}/dispatch/",
        {"step": "w1", "channel": "wechat", "text": "续约有礼"},
        **ENGLISH,
    )

    # Then the page comes back with the error next to the channel, and nothing is sent
    body = response.content.decode()
    assert response.status_code == 200
    assert NAV in body
    [error] = response.context["dispatch_form"].errors["channel"]
    assert "is not one of this campaign's channels" in error
    assert response.context["dispatch_form"]["text"].value() == "续约有礼"
    assert not Job.objects.exists()


def test_a_refused_estimate_keeps_the_page_and_opens_the_assumptions(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    designer = marketer(tree)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=design(tree), today=TODAY
    )
    client.force_login(designer)

    response = client.post(f"/campaigns/{campaign.pk}/estimate/", {"reach": "500"})  # percent

    body = response.content.decode()
    assert response.status_code == 200
    assert NAV in body
    assert response.context["estimate_form"].errors["reach"]
    assert "<details open>" in body


def test_a_response_file_that_is_missing_shows_the_page_with_the_error(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    designer = marketer(tree)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )
    client.force_login(designer)

    response = client.post(f"/campaigns/{campaign.pk}/responses/", {})

    assert response.status_code == 200
    assert NAV in response.content.decode()
    assert response.context["response_form"].errors["file"]


def test_an_id_list_that_cannot_be_read_returns_to_the_segments_page_with_the_error(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    client.force_login(marketer(tree))

    response = client.post(
        "/campaigns/lists/",
        {"name": "名单", "file": SimpleUploadedFile("ids.csv", b"subscriber_id\n \n")},
        follow=True,
    )

    body = response.content.decode()
    assert response.redirect_chain[-1][0] == "/campaigns/segments/"
    assert NAV in body
    assert '<ul class="messages"><li class="error">' in body
    assert "ids.csv" in body


def test_an_auditor_sees_no_form_that_changes_a_campaign(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given an issued campaign (its designer sees the upload and dispatch forms)
    designer = marketer(tree)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )
    client.force_login(designer)
    assert 'type="file"' in client.get(f"/campaigns/{campaign.pk}/").content.decode()

    # When the auditor opens it
    client.force_login(factories.user(role=Role.AUDITOR, at=tree.province))
    page = client.get(f"/campaigns/{campaign.pk}/")

    # Then they read it, with no upload, dispatch or estimate form
    body = page.content.decode()
    assert page.status_code == 200
    assert 'type="file"' not in body
    assert f"/campaigns/{campaign.pk}/responses/" not in body
    assert f"/campaigns/{campaign.pk}/dispatch/" not in body
    assert page.context["estimate_form"] is None
