"""The opt-out review list (退订复核): unclear replies wait for a marketer of the customer's
unit, who opts the customer out or dismisses the reply, once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.test import Client

from quanwang.campaigns.choices import ReviewState
from quanwang.campaigns.dispatch import opt_outs_file
from quanwang.campaigns.models import ReplyReview
from quanwang.campaigns.policy import SHANGHAI
from quanwang.campaigns.reviews import decide_review
from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit
from tests import factories

RECEIVED = dt.datetime(2024, 7, 2, 11, 0, tzinfo=SHANGHAI)


def _review(unit: OrgUnit, subscriber: str, text: str = "退款怎么办") -> ReplyReview:
    return ReplyReview.objects.create(
        message_id=f"M-{subscriber}", subscriber_id=subscriber, text=text,
        received_at=RECEIVED, org_unit=unit,
    )  # fmt: skip


def _opted_out() -> list[dict[str, Any]]:
    if not opt_outs_file().exists():
        return []
    return pq.read_table(opt_outs_file()).to_pylist()


def test_a_county_manager_lists_the_replies_of_their_county_only(
    tree: factories.Tree, client: Client
) -> None:
    # Given a reply in each county
    _review(tree.grid_a, "SA1", "不要再给我打电话")
    _review(tree.grid_b, "SB1", "FOREIGN 退款")
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))

    # When county A's manager opens the review list
    page = client.get("/campaigns/replies/")

    # Then only their county's reply is there, with the buttons to decide
    body = page.content.decode()
    assert page.status_code == 200
    assert "不要再给我打电话" in body
    assert "FOREIGN" not in body
    assert 'value="opted_out"' in body


def test_deciding_opt_out_records_the_opt_out_as_of_the_reply(
    tree: factories.Tree, client: Client
) -> None:
    # Given a pending reply of grid A and a city marketer of city A
    review = _review(tree.grid_a, "SA1")
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    client.force_login(marketer)

    # When they decide it is an opt-out
    answer = client.post(f"/campaigns/replies/{review.pk}/", {"decision": "opted_out"})

    # Then the customer is opted out of SMS from the time of the reply, and who decided is kept
    review.refresh_from_db()
    assert answer.status_code == 302
    assert (review.state, review.decided_by) == (ReviewState.OPTED_OUT, marketer)
    assert [(r["subscriber_id"], r["channel"], r["opted_out_at"]) for r in _opted_out()] == [
        ("SA1", "sms", RECEIVED)
    ]


def test_dismissing_records_no_opt_out_and_the_reply_moves_to_decided(
    tree: factories.Tree, client: Client
) -> None:
    review = _review(tree.grid_a, "SA1")
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))

    client.post(f"/campaigns/replies/{review.pk}/", {"decision": "dismissed"})

    pending = client.get("/campaigns/replies/").content.decode()
    decided = client.get("/campaigns/replies/?decided=1").content.decode()
    assert _opted_out() == []
    assert f'id="review-{review.pk}"' not in pending
    assert f'id="review-{review.pk}"' in decided


def test_a_reply_is_decided_once(tree: factories.Tree) -> None:
    # Given a reply already dismissed
    review = _review(tree.grid_a, "SA1")
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    decide_review(actor=manager, pk=review.pk, decision=ReviewState.DISMISSED)

    # When someone else tries to opt it out
    with pytest.raises(ServiceError, match="decided already"):
        decide_review(actor=manager, pk=review.pk, decision=ReviewState.OPTED_OUT)

    # Then the first decision stands
    review.refresh_from_db()
    assert review.state == ReviewState.DISMISSED
    assert _opted_out() == []


@pytest.mark.parametrize("decision", ["pending", "", "opt_out"])
def test_a_decision_that_is_not_one_is_refused(tree: factories.Tree, decision: str) -> None:
    review = _review(tree.grid_a, "SA1")
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    with pytest.raises(ServiceError) as refused:
        decide_review(actor=manager, pk=review.pk, decision=decision)

    assert refused.value.field == "decision"


def test_another_countys_reply_cannot_be_decided(tree: factories.Tree, client: Client) -> None:
    foreign = _review(tree.grid_b, "SB1")
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))

    answer = client.post(f"/campaigns/replies/{foreign.pk}/", {"decision": "opted_out"})

    foreign.refresh_from_db()
    assert answer.status_code == 404
    assert foreign.state == ReviewState.PENDING
    assert _opted_out() == []


@pytest.mark.parametrize("role", [Role.GRID_MANAGER, Role.AGENCY, Role.CHANNEL_MANAGER])
def test_roles_that_do_not_decide_opt_outs_have_no_review_list(
    tree: factories.Tree, client: Client, role: Role
) -> None:
    review = _review(tree.grid_a, "SA1")
    client.force_login(factories.user(role=role, at=tree.grid_a))

    assert client.get("/campaigns/replies/").status_code == 404
    assert (
        client.post(f"/campaigns/replies/{review.pk}/", {"decision": "opted_out"}).status_code
        == 404
    )
    with pytest.raises(NotFound):
        decide_review(actor=factories.user(role=role, at=tree.grid_a), pk=review.pk,
                      decision=ReviewState.OPTED_OUT)  # fmt: skip


def test_an_auditor_reads_the_list_but_cannot_decide(tree: factories.Tree, client: Client) -> None:
    review = _review(tree.grid_a, "SA1")
    client.force_login(factories.user(role=Role.AUDITOR, at=tree.province))

    page = client.get("/campaigns/replies/").content.decode()
    answer = client.post(f"/campaigns/replies/{review.pk}/", {"decision": "opted_out"})

    assert f'id="review-{review.pk}"' in page
    assert 'value="opted_out"' not in page
    assert answer.status_code == 404


def test_the_review_list_is_in_a_marketers_navigation(tree: factories.Tree, client: Client) -> None:
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))

    assert 'href="/campaigns/replies/"' in client.get("/").content.decode()
