"""The evaluation on the campaign page (事后评估): a background job with its progress, the results
on the page, the estimate compared like with like (defect 9), the response form closed once
evaluated, and the rejected rows of a response import as a download (defect 5)."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation

from quanwang.campaigns.choices import CampaignState, Channel
from quanwang.campaigns.estimate_check import (
    DesignEstimate,
    EstimateQuantity,
    check_against_estimate,
    design_estimate,
)
from quanwang.campaigns.evaluation import (
    CampaignCosts,
    EstimatePosition,
    Group,
    RevenueEstimate,
    evaluate,
)
from quanwang.campaigns.models import Campaign
from quanwang.campaigns.services import create_campaign, transition
from quanwang.campaigns.services.evaluating import summary_file
from quanwang.core.choices import JobKind, JobStatus, Role
from quanwang.core.jobs import execute_job
from quanwang.core.models import Job, RoleAssignment
from quanwang.core.services.jobs import retry_job
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import TODAY, design

EVERYONE = {"field": "arpu_3m", "op": ">", "value": 0}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def city_campaign(tree: factories.Tree) -> tuple[Any, Campaign]:
    """A running campaign of city A over its 100 customers, half of them held out, and its
    marketer (a city B marketer cannot see it: its audience is city A's alone)."""
    designer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    campaign = create_campaign(
        actor=designer,
        org_unit=tree.city_a,
        # SMS alone: the estimate expects a profit, so submitting needs no acknowledgement
        design=design(tree, rule=EVERYONE, control_share=Decimal("0.5"), channels=[Channel.SMS]),
        today=TODAY,
    )
    campaign = transition(actor=designer, campaign=campaign, move="submit")
    approver = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    campaign = transition(actor=approver, campaign=campaign, move="approve", comment="同意")
    campaign = transition(actor=designer, campaign=campaign, move="issue", today=TODAY)
    return designer, transition(actor=designer, campaign=campaign, move="start")


def orders(campaign: Campaign, *, extra: list[list[Any]] | None = None) -> bytes:
    """Orders from 30 of the treated customers and 3 of the control group, 20 yuan each."""
    audience = duckdb.sql(
        f"SELECT subscriber_id, in_control FROM '{campaign.audience_path}' ORDER BY 1"
    ).fetchall()
    treated = [s for s, control in audience if not control][:30]
    control = [s for s, control in audience if control][:3]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["campaign_id", "subscriber_id", "responded_on", "revenue"])
    writer.writerows([campaign.pk, s, "2024-07-05", "20"] for s in treated + control)
    writer.writerows(extra or [])
    return out.getvalue().encode()


def upload(client: Client, campaign: Campaign, content: bytes, name: str = "七月订单.csv") -> Any:
    return client.post(
        f"/campaigns/{campaign.pk}/responses/",
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
        **ENGLISH,
    )


def closed(tree: factories.Tree, client: Client) -> tuple[Any, Campaign]:
    """The city campaign with its orders loaded through the console, then closed."""
    designer, campaign = city_campaign(tree)
    client.force_login(designer)
    assert upload(client, campaign, orders(campaign)).status_code == 200
    return designer, transition(actor=designer, campaign=campaign, move="close")


def evaluation_jobs(campaign: Campaign) -> list[Job]:
    return list(Job.objects.filter(kind=JobKind.EVALUATE_CAMPAIGN, params__campaign_id=campaign.pk))


# --- the job --------------------------------------------------------------------------------


def test_the_evaluation_runs_as_a_job_and_its_results_appear_on_the_campaign_page(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given a closed campaign with its orders loaded
    _designer, campaign = closed(tree, client)
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="evaluate"' in page
    assert "move-evaluate" not in page  # started from the evaluation card only

    # When its marketer starts the evaluation
    started = client.post(f"/campaigns/{campaign.pk}/evaluate/")

    # Then a job is queued, and the card follows it with a progress bar, polling itself
    [job] = evaluation_jobs(campaign)
    assert started.status_code == 302
    assert started["Location"] == f"/campaigns/{campaign.pk}/#evaluation"
    assert job.status == JobStatus.QUEUED
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f'hx-get="/campaigns/{campaign.pk}/evaluation/"' in page
    assert 'class="progress"' in page
    assert 'id="evaluate"' not in page
    card = client.get(f"/campaigns/{campaign.pk}/evaluation/", HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in card

    # When the worker runs it
    stages: list[tuple[int, str]] = []
    execute_job(job_id=job.pk, listener=lambda j: stages.append((j.done, j.stage)))

    # Then it went through its steps, the campaign is evaluated, and the card's next poll
    # reloads the page
    job.refresh_from_db()
    campaign.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [done for done, _stage in stages] == sorted(done for done, _stage in stages)
    assert {done for done, _stage in stages} >= {0, 1, 2, 3, 4, 5}
    assert job.done == job.total == 6
    assert campaign.state == CampaignState.EVALUATED
    assert list(campaign.events.values_list("to_state", flat=True))[-1] == CampaignState.EVALUATED
    card = client.get(f"/campaigns/{campaign.pk}/evaluation/", HTTP_HX_REQUEST="true")
    assert card["HX-Refresh"] == "true"

    # And the page shows the lift with its interval, the estimate, the breakdowns' charts and
    # the downloads
    summary = json.loads(summary_file(campaign.pk).read_text())
    overall = summary["overall"]
    assert (overall["treated"], overall["control"]) == (50, 50)
    assert (overall["treated_responders"], overall["control_responders"]) == (30, 3)
    page = client.get(f"/campaigns/{campaign.pk}/", **ENGLISH).content.decode()
    uplift = overall["uplift"]
    assert uplift == pytest.approx(30 / 50 - 3 / 50)
    assert f"+{uplift * 100:.2f}" in page  # +54.00 points
    low, high = overall["uplift_ci"]
    assert low < uplift < high
    assert f"95% interval: +{low * 100:.2f} to +{high * 100:.2f}" in page
    assert 'id="evaluation-estimate"' in page
    assert 'id="evaluation-data"' in page
    charts = json.loads(re.search(r'id="evaluation-data"[^>]*>(.*?)</script>', page, re.S)[1])
    assert set(charts) == {"value_tier", "org_unit", "channel"}
    assert charts["org_unit"]["labels"] == [tree.grid_a.name]
    assert charts["org_unit"]["uplift"] == [pytest.approx(uplift * 100, abs=0.01)]
    assert "vendor/echarts/echarts.min.js" in page
    assert "campaigns/evaluation.js" in page
    assert f"/campaigns/{campaign.pk}/report.xlsx" in page
    assert f"/campaigns/{campaign.pk}/report.pdf" in page
    assert client.get(f"/campaigns/{campaign.pk}/report.pdf").status_code == 200


def test_a_double_click_opens_the_same_job(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given a closed campaign
    _designer, campaign = closed(tree, client)

    # When its marketer presses the button twice, and a colleague once, before it runs
    client.post(f"/campaigns/{campaign.pk}/evaluate/")
    client.post(f"/campaigns/{campaign.pk}/evaluate/")
    colleague = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    other = Client()
    other.force_login(colleague)
    other.post(f"/campaigns/{campaign.pk}/evaluate/")

    # Then one job evaluates it
    [job] = evaluation_jobs(campaign)
    execute_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error

    # And once it is evaluated, asking again starts nothing
    again = client.post(f"/campaigns/{campaign.pk}/evaluate/", follow=True, **ENGLISH)
    assert len(evaluation_jobs(campaign)) == 1
    assert "Only a closed campaign is evaluated; this one is Evaluated." in again.content.decode()


def test_a_failed_evaluation_says_why_and_can_be_retried(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given a closed campaign whose marketer asked for its evaluation, then lost their role
    # before the worker ran it
    designer, campaign = closed(tree, client)
    client.post(f"/campaigns/{campaign.pk}/evaluate/")
    [job] = evaluation_jobs(campaign)
    grant = RoleAssignment.objects.get(user=designer)
    grant.delete()

    # When its evaluation runs (a worker writes the reason in its own language: English here)
    with translation.override("en"):
        execute_job(job_id=job.pk)

    # Then it fails with a reason, the campaign stays closed, and the card shows why and
    # offers to try again to those who may
    job.refresh_from_db()
    campaign.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == "You may not evaluate this campaign."
    assert campaign.state == CampaignState.CLOSED
    admin = Client()
    admin.force_login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))
    page = admin.get(f"/campaigns/{campaign.pk}/", **ENGLISH).content.decode()
    assert 'id="evaluation-failed"' in page
    assert "You may not evaluate this campaign." in page
    assert "Evaluate again" in page

    # When the role is given back and the job is retried from its page
    RoleAssignment.objects.create(user=designer, role=grant.role, org_unit=grant.org_unit)
    retry_job(actor=designer, job_id=job.pk)
    execute_job(job_id=job.pk)

    # Then the same job evaluates the campaign on its second attempt
    job.refresh_from_db()
    campaign.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)
    assert campaign.state == CampaignState.EVALUATED
    assert campaign.events.filter(to_state=CampaignState.EVALUATED).count() == 1


def test_after_a_failure_the_page_starts_a_new_evaluation(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given a campaign whose evaluation failed
    _designer, campaign = closed(tree, client)
    client.post(f"/campaigns/{campaign.pk}/evaluate/")
    [failed] = evaluation_jobs(campaign)
    Job.objects.filter(pk=failed.pk).update(status=JobStatus.FAILED, error="boom")

    # When its marketer presses "Evaluate again"
    client.post(f"/campaigns/{campaign.pk}/evaluate/")

    # Then a new job runs it to the end
    [newer] = [j for j in evaluation_jobs(campaign) if j.pk != failed.pk]
    execute_job(job_id=newer.pk)
    newer.refresh_from_db()
    campaign.refresh_from_db()
    assert newer.status == JobStatus.SUCCEEDED, newer.error
    assert campaign.state == CampaignState.EVALUATED


def test_a_retry_after_the_campaign_was_marked_evaluated_changes_nothing(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given an evaluation whose run was interrupted after it marked the campaign evaluated
    designer, campaign = closed(tree, client)
    client.post(f"/campaigns/{campaign.pk}/evaluate/")
    [job] = evaluation_jobs(campaign)
    execute_job(job_id=job.pk)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.INTERRUPTED)

    # When it is retried
    retry_job(actor=designer, job_id=job.pk)
    execute_job(job_id=job.pk)

    # Then it succeeds without evaluating or recording the step again
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert campaign.events.filter(to_state=CampaignState.EVALUATED).count() == 1
    assert job.result["treated_customers"] == 50


def test_another_scopes_user_can_neither_start_nor_follow_the_evaluation(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given a closed campaign of city A, a city B marketer and a province auditor
    _designer, campaign = closed(tree, client)
    stranger = Client()
    stranger.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_b))
    auditor = Client()
    auditor.force_login(factories.user(role=Role.AUDITOR, at=tree.province))

    # When they try
    answers = [
        stranger.post(f"/campaigns/{campaign.pk}/evaluate/").status_code,
        stranger.get(f"/campaigns/{campaign.pk}/evaluation/").status_code,
        auditor.post(f"/campaigns/{campaign.pk}/evaluate/").status_code,
    ]

    # Then nothing exists for the stranger, the auditor may look but not start, and no job ran
    assert answers == [404, 404, 404]
    assert 'id="evaluate"' not in auditor.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert evaluation_jobs(campaign) == []


# --- defect 9: like with like --------------------------------------------------------------


def audience_table(*, treated: int, control: int, takers: int, control_takers: int) -> pa.Table:
    responded = [True] * takers + [False] * (treated - takers)
    responded += [True] * control_takers + [False] * (control - control_takers)
    return pa.table(
        {
            "group": [Group.TREATED.value] * treated + [Group.CONTROL.value] * control,
            "responded": responded,
            # An order of 20 yuan for each responder: what the response files record
            "revenue": np.where(responded, 20.0, 0.0),
        }
    )


def test_the_estimate_is_compared_like_with_like_not_with_order_revenue() -> None:
    # Given a campaign that added about 100 takers (1,000 treated at 12%, 1,000 control at 2%),
    # each order 20 yuan, and an estimate of 80–120 takers worth 600 yuan each (a retention
    # save keeps 50 yuan a month for 12 months), 10 yuan of offer a taker
    table = audience_table(treated=1000, control=1000, takers=120, control_takers=20)
    costs = CampaignCosts(offer_cost_per_taker=10.0, contact_cost_per_contact=0.0)
    stored = {
        "takers": [80.0, 100.0, 120.0],
        "costs": [800.0, 1000.0, 1200.0],
        "net_revenue": [80 * 600 - 800.0, 100 * 600 - 1000.0, 120 * 600 - 1200.0],
        "roi": [59.0, 59.0, 59.0],
        "assumptions": [
            {"name": "incremental_monthly_revenue", "value": 50.0, "source": "…"},
            {"name": "months", "value": 12, "source": "…"},
        ],
    }
    overall = evaluate(audience=table, costs=costs).overall

    # When the evaluation is set against the estimate
    estimate = design_estimate(stored)
    assert estimate is not None
    checks = {c.quantity: c for c in check_against_estimate(overall=overall, estimate=estimate)}

    # Then the takers are the incremental ones, and the net revenue is counted as the estimate
    # counts it: incremental takers × 600 yuan − the costs spent (120 takers × 10 yuan)
    assert overall.incremental_responders == pytest.approx(100.0)
    takers = checks[EstimateQuantity.TAKERS]
    assert (takers.actual, takers.position) == (pytest.approx(100.0), EstimatePosition.WITHIN)
    net = checks[EstimateQuantity.NET_REVENUE]
    assert net.actual == pytest.approx(100 * 600 - 1200)
    assert net.position == EstimatePosition.WITHIN
    assert net.actual_ci is not None
    assert net.actual_ci.contains(net.actual)
    roi = checks[EstimateQuantity.ROI]
    assert roi.actual == pytest.approx((100 * 600 - 1200) / 1200)

    # And the order revenue, which the old verdict set against the estimate, would have read
    # as far below it
    assert overall.net_incremental_revenue == pytest.approx(100 * 20 - 1200)
    old = RevenueEstimate(*sorted(stored["net_revenue"]))
    assert overall.net_incremental_revenue < old.low


def test_without_a_revenue_per_taker_only_the_takers_are_compared() -> None:
    table = audience_table(treated=500, control=500, takers=20, control_takers=10)
    overall = evaluate(
        audience=table, costs=CampaignCosts(offer_cost_per_taker=1, contact_cost_per_contact=0)
    ).overall
    estimate = DesignEstimate(
        takers=RevenueEstimate(30, 40, 50), net_revenue=RevenueEstimate(1, 2, 3), roi=None,
        monthly_revenue=None, months=12,
    )  # fmt: skip

    checks = check_against_estimate(overall=overall, estimate=estimate)

    assert [(c.quantity, c.position) for c in checks] == [
        (EstimateQuantity.TAKERS, EstimatePosition.BELOW)
    ]
    assert design_estimate({}) is None
    assert design_estimate({"takers": [1, None, 2]}) is None


def test_the_page_says_which_quantities_are_compared(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given an evaluated campaign with its design estimate
    _designer, campaign = closed(tree, client)
    client.post(f"/campaigns/{campaign.pk}/evaluate/")
    [job] = evaluation_jobs(campaign)
    execute_job(job_id=job.pk)
    per_taker = {a["name"]: a["value"] for a in campaign.estimate["assumptions"]}
    monthly, months = per_taker["incremental_monthly_revenue"], per_taker["months"]

    # When its page is read
    page = client.get(f"/campaigns/{campaign.pk}/", **ENGLISH).content.decode()

    # Then the estimate's rows name their quantities, the measured net revenue is the
    # estimate's definition applied to the measured takers, and the page says so
    summary = json.loads(summary_file(campaign.pk).read_text())
    checks = {c["quantity"]: c for c in summary["checks"]}
    overall = summary["overall"]
    assert set(checks) >= {"takers", "net_revenue"}
    assert checks["takers"]["actual"] == pytest.approx(overall["incremental_responders"])
    assert checks["takers"]["expected"] == pytest.approx(campaign.estimate["takers"][1])
    assert checks["net_revenue"]["actual"] == pytest.approx(
        overall["incremental_responders"] * monthly * months - overall["costs"]
    )
    assert checks["net_revenue"]["expected"] == pytest.approx(campaign.estimate["net_revenue"][1])
    assert summary["verdict"] == "net_revenue"
    assert 'id="check-takers"' in page
    assert 'id="check-net_revenue"' in page
    compared = page[page.index('id="evaluation-compared"') :]
    assert "Incremental takers: the treated customers who responded beyond the control" in compared
    assert "Net revenue as the estimate counts it: incremental takers ×" in compared
    assert "is not set against the estimate" in compared
    assert "judged on Net revenue, as the estimate counts it" in page


# --- the response form ---------------------------------------------------------------------


def test_the_response_form_closes_once_the_campaign_is_evaluated(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given an evaluated campaign
    designer, campaign = closed(tree, client)
    assert (
        f'action="/campaigns/{campaign.pk}/responses/"'
        in client.get(f"/campaigns/{campaign.pk}/").content.decode()
    )
    transition(actor=designer, campaign=campaign, move="evaluate")

    # When its page is opened, and a late file is posted anyway
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    refused = upload(client, campaign, orders(campaign))

    # Then the page has no response form, and the upload is refused in the page, its
    # navigation kept, nothing loaded
    text = refused.content.decode()
    assert f'action="/campaigns/{campaign.pk}/responses/"' not in page
    assert refused.status_code == 200
    assert "The campaign has been evaluated: its responses are closed." in text
    assert 'id="responses-closed"' in text
    assert "<nav" in text
    assert 'id="response-report"' not in text


def test_responses_are_refused_while_the_evaluation_runs(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    _designer, campaign = closed(tree, client)
    client.post(f"/campaigns/{campaign.pk}/evaluate/")
    [job] = evaluation_jobs(campaign)

    refused = upload(client, campaign, orders(campaign)).content.decode()

    assert f"The campaign is being evaluated (job #{job.pk}): its responses are closed." in refused


# --- defect 5: the rejected rows ------------------------------------------------------------


def test_rejected_rows_download_from_the_page_named_after_the_upload(
    tree: factories.Tree, city: Snapshot, client: Client, settings: Any
) -> None:
    # Given a running campaign of city A and a file with two bad rows
    designer, campaign = city_campaign(tree)
    client.force_login(designer)
    content = orders(
        campaign, extra=[[campaign.pk, "S150", "2024-07-05", "20"], [999, "S001", "", "1"]]
    )

    # When its marketer uploads it on the campaign page
    answer = upload(client, campaign, content, name="七月订单.csv")

    # Then the result is on the page with a link to the rejected rows, and no server path
    page = answer.content.decode()
    link = re.search(r'href="([^"]+)" id="rejected-rows"', page)
    assert link is not None
    href = link[1]
    assert href.startswith(f"/campaigns/{campaign.pk}/responses/rejected/responses-")
    assert str(settings.VAR_DIR) not in page
    assert "quarantine" not in page
    assert 'id="response-report"' in page

    # And the link downloads the rows with their reasons, named after the uploaded file
    download = client.get(href)
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    assert "%E4%B8%83%E6%9C%88%E8%AE%A2%E5%8D%95-rejected.csv" in download["Content-Disposition"]
    rows = list(
        csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig")))
    )
    assert [(r["column"], r["value"]) for r in rows] == [
        ("subscriber_id", "S150"),
        ("campaign_id", "999"),
    ]

    # And another scope's user gets nothing, nor does a name outside the campaign's files
    stranger = Client()
    stranger.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_b))
    assert stranger.get(href).status_code == 404
    assert (
        client.get(f"/campaigns/{campaign.pk}/responses/rejected/..%2Faudience.parquet").status_code
        == 404
    )
    assert (
        client.get(f"/campaigns/{campaign.pk}/responses/rejected/responses-1.csv").status_code
        == 404
    )
