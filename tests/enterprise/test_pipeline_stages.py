"""Opportunity stage rules, default probabilities, scope and idempotent create."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from quanwang.core.errors import NotFound, ServiceError
from quanwang.enterprise.models import Opportunity, OpportunityStageChange
from quanwang.enterprise.pipeline.choices import OpportunityStage as S
from quanwang.enterprise.pipeline.choices import OpportunityStatus
from quanwang.enterprise.pipeline.services import open_opportunities
from quanwang.enterprise.pipeline.services.stages import DEFAULT_PROBABILITY, move_stage
from tests.enterprise import pipeline_world as pw


@pytest.fixture
def world(tree: Any) -> pw.World:
    return pw.build(tree)


def test_new_opportunity_takes_the_stage_default_probability_and_records_its_opening(world):
    # given / when
    o = pw.opportunity(user=world.am_user, account=world.a, stage=S.PROPOSAL)
    # then
    assert o.probability == DEFAULT_PROBABILITY[S.PROPOSAL] == 40
    assert o.status == OpportunityStatus.OPEN
    assert o.owner == world.am
    opening = OpportunityStageChange.objects.get(opportunity=o)
    assert (opening.from_stage, opening.to_stage) == ("", S.PROPOSAL)


def test_default_probabilities_rise_with_the_stages():
    values = [
        DEFAULT_PROBABILITY[s]
        for s in (S.LEAD, S.QUALIFIED, S.PROPOSAL, S.QUOTE, S.NEGOTIATION, S.WON)
    ]
    assert values == sorted(values)
    assert values[-1] == 100
    assert DEFAULT_PROBABILITY[S.LOST] == 0


def test_forward_moves_may_skip_and_set_the_default_probability(world):
    o = pw.opportunity(user=world.am_user, account=world.a)
    moved = move_stage(user=world.am_user, opportunity_id=o.pk, stage=S.QUOTE)
    assert (moved.stage, moved.probability) == (S.QUOTE, 60)
    change = OpportunityStageChange.objects.filter(opportunity=o).latest("pk")
    assert (change.from_stage, change.to_stage, change.changed_by) == (
        S.LEAD,
        S.QUOTE,
        world.am_user,
    )


def test_a_typed_probability_survives_later_moves_but_not_closing(world):
    o = pw.opportunity(user=world.am_user, account=world.a, probability=35)
    assert o.probability == 35
    moved = move_stage(user=world.am_user, opportunity_id=o.pk, stage=S.PROPOSAL)
    assert moved.probability == 35
    won = move_stage(user=world.am_user, opportunity_id=o.pk, stage=S.WON)
    assert (won.probability, won.status) == (100, OpportunityStatus.WON)
    assert won.closed_on is not None


def test_moving_back_losing_and_reopening_need_a_reason(world):
    o = pw.opportunity(user=world.am_user, account=world.a, stage=S.QUOTE)
    with pytest.raises(ServiceError) as back:
        move_stage(user=world.am_user, opportunity_id=o.pk, stage=S.LEAD)
    assert back.value.field == "reason"
    with pytest.raises(ServiceError) as lost:
        move_stage(user=world.am_user, opportunity_id=o.pk, stage=S.LOST)
    assert lost.value.field == "reason"
    closed = move_stage(user=world.am_user, opportunity_id=o.pk, stage=S.LOST, reason="竞对低价")
    assert (closed.status, closed.close_reason, closed.probability) == ("lost", "竞对低价", 0)
    with pytest.raises(ServiceError):
        move_stage(user=world.am_user, opportunity_id=o.pk, stage=S.NEGOTIATION)
    with pytest.raises(ServiceError) as direct:
        move_stage(user=world.am_user, opportunity_id=o.pk, stage=S.WON, reason="x")
    assert direct.value.field == "stage"
    reopened = move_stage(
        user=world.am_user, opportunity_id=o.pk, stage=S.NEGOTIATION, reason="客户重新询价"
    )
    assert (reopened.status, reopened.closed_on) == ("open", None)


def test_won_needs_an_amount(world):
    o = pw.opportunity(user=world.am_user, account=world.a, amount_fen=0)
    with pytest.raises(ServiceError) as refused:
        move_stage(user=world.am_user, opportunity_id=o.pk, stage=S.WON)
    assert refused.value.field == "amount"
    assert Opportunity.objects.get(pk=o.pk).stage == S.LEAD


def test_a_retried_move_records_one_change(world):
    o = pw.opportunity(user=world.am_user, account=world.a)
    move_stage(user=world.am_user, opportunity_id=o.pk, stage=S.QUALIFIED)
    move_stage(user=world.am_user, opportunity_id=o.pk, stage=S.QUALIFIED)
    assert OpportunityStageChange.objects.filter(opportunity=o).count() == 2  # opening + one


def test_another_managers_opportunity_is_not_found(world):
    theirs = pw.opportunity(user=world.other_user, account=world.far)
    with pytest.raises(NotFound):
        move_stage(user=world.am_user, opportunity_id=theirs.pk, stage=S.QUOTE)
    with pytest.raises(NotFound):
        pw.opportunity(user=world.am_user, account=world.far)
    assert list(open_opportunities(user=world.am_user)) == []
    assert list(open_opportunities(user=world.other_user)) == [theirs]


def test_the_county_sees_its_accounts_opportunities_only(world):
    mine = pw.opportunity(user=world.am_user, account=world.a)
    pw.opportunity(user=world.other_user, account=world.far)
    assert list(open_opportunities(user=world.county_user)) == [mine]


def test_the_same_key_creates_one_opportunity(world):
    first = pw.opportunity(user=world.am_user, account=world.a, key="same")
    again = pw.opportunity(user=world.am_user, account=world.a, key="same", title="重复提交")
    assert first.pk == again.pk
    assert Opportunity.objects.count() == 1


def test_unknown_or_inactive_products_are_refused_and_nothing_is_saved(world):
    world.product.active = False
    world.product.save()
    with pytest.raises(ServiceError) as refused:
        pw.opportunity(user=world.am_user, account=world.a, product_ids=(world.product.pk,))
    assert refused.value.field == "products"
    assert Opportunity.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_moves_at_once_leave_one_consistent_history(tree):
    world = pw.build(tree)
    o = pw.opportunity(user=world.am_user, account=world.a)
    errors: list[BaseException] = []

    def click() -> None:
        try:
            move_stage(user=world.am_user, opportunity_id=o.pk, stage=S.PROPOSAL)
        except BaseException as exc:
            errors.append(exc)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # SQLite may refuse the second writer (locked); whichever ran, the history is consistent.
    moves = OpportunityStageChange.objects.filter(opportunity=o, to_stage=S.PROPOSAL).count()
    assert moves == 1
    assert Opportunity.objects.get(pk=o.pk).stage == S.PROPOSAL
