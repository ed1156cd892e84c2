"""Designing a campaign in the console: drafts edited in the new-campaign form, the estimate's
assumptions in words with units and sources, shares typed as percentages, and a campaign
expected to lose money submitted only with an acknowledgement the approver sees (issue 15,
defect 8)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from django.utils import translation
from django.utils.translation import gettext

from quanwang.campaigns.choices import CampaignState, Channel
from quanwang.campaigns.estimate import Basis, expected_net, loses_money
from quanwang.campaigns.models import Campaign, CampaignEvent
from quanwang.campaigns.results import results_file
from quanwang.campaigns.services import (
    change_campaign,
    create_campaign,
    transition,
    update_estimate,
)
from quanwang.campaigns.templatetags.campaign_estimate import snapshot_month
from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import TODAY, design, marketer, offer

NAV = '<nav class="capabilities"'
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def _losing(tree: factories.Tree, **fields: Any) -> Any:
    """A design whose estimate expects a loss: an offer costing 5,000 yuan per taker."""
    dear = offer(tree, code="DEAR", cost_per_taker=Decimal("5000"))
    return design(tree, **({"offers": [dear]} | fields))


def _upcoming(tree: factories.Tree, **fields: Any) -> Any:
    """A design whose window starts tomorrow (the console checks against today's date)."""
    start = dt.date.today() + dt.timedelta(days=1)
    current = offer(
        tree, code="NOW-30", valid_from=dt.date.today(), valid_until=start + dt.timedelta(days=90)
    )
    values = {
        "starts_on": start,
        "ends_on": start + dt.timedelta(days=30),
        "objective_deadline": start + dt.timedelta(days=30),
        "offers": [current],
    } | fields
    return design(tree, **values)


def _form_data(campaign: Campaign, **changes: Any) -> dict[str, Any]:
    """What the edit form posts back for `campaign`, with `changes`."""
    data: dict[str, Any] = {
        "name": campaign.name,
        "campaign_type": campaign.campaign_type,
        "hypothesis": campaign.hypothesis,
        "objective_metric": campaign.objective_metric,
        "objective_target": str(campaign.objective_target),
        "objective_deadline": str(campaign.objective_deadline),
        "segment_version": campaign.segment_version_id,
        "offers": [o.pk for o in campaign.offers.all()],
        "channels": list(campaign.channels),
        "starts_on": str(campaign.starts_on),
        "ends_on": str(campaign.ends_on),
        "budget": str(campaign.budget),
        "control_share": "10",
        "seed": "1",
    }
    return data | changes


# --- the estimate's assumptions ------------------------------------------------------------


def test_each_assumption_says_where_its_default_came_from(
    tree: factories.Tree, city: Snapshot
) -> None:
    # When a retention campaign is designed on SMS and tasks, with no evaluated one before it
    campaign = create_campaign(
        actor=marketer(tree), org_unit=tree.province, design=design(tree), today=TODAY
    )

    # Then every assumption names its basis, with the facts its words need
    found = {a["name"]: a for a in campaign.estimate["assumptions"]}
    assert {name: a["basis"] for name, a in found.items()} == {
        "reach": Basis.CHANNEL_DEFAULT,
        "take_rate_low": Basis.TYPE_DEFAULT,
        "take_rate_expected": Basis.TYPE_DEFAULT,
        "take_rate_high": Basis.TYPE_DEFAULT,
        "mean_arpu": Basis.SEGMENT_MEAN,
        "monthly_churn_risk": Basis.ASSUMED,  # the city snapshot has no churn model
        "incremental_monthly_revenue": Basis.RETAINED_REVENUE,
        "months": Basis.BENEFIT_WINDOW,
        "offer_cost_per_taker": Basis.OFFERS,
        "contact_cost": Basis.CHANNEL_DEFAULT,
    }
    assert found["reach"]["detail"] == {"channels": {"sms": 0.95, "task": 0.6}}
    assert found["take_rate_expected"]["detail"] == {"type": "retention"}


def test_the_estimate_card_shows_labels_values_with_units_and_sources(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a draft
    designer = marketer(tree)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=design(tree), today=TODAY
    )
    client.force_login(designer)

    # When its page is read
    body = client.get(f"/campaigns/{campaign.pk}/", **ENGLISH).content.decode()

    # Then each assumption has its label, its value in its unit and its source, not its code
    table = body.split('<table id="assumptions">', 1)[1].split("</table>", 1)[0]
    assert "<code>" not in table
    assert "take_rate_expected" not in table.replace('id="assumption-take_rate_expected"', "")
    assert (
        '<tr id="assumption-reach"><td>Reach</td><td>95%</td>'
        '<td class="muted">Channel default, the best channel&#x27;s reach: SMS 95% · '
        "Grid or store task 60%</td></tr>"
    ) in body
    assert (
        "<td>Acceptance rate, expected</td><td>6%</td>"
        '<td class="muted">Default for Retention (维系) campaigns</td>'
    ) in body
    assert "<td>Offer cost per customer who accepts</td><td>30.00 yuan</td>" in body
    assert "<td>Months of benefit</td><td>12 months</td>" in body
    assert "Mean of the segment&#x27;s customers over the last 3 months" in body


def test_the_chinese_page_names_the_assumptions_through_the_translations(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    designer = marketer(tree)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=design(tree), today=TODAY
    )
    client.force_login(designer)

    body = client.get(f"/campaigns/{campaign.pk}/", **CHINESE).content.decode()

    with translation.override("zh-hans"):
        labels = [gettext(m) for m in ("Reach", "Acceptance rate, expected", "Months of benefit")]
        source = gettext("Default for %(type)s campaigns") % {"type": gettext("Retention (维系)")}
    table = body.split('<table id="assumptions">', 1)[1].split("</table>", 1)[0]
    assert "<td>触达率</td>" in table  # already in the catalogue
    for label in labels:
        assert f"<td>{label}</td>" in table
    assert source in table
    # Not the codes and English words the estimate keeps for exports
    assert "default for retention" not in table
    assert "sms 95%" not in table


def test_an_assumption_typed_as_a_percentage_is_kept_as_a_share_and_marked_changed(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a draft
    designer = marketer(tree)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=design(tree), today=TODAY
    )
    client.force_login(designer)

    # When the marketer types an expected acceptance rate of 50 (%) in the assumptions form
    response = client.post(f"/campaigns/{campaign.pk}/estimate/", {"take_rate_expected": "50"})

    # Then the estimate takes 0.5, says a user changed it (from 6%), and the takers follow
    assert response.status_code == 302
    campaign.refresh_from_db()
    found = {a["name"]: a for a in campaign.estimate["assumptions"]}
    assert found["take_rate_expected"]["value"] == 0.5
    assert found["take_rate_expected"]["basis"] == Basis.OVERRIDE
    body = client.get(f"/campaigns/{campaign.pk}/", **ENGLISH).content.decode()
    assert "<strong>50%</strong>" in body
    assert "Changed by the user (default 6%)" in body


def test_the_assumptions_form_asks_only_the_campaigns_own_assumptions_in_percent(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    designer = marketer(tree)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=design(tree), today=TODAY
    )
    client.force_login(designer)

    form = client.get(f"/campaigns/{campaign.pk}/", **ENGLISH).context["estimate_form"]

    assert "uplift_expected" not in form.fields  # not targeted by uplift
    assert str(form.fields["reach"].label) == "Reach (%)"
    assert form.fields["reach"].widget.attrs["placeholder"] == "95"


def _evaluated(tree: factories.Tree, unit: Any, *, contacted: int, took: int) -> Campaign:
    """An evaluated retention campaign of `unit` whose results hold `contacted` contacted treated
    customers, `took` of whom took the offer (and as many control customers)."""
    campaign = create_campaign(
        actor=None, org_unit=unit, design=design(tree, name=f"上次 {unit.code}"), today=TODAY
    )
    Campaign.objects.filter(pk=campaign.pk).update(state=CampaignState.EVALUATED)
    rows = contacted * 2
    path = results_file(campaign.pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(
            {
                "group": ["treated"] * contacted + ["control"] * contacted,
                "contacted": [True] * contacted + [False] * contacted,
                "responded": [i < took for i in range(contacted)] + [True] * contacted,
                "revenue": [0.0] * rows,
            }
        ),
        path,
    )
    return campaign


def test_the_last_evaluated_campaign_of_the_type_gives_the_acceptance_rates(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given an evaluated retention campaign of city A: 10 of its 40 contacted customers took it
    before = _evaluated(tree, tree.city_a, contacted=40, took=10)

    # When city A designs its next retention campaign
    designer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    campaign = create_campaign(
        actor=designer, org_unit=tree.city_a, design=design(tree), today=TODAY
    )

    # Then its expected acceptance rate is the measured 25%, and the page says from where
    found = {a["name"]: a for a in campaign.estimate["assumptions"]}
    assert found["take_rate_expected"]["value"] == pytest.approx(0.25)
    assert found["take_rate_expected"]["basis"] == Basis.PREVIOUS_CAMPAIGN
    assert found["take_rate_low"]["value"] < 0.25 < found["take_rate_high"]["value"]
    client.force_login(designer)
    body = client.get(f"/campaigns/{campaign.pk}/", **ENGLISH).content.decode()
    assert (
        f"Evaluation of the last campaign of the same type #{before.pk}: 25% of the 40 "
        "customers contacted took it"
    ) in body


def test_another_citys_evaluation_and_a_small_one_do_not_replace_the_default(
    tree: factories.Tree, city: Snapshot
) -> None:
    # Given city B's evaluated retention campaign, and one of city A that contacted 10
    _evaluated(tree, tree.city_b, contacted=40, took=10)
    _evaluated(tree, tree.city_a, contacted=10, took=5)

    # When city A designs a retention campaign
    campaign = create_campaign(actor=None, org_unit=tree.city_a, design=design(tree), today=TODAY)

    # Then the type's default stands
    found = {a["name"]: a for a in campaign.estimate["assumptions"]}
    assert found["take_rate_expected"]["basis"] == Basis.TYPE_DEFAULT
    assert found["take_rate_expected"]["value"] == 0.06


# --- shares as percentages, engineering words --------------------------------------------


def test_the_control_share_is_typed_and_shown_as_a_percentage(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a marketer on the new-campaign form
    designer = marketer(tree)
    client.force_login(designer)
    version = design(tree).segment_version
    start = dt.date.today() + dt.timedelta(days=1)
    fields = {
        "name": "续约关怀", "campaign_type": "retention", "hypothesis": "到期前关怀可降低离网",
        "objective_metric": "续约数", "objective_target": "10",
        "objective_deadline": str(start + dt.timedelta(days=30)),
        "segment_version": version.pk, "channels": ["sms"], "starts_on": str(start),
        "ends_on": str(start + dt.timedelta(days=30)), "budget": "1000",
    }  # fmt: skip

    # When they type 0.10, as the old form asked, and then 12.5
    refused = client.post("/campaigns/new/", fields | {"control_share": "0.10"}, **ENGLISH)
    created = client.post("/campaigns/new/", fields | {"control_share": "12.5"})

    # Then 0.10 is refused next to the field (it reads as 0.1%), 12.5 becomes a share of 0.125,
    # and the design card shows 12.5% with no seed
    assert refused.status_code == 200
    assert refused.context["form"].errors["control_share"]
    assert created.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.control_share == Decimal("0.125")
    assert campaign.seed == 1
    body = client.get(f"/campaigns/{campaign.pk}/", **ENGLISH).content.decode()
    card = body.split('id="design"', 1)[1].split("</section>", 1)[0]
    assert '<dd id="control-share">12.5%' in card
    assert "seed" not in card.lower()


def test_the_new_form_keeps_the_seed_under_the_advanced_settings(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    client.force_login(marketer(tree))

    body = client.get("/campaigns/new/", **ENGLISH).content.decode()

    advanced = body.split('<details id="advanced">', 1)[1].split("</details>", 1)[0]
    assert 'name="seed"' in advanced
    assert body.count('name="seed"') == 1
    assert 'name="control_share" value="10"' in body


def test_the_source_snapshot_is_shown_by_its_month() -> None:
    assert snapshot_month("2024-06 · 20240701T020304-ab12cd") == "2024-06"
    assert snapshot_month(None) == ""


# --- editing a draft ----------------------------------------------------------------------


def test_a_draft_opens_prefilled_in_the_new_campaign_form_and_saving_recomputes_the_estimate(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a draft on SMS and tasks, whose expected acceptance rate the marketer changed
    designer = marketer(tree)
    campaign = create_campaign(actor=designer, org_unit=tree.province, design=_upcoming(tree))
    update_estimate(actor=designer, campaign=campaign, overrides={"take_rate_expected": 0.2})
    client.force_login(designer)

    # When they open it for editing
    opened = client.get(f"/campaigns/{campaign.pk}/edit/", **ENGLISH)

    # Then the new-campaign form comes prefilled, the control share in percent
    form = opened.context["form"]
    assert opened.status_code == 200
    assert form.initial["name"] == campaign.name
    assert form.initial["control_share"] == Decimal("10")
    assert form.initial["channels"] == ["sms", "task"]
    assert "Save the changes" in opened.content.decode()

    # When they drop the task channel and save
    saved = client.post(
        f"/campaigns/{campaign.pk}/edit/", _form_data(campaign, name="改后", channels=["sms"])
    )

    # Then the draft has the new design, an estimate recomputed for it (the contact cost is
    # SMS's alone) that keeps the marketer's own rate, and the change on its history
    assert saved.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.channels, campaign.state) == (
        "改后", ["sms"], CampaignState.DRAFT,
    )  # fmt: skip
    found = {a["name"]: a for a in campaign.estimate["assumptions"]}
    assert found["contact_cost"]["value"] == pytest.approx(0.05)
    assert found["take_rate_expected"]["value"] == 0.2
    assert found["take_rate_expected"]["basis"] == Basis.OVERRIDE
    assert campaign.events.filter(actor=designer, to_state=CampaignState.DRAFT).count() == 2


def test_the_campaign_page_offers_the_edit_only_while_it_may_change(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    designer = marketer(tree)
    campaign = create_campaign(actor=designer, org_unit=tree.province, design=_upcoming(tree))
    client.force_login(designer)

    draft = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    transition(actor=designer, campaign=campaign, move="submit")
    submitted = client.get(f"/campaigns/{campaign.pk}/").content.decode()

    assert f'href="/campaigns/{campaign.pk}/edit/"' in draft
    assert f'href="/campaigns/{campaign.pk}/edit/"' not in submitted


def test_a_campaign_sent_back_by_the_approver_can_be_edited(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a campaign the approver rejected
    designer = marketer(tree)
    campaign = create_campaign(actor=designer, org_unit=tree.province, design=_upcoming(tree))
    transition(actor=designer, campaign=campaign, move="submit")
    approver = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    transition(actor=approver, campaign=campaign, move="reject", comment="预算过高")
    client.force_login(designer)

    # When the marketer lowers its budget in the edit form
    saved = client.post(f"/campaigns/{campaign.pk}/edit/", _form_data(campaign, budget="800"))

    # Then it is changed, still rejected until they send it back to draft and submit again
    assert saved.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.budget, campaign.state) == (Decimal("800"), CampaignState.REJECTED)


def test_a_submitted_campaign_refuses_the_edit_on_its_page(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a submitted campaign
    designer = marketer(tree)
    campaign = create_campaign(actor=designer, org_unit=tree.province, design=_upcoming(tree))
    transition(actor=designer, campaign=campaign, move="submit")
    client.force_login(designer)

    # When its designer opens the edit form, or posts it anyway
    opened = client.get(f"/campaigns/{campaign.pk}/edit/", follow=True, **ENGLISH)
    posted = client.post(
        f"/campaigns/{campaign.pk}/edit/", _form_data(campaign, name="偷改"), follow=True,
        **ENGLISH,
    )  # fmt: skip

    # Then the campaign page says why, with its navigation, and nothing changed
    for response in (opened, posted):
        body = response.content.decode()
        assert response.status_code == 200
        assert NAV in body
        assert "only a draft, or one sent back by the approver, can be changed" in body
    campaign.refresh_from_db()
    assert campaign.name != "偷改"
    with pytest.raises(ServiceError):
        change_campaign(actor=designer, campaign=campaign, design=_upcoming(tree, name="偷改"))


def test_another_scopes_user_cannot_open_or_save_the_edit(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a draft of city A
    campaign = create_campaign(actor=None, org_unit=tree.city_a, design=_upcoming(tree))
    outsider = factories.user(role=Role.CITY_MARKETER, at=tree.city_b)
    reader = factories.user(role=Role.AUDITOR, at=tree.province)
    client.force_login(outsider)

    # When city B's marketer, or an auditor who may only read, opens or posts its edit form
    opened = client.get(f"/campaigns/{campaign.pk}/edit/")
    posted = client.post(f"/campaigns/{campaign.pk}/edit/", _form_data(campaign, name="越权"))
    client.force_login(reader)
    read_only = client.get(f"/campaigns/{campaign.pk}/edit/")

    # Then it is not found, and nothing changed
    assert (opened.status_code, posted.status_code, read_only.status_code) == (404, 404, 404)
    with pytest.raises(NotFound):
        change_campaign(actor=outsider, campaign=campaign, design=_upcoming(tree, name="越权"))
    campaign.refresh_from_db()
    assert campaign.name != "越权"


# --- a campaign expected to lose money (defect 8) ----------------------------------------


def test_a_losing_campaign_is_not_submitted_without_an_acknowledgement(
    tree: factories.Tree, city: Snapshot
) -> None:
    # Given a draft whose estimate expects a loss
    designer = marketer(tree)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=_losing(tree), today=TODAY
    )
    assert loses_money(campaign.estimate)

    # When it is submitted without the acknowledgement
    with pytest.raises(ServiceError) as refused:
        transition(actor=designer, campaign=campaign, move="submit")

    # Then it is refused on that field, and the campaign stays a draft
    assert refused.value.field == "acknowledge_loss"
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.DRAFT
    assert not campaign.events.filter(to_state=CampaignState.SUBMITTED).exists()


def test_with_the_acknowledgement_it_is_submitted_and_the_loss_kept_on_its_history(
    tree: factories.Tree, city: Snapshot
) -> None:
    designer = marketer(tree)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=_losing(tree), today=TODAY
    )

    submitted = transition(actor=designer, campaign=campaign, move="submit", acknowledge_loss=True)

    assert submitted.state == CampaignState.SUBMITTED
    event = CampaignEvent.objects.get(campaign=campaign, to_state=CampaignState.SUBMITTED)
    net = expected_net(campaign.estimate)
    assert net is not None
    assert event.acknowledged_net == Decimal(str(round(net, 2)))
    assert event.acknowledged_net < 0
    # A second submit (a double click) is refused: it is no longer a draft
    with pytest.raises(ServiceError):
        transition(actor=designer, campaign=campaign, move="submit", acknowledge_loss=True)
    assert campaign.events.filter(to_state=CampaignState.SUBMITTED).count() == 1


def test_the_page_refuses_a_losing_submit_next_to_the_checkbox_then_takes_it_ticked(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a losing draft on its page: the loss in red, the checkbox by the submit button
    designer = marketer(tree)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=_losing(tree), today=TODAY
    )
    client.force_login(designer)
    page = client.get(f"/campaigns/{campaign.pk}/", **ENGLISH).content.decode()
    assert 'id="loss-warning"' in page
    assert '<td class="error loss">' in page.split('id="net-revenue"', 1)[1].split("</tr>")[0]
    assert 'name="acknowledge_loss"' in page

    # When it is submitted without ticking it
    refused = client.post(f"/campaigns/{campaign.pk}/submit/", {"comment": ""}, **ENGLISH)

    # Then the page comes back, navigation kept, the reason next to the checkbox
    body = refused.content.decode()
    assert refused.status_code == 200
    assert NAV in body
    box = body.split('id="acknowledge-loss"', 1)[1].split("</div>", 1)[0]
    assert "The estimate expects this campaign to lose money" in box
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.DRAFT

    # When it is ticked
    taken = client.post(f"/campaigns/{campaign.pk}/submit/", {"acknowledge_loss": "on"})

    # Then it is submitted
    assert taken.status_code == 302
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SUBMITTED


def test_the_approver_sees_the_loss_and_who_acknowledged_it_before_approving(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a losing campaign submitted with the acknowledgement
    designer = marketer(tree, username="li.marketer")
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=_losing(tree), today=TODAY
    )
    transition(actor=designer, campaign=campaign, move="submit", acknowledge_loss=True)
    approver = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    client.force_login(approver)

    # When the approver opens it
    body = client.get(f"/campaigns/{campaign.pk}/", **ENGLISH).content.decode()

    # Then the next-step card warns of the loss, says who acknowledged it, and offers approval
    card = body.split('id="next-step"', 1)[1].split("</section>", 1)[0]
    assert 'id="approval-loss-warning"' in card
    assert "Expected to lose money" in card
    assert "li.marketer submitted it on" in card
    assert "acknowledging the expected loss" in card
    assert 'id="move-approve"' in card
    assert 'name="acknowledge_loss"' not in card  # nothing to tick for the approver


def test_a_profitable_campaign_needs_no_acknowledgement_and_shows_no_warning(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a draft whose estimate expects a gain
    designer = marketer(tree)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=design(tree), today=TODAY
    )
    assert not loses_money(campaign.estimate)
    client.force_login(designer)
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()

    # When it is submitted from the page without any acknowledgement
    response = client.post(f"/campaigns/{campaign.pk}/submit/", {"comment": ""})

    # Then no warning or checkbox was shown, it is submitted, and nothing was acknowledged
    assert 'id="loss-warning"' not in page
    assert 'name="acknowledge_loss"' not in page
    assert response.status_code == 302
    event = CampaignEvent.objects.get(campaign=campaign, to_state=CampaignState.SUBMITTED)
    assert event.acknowledged_net is None


def test_the_edit_form_shows_a_losing_drafts_net_in_red(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    designer = marketer(tree)
    dear = offer(
        tree, code="DEAR-NOW", cost_per_taker=Decimal("5000"), valid_from=dt.date.today(),
        valid_until=dt.date.today() + dt.timedelta(days=365),
    )  # fmt: skip
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=_upcoming(tree, offers=[dear])
    )
    client.force_login(designer)

    body = client.get(f"/campaigns/{campaign.pk}/edit/", **ENGLISH).content.decode()

    assert '<strong class="error loss" id="expected-net">' in body
    assert "(a loss)" in body


def test_a_channel_change_that_turns_the_estimate_into_a_loss_then_needs_the_acknowledgement(
    tree: factories.Tree, city: Snapshot
) -> None:
    # Given a profitable draft
    designer = marketer(tree)
    campaign = create_campaign(actor=designer, org_unit=tree.province, design=_upcoming(tree))
    assert not loses_money(campaign.estimate)

    # When its design is changed to outbound calls with a dear offer
    dear = offer(
        tree, code="DEAR-NOW", cost_per_taker=Decimal("5000"), valid_from=dt.date.today(),
        valid_until=dt.date.today() + dt.timedelta(days=365),
    )  # fmt: skip
    changed = change_campaign(
        actor=designer,
        campaign=campaign,
        design=_upcoming(tree, channels=[Channel.OUTBOUND_CALL], offers=[dear]),
    )

    # Then the recomputed estimate expects a loss, and the submit asks for the acknowledgement
    assert loses_money(changed.estimate)
    with pytest.raises(ServiceError) as refused:
        transition(actor=designer, campaign=changed, move="submit")
    assert refused.value.field == "acknowledge_loss"


def test_the_new_form_estimates_a_design_before_saving_and_shows_a_loss_in_red(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a marketer filling the new-campaign form with a dear offer
    client.force_login(marketer(tree))
    chosen = _upcoming(tree)
    dear = offer(
        tree, code="DEAR-NOW", cost_per_taker=Decimal("5000"), valid_from=dt.date.today(),
        valid_until=dt.date.today() + dt.timedelta(days=365),
    )  # fmt: skip
    fields = {
        "name": "试算", "campaign_type": "retention", "hypothesis": "到期前关怀可降低离网",
        "objective_metric": "续约数", "objective_target": "10",
        "objective_deadline": str(chosen.objective_deadline),
        "segment_version": chosen.segment_version.pk, "channels": ["sms"],
        "starts_on": str(chosen.starts_on), "ends_on": str(chosen.ends_on), "budget": "1000",
        "control_share": "10",
    }  # fmt: skip

    # When they ask for the estimate, with the dear offer and then without it
    losing = client.post("/campaigns/new/estimate/", fields | {"offers": [dear.pk]}, **ENGLISH)
    gaining = client.post("/campaigns/new/estimate/", fields, **ENGLISH)
    unfinished = client.post("/campaigns/new/estimate/", fields | {"channels": []}, **ENGLISH)

    # Then the loss is in red, the gain is not, a missing field is named, and nothing is saved
    assert '<strong id="preview-net" class="error loss">' in losing.content.decode()
    assert "(a loss)" in losing.content.decode()
    assert losing.context["estimate"]["net_revenue"][1] < 0
    assert 'class="error loss"' not in gaining.content.decode()
    assert gaining.context["estimate"]["net_revenue"][1] > 0
    assert "Channels" in unfinished.context["error"]
    assert not Campaign.objects.exists()


def test_the_edit_forms_estimate_keeps_the_typed_assumptions_and_is_closed_to_other_scopes(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a draft of city A whose expected acceptance rate its marketer typed in
    designer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    campaign = create_campaign(actor=designer, org_unit=tree.city_a, design=_upcoming(tree))
    update_estimate(actor=designer, campaign=campaign, overrides={"take_rate_expected": 0.2})
    client.force_login(designer)

    # When its marketer estimates an edit, and city B's marketer tries the same
    own = client.post(f"/campaigns/{campaign.pk}/edit/estimate/", _form_data(campaign))
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_b))
    other = client.post(f"/campaigns/{campaign.pk}/edit/estimate/", _form_data(campaign))

    # Then the estimate keeps the typed rate; the outsider finds nothing
    found = {a["name"]: a for a in own.context["estimate"]["assumptions"]}
    assert found["take_rate_expected"]["value"] == 0.2
    assert other.status_code == 404


def test_an_estimate_stored_before_sources_were_kept_is_worded_from_its_old_source(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a draft whose estimate was stored in the old form (English sources, no basis)
    designer = marketer(tree)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=design(tree), today=TODAY
    )
    old = [
        {"name": "reach", "value": 0.95,
         "source": "best channel's reach: sms 95%, outbound_call 45%"},
        {"name": "take_rate_expected", "value": 0.06, "source": "default for retention"},
        {"name": "months", "value": 12, "source": "benefit window"},
        {"name": "contact_cost", "value": 2.05,
         "source": "per treated customer, all channels: sms ¥0.05, outbound_call ¥2.0"},
        {"name": "offer_cost_per_taker", "value": 45, "source": "override"},
        {"name": "uplift_low", "value": 0.01, "source": "something this console never wrote"},
    ]  # fmt: skip
    Campaign.objects.filter(pk=campaign.pk).update(
        estimate=campaign.estimate | {"assumptions": old}
    )
    client.force_login(designer)

    # When its page is read
    body = client.get(f"/campaigns/{campaign.pk}/", **ENGLISH).content.decode()

    # Then the sources are worded as new ones are, and an unknown one is left blank
    table = body.split('<table id="assumptions">', 1)[1].split("</table>", 1)[0]
    assert "SMS 95% · Outbound call list 45%" in table
    assert "SMS 0.05 yuan · Outbound call list 2.00 yuan" in table
    assert "Default for Retention (维系) campaigns" in table
    assert "Default benefit window" in table
    assert '<tr id="assumption-offer_cost_per_taker" class="changed">' in table
    assert "never wrote" not in table
    assert "best channel&#x27;s reach: sms" not in table
