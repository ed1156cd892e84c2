"""Campaign figures per grid and month (`figures_by_grid`), read by the grid scorecards and the
grid P&L: hand-computed on a campaign written as its files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from quanwang.campaigns.choices import CampaignState, ContactOutcome
from quanwang.campaigns.models import Campaign, Quota, TaskOutcome
from quanwang.campaigns.services import channel_figures
from quanwang.campaigns.services.channel_figures import EMPTY, GridCampaignFigures, figures_by_grid
from quanwang.core.errors import ServiceError
from tests import factories
from tests.campaigns.channel_support import (
    SHANGHAI,
    campaign_of_files,
    responses,
    sends,
    store,
    task_plan,
)


def _outcome(campaign: Campaign, subscriber: str, outcome: str, day: dt.datetime, grid) -> None:
    TaskOutcome.objects.create(
        campaign=campaign, subscriber_id=subscriber, org_unit=grid, outcome=outcome,
        recorded_at=day,
    )  # fmt: skip


@pytest.fixture
def facts(tree: factories.Tree) -> Campaign:
    """Grid A: A1-A6 treated, A7 control; grid B: B1-B2 treated. Offers cost 30 + 5 a taker.

    SMS: A1 accepted 2 July; A2 accepted 1 August 00:30 Beijing time (31 July in UTC); A3
    failed. Tasks: A4, A6 at store ST-A1 (its quota due 10 August), A5 at ST-A2 (grid A's
    quota, due 31 July), B1, B2 without a store (no quota: the campaign's end, 31 August).
    Outcomes: A4 accepted 5 July, A5 refused 6 July, B1 unreachable 7 July. Responses: A1 on
    10 July, A2 on 2 August, A7 (control) on 10 July."""
    a, b = tree.grid_a, tree.grid_b
    campaign = campaign_of_files(
        org_unit=tree.province,
        audience=[
            *[(f"A{i}", a.code, False) for i in range(1, 7)],
            ("A7", a.code, True),
            ("B1", b.code, False),
            ("B2", b.code, False),
        ],
    )
    sends(
        campaign,
        [
            ("A1", "accepted", dt.datetime(2024, 7, 2, 10, tzinfo=SHANGHAI)),
            ("A2", "accepted", dt.datetime(2024, 8, 1, 0, 30, tzinfo=SHANGHAI)),
            ("A3", "failed", dt.datetime(2024, 7, 2, 10, tzinfo=SHANGHAI)),
        ],
    )
    task_plan(
        campaign,
        [("A4", a.code, "ST-A1"), ("A5", a.code, "ST-A2"), ("A6", a.code, "ST-A1"),
         ("B1", b.code, None), ("B2", b.code, None)],
    )  # fmt: skip
    Quota.objects.create(
        campaign=campaign, org_unit=a, audience=6, target=3, deadline=dt.date(2024, 7, 31)
    )
    Quota.objects.create(
        campaign=campaign, org_unit=a, store=store("ST-A1", grid=a), audience=2, target=1,
        deadline=dt.date(2024, 8, 10),
    )  # fmt: skip
    store("ST-A2", grid=a)
    _outcome(
        campaign, "A4", ContactOutcome.ACCEPTED, dt.datetime(2024, 7, 5, 9, tzinfo=SHANGHAI), a
    )
    _outcome(campaign, "A5", ContactOutcome.REFUSED, dt.datetime(2024, 7, 6, 9, tzinfo=SHANGHAI), a)
    _outcome(
        campaign, "B1", ContactOutcome.UNREACHABLE, dt.datetime(2024, 7, 7, 9, tzinfo=SHANGHAI), b
    )
    responses(
        campaign,
        [("A1", dt.date(2024, 7, 10), 50.0), ("A2", dt.date(2024, 8, 2), 20.0),
         ("A7", dt.date(2024, 7, 10), 10.0)],
    )  # fmt: skip
    return campaign


def test_july_counts_the_months_contacts_takers_due_tasks_and_offer_costs(
    facts: Campaign, tree: factories.Tree
) -> None:
    # When the scorecards read July
    figures = figures_by_grid(month="2024-07")

    # Then grid A: A1 (SMS), A4, A5 (tasks that reached) were contacted, A1 and A4 took;
    # A5's task fell due (grid A's quota, July), A4 and A6 are due with their store in August;
    # A1 and A4 took in July at 35 yuan each. Grid B: nothing in July (B1 was not reached,
    # its tasks are due in August). The control customer's order counts nowhere.
    assert figures == {
        tree.grid_a.code: GridCampaignFigures(
            targeted=3, accepted=2, tasks_total=1, tasks_done=1, offer_cost=Decimal("70.00")
        )
    }


def test_august_takes_the_local_date_and_the_stores_deadline(
    facts: Campaign, tree: factories.Tree
) -> None:
    # When the scorecards read August
    figures = figures_by_grid(month="2024-08")

    # Then A2's SMS at 00:30 on 1 August (Beijing) is August's, A2 took on 2 August; ST-A1's
    # two tasks are due (one done); grid B's two tasks fall due at the campaign's end (one has
    # an outcome, unreachable, which is done)
    assert figures[tree.grid_a.code] == GridCampaignFigures(
        targeted=1, accepted=1, tasks_total=2, tasks_done=1, offer_cost=Decimal("35.00")
    )
    assert figures[tree.grid_b.code] == GridCampaignFigures(
        targeted=0, accepted=0, tasks_total=2, tasks_done=1, offer_cost=Decimal("0.00")
    )


def test_a_draft_campaign_and_a_month_without_campaigns_give_nothing(
    facts: Campaign, tree: factories.Tree
) -> None:
    # Given the campaign back in draft (never issued: its files do not count)
    Campaign.objects.filter(pk=facts.pk).update(state=CampaignState.DRAFT)

    # Then no month has figures; a month before any campaign has none either
    assert figures_by_grid(month="2024-07") == {}
    assert figures_by_grid(month="2023-01") == {}


@pytest.mark.parametrize("month", ["2024-13", "2024-7", "July", ""])
def test_a_month_not_written_yyyy_mm_is_refused_by_name(db: None, month: str) -> None:
    with pytest.raises(ServiceError, match="YYYY-MM"):
        figures_by_grid(month=month)


@pytest.mark.parametrize("month", ["2024-07", "2024-08"])
def test_each_figures_rows_are_the_rows_it_counts(
    facts: Campaign, tree: factories.Tree, month: str
) -> None:
    # Given the month's figures
    figures = figures_by_grid(month=month)

    # When the rows behind each figure of each grid are listed (in English)
    for grid in (tree.grid_a.code, tree.grid_b.code):
        expected = figures.get(grid, EMPTY)
        with translation.override("en"):
            targeted = channel_figures.targeted_lines(grid_id=grid, month=month)
            accepted = channel_figures.accepted_lines(grid_id=grid, month=month)
            due = channel_figures.task_lines(grid_id=grid, month=month)
            done = channel_figures.task_lines_done(grid_id=grid, month=month)
            costs = channel_figures.offer_cost_lines(grid_id=grid, month=month)

        # Then their counts (and the costs' sum) are the figures, row by row
        assert len(targeted) == expected.targeted
        assert len(accepted) == expected.accepted
        assert {r["Subscriber ID"] for r in accepted} <= {r["Subscriber ID"] for r in targeted}
        assert len(due) == expected.tasks_total
        assert len(done) == expected.tasks_done
        assert all(r["Outcome recorded"] == "yes" for r in done)
        assert sum((r["Offer cost (yuan)"] for r in costs), Decimal("0")) == expected.offer_cost
