"""The Content-Security-Policy as Chromium enforces it: the chart pages still draw and the
browser reports no violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quanwang.core.choices import Role
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.browser.conftest import TIMEOUT_MS
from tests.campaigns.conftest import build_city


@pytest.fixture
def city(tree: factories.Tree, tmp_path: Path) -> Snapshot:
    return build_city(tree, tmp_path)


@pytest.mark.browser
def test_the_dashboard_draws_its_charts_without_a_policy_violation(
    page: Any, log_in: Any, tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    # Given a province administrator, and a browser that records refusals and script errors
    # (a missing favicon is an error too, but not ours to count)
    complaints: list[str] = []
    page.on(
        "console",
        lambda message: (
            complaints.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on("pageerror", lambda error: complaints.append(str(error)))
    log_in(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))

    # When they open the customer value dashboard and the segment builder
    response = page.goto("/insight/")
    page.wait_for_selector("#tier-chart canvas", timeout=TIMEOUT_MS)
    page.wait_for_selector("#switching-chart canvas", timeout=TIMEOUT_MS)
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    page.goto("/campaigns/segments/")
    page.click("#add-condition")
    page.wait_for_selector("#conditions tbody tr", timeout=TIMEOUT_MS)

    # Then the page came with the policy, the charts are drawn and nothing was refused
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert (tmp_path / "dashboard.png").stat().st_size > 0
    assert complaints == []
