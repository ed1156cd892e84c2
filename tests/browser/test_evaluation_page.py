"""The evaluation card in Chromium: started from the campaign page, followed while its job runs,
then the results drawn as ECharts under the Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from quanwang.campaigns.choices import CampaignState
from quanwang.core.jobs import execute_job
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.browser.conftest import TIMEOUT_MS, start_in_background
from tests.campaigns.conftest import build_city
from tests.campaigns.test_evaluation_page import closed, evaluation_jobs


@pytest.fixture
def city(tree: factories.Tree, tmp_path: Path) -> Snapshot:
    return build_city(tree, tmp_path)


@pytest.mark.browser
def test_the_evaluation_is_followed_on_the_page_and_its_charts_drawn(
    page: Any, log_in: Any, tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    # Given a closed campaign with its orders loaded, its marketer on its page, and a browser
    # that records refusals of the policy and script errors
    designer, campaign = closed(tree, Client())
    complaints: list[str] = []
    page.on(
        "console",
        lambda message: (
            complaints.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on("pageerror", lambda error: complaints.append(str(error)))
    log_in(designer)
    page.goto(f"/campaigns/{campaign.pk}/")

    # When they start the evaluation, and a worker runs its job while the page follows it
    page.click("#evaluate")
    page.wait_for_selector("#evaluation[data-state=live] .progress", timeout=TIMEOUT_MS)
    page.screenshot(path=str(tmp_path / "evaluation-running.png"), full_page=True)
    [job] = evaluation_jobs(campaign)
    worker = start_in_background(lambda: execute_job(job_id=job.pk))
    worker.finish(timeout=60)

    # Then the page reloads by itself with the results: the verdict, the estimate and a chart
    # for each breakdown, with nothing refused
    page.wait_for_selector("#evaluation[data-state=evaluated]", timeout=TIMEOUT_MS)
    for dimension in ("value_tier", "org_unit", "channel"):
        page.wait_for_selector(f"#chart-{dimension} canvas", timeout=TIMEOUT_MS)
    page.screenshot(path=str(tmp_path / "evaluation-results.png"), full_page=True)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.EVALUATED
    assert page.locator("#evaluation-verdict").count() == 1
    assert page.locator("#evaluation-estimate tbody tr").count() >= 2
    assert page.locator(f"form[action='/campaigns/{campaign.pk}/responses/']").count() == 0
    assert complaints == []
