"""The campaign console as a person uses it: the segment builder's live preview and the task list,
in real Chromium against the live server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from quanwang.campaigns.choices import ContactOutcome
from quanwang.campaigns.models import Campaign, Segment, TaskOutcome
from quanwang.campaigns.rules import describe
from quanwang.campaigns.segments import preview
from quanwang.campaigns.services import transition
from quanwang.campaigns.tasks import TaskState, task_list
from quanwang.core.choices import Role
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.browser.conftest import TIMEOUT_MS
from tests.campaigns.conftest import (
    TODAY,
    approved,
    build_city,
    dispatch_tasks,
    load_city_warehouse,
    marketer,
)


def in_language(code: str, text: Any) -> str:
    """`text` (a msgid or lazy label) as the console shows it in language `code`."""
    with translation.override(code):
        return str(translation.gettext(text) if isinstance(text, str) else text)


@pytest.fixture
def city(tree: factories.Tree, tmp_path: Path) -> Snapshot:
    return build_city(tree, tmp_path)


def issued_with_tasks(tree: factories.Tree) -> Campaign:
    """An approved campaign, issued, whose step t1 went to the grids' task lists at 10:00."""
    designer = marketer(tree)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )
    dispatch_tasks(designer, campaign)
    return campaign


@pytest.mark.browser
def test_segment_builder_previews_the_count_and_saves_the_segment(
    page: Any, log_in: Any, tree: factories.Tree, city: Snapshot
) -> None:
    from playwright.sync_api import expect

    # given a city marketer on the segments page, and what the service counts for
    # "contract ending within 3 months" in their scope
    user = marketer(tree)
    rule = {"all": [{"field": "contract_expiring_3m", "op": "is", "value": True}]}
    expected = preview(user=user, rule=rule)
    assert 0 < expected.count < 200
    log_in(user)
    page.goto("/campaigns/segments/")

    # when they add a condition with the builder: that field, "is", 是 (the yes/no default)
    page.click("#add-condition")
    condition = page.locator("#conditions tbody tr")
    expect(condition).to_have_count(1)
    condition.locator("select.field").select_option("contract_expiring_3m")
    expect(condition.locator("select.op")).to_have_value("is")
    expect(condition.locator("select.value-bool")).to_have_value("true")

    # then the live preview shows the rule in Chinese and the service's count
    expect(page.locator("#preview-text")).to_have_text(
        describe(rule, language="zh"), timeout=TIMEOUT_MS
    )
    count = in_language("zh-hans", "%(n)s customers (snapshot %(m)s)") % {
        "n": expected.count,
        "m": expected.snapshot_month,
    }
    expect(page.locator("#preview-count")).to_contain_text(count, timeout=TIMEOUT_MS)

    # when they name the segment and save it
    page.fill("#id_name", "三月内合约到期")
    with page.expect_navigation():
        page.click("#segment-form button[type=submit]")

    # then it is stored as version 1 of that rule, opened on its page, and listed with its
    # Chinese text
    segment = Segment.objects.get(name="三月内合约到期")
    [version] = segment.versions.all()
    assert version.rule == rule
    assert page.url.endswith(f"/campaigns/segments/{segment.pk}/?saved={version.pk}")
    page.goto("/campaigns/segments/")
    row = page.locator("#segments tbody tr", has_text="三月内合约到期")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text("v1")
    expect(row.locator("td").nth(2)).to_have_text(describe(rule, language="zh"))
    expect(row.locator("td").nth(3)).to_have_text(segment.org_unit.name)


@pytest.mark.browser
def test_task_list_records_an_outcome_clicked_by_a_grid_manager(
    page: Any, log_in: Any, tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # given grid A's manager on the task list of an issued campaign with a task step
    load_city_warehouse(tree, tmp_path)
    campaign = issued_with_tasks(tree)
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    customer = task_list(user=manager).rows[0].subscriber_id
    log_in(manager)
    page.goto("/campaigns/tasks/")
    task = page.locator(f"#task-{campaign.pk}-{customer}")
    expect(task.locator("td.outcome")).to_contain_text(
        in_language("zh-hans", TaskState.NOT_RECORDED.label)
    )

    # when they note the visit and press "accepted" for that customer
    task.locator("input[name=note]").fill("办理续约")
    page.evaluate("window.notReloaded = true")
    task.locator("button[name=outcome][value=accepted]").click()

    # then the row shows it recorded, and the count, in place (the page was not reloaded)
    accepted = in_language("zh-hans", TaskState.ACCEPTED.label)
    expect(task.locator("td.outcome")).to_contain_text(accepted)
    expect(task.locator("td.outcome")).to_contain_text("办理续约")
    expect(page.locator("#count-accepted .num")).to_have_text("1")
    assert page.evaluate("window.notReloaded") is True

    # and one outcome row holds it, recorded by the manager
    [row] = TaskOutcome.objects.all()
    assert (row.campaign_id, row.subscriber_id) == (campaign.pk, customer)
    assert (row.outcome, row.note, row.attempts) == (ContactOutcome.ACCEPTED, "办理续约", 1)
    assert row.recorded_by == manager
    assert row.org_unit == tree.grid_a
