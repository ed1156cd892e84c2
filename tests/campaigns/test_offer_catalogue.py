"""The offer catalogue (优惠目录) in the console: each level manages its own offers and uses
its own and those of the levels above it; every change is audited; a used offer is retired,
never deleted."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from quanwang.campaigns.choices import CampaignState, OfferType
from quanwang.campaigns.demo import seed_offer_catalogue
from quanwang.campaigns.models import Campaign, Offer
from quanwang.campaigns.services import create_campaign, retire_offer, transition
from quanwang.campaigns.services.offers import (
    OfferTerms,
    catalogue,
    change_offer,
    delete_offer,
    unit_and_ancestor_paths,
    usable_offers,
)
from quanwang.core.choices import AuditAction, Role
from quanwang.core.errors import ServiceError
from quanwang.core.models import AuditRecord
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import EXPIRING, TODAY, design
from tests.campaigns.sandboxing import english_words

START = timezone.localdate()
END = START + dt.timedelta(days=180)


def posted(code: str = "CA-SUB-20", **fields: Any) -> dict[str, Any]:
    """The new-offer form as a marketer fills it in."""
    return {
        "code": code, "name": "本市续约补贴20元", "offer_type": OfferType.SUBSIDY,
        "description": "续约即送20元话费", "cost_per_taker": "20", "monthly_revenue_change": "0",
        "valid_from": str(START), "valid_until": str(END), "eligible_tiers": ["key", "large"],
        "eligible_payment": "postpaid", "eligibility": "在网满一年",
    } | fields  # fmt: skip


def an_offer(code: str, unit: Any, **fields: Any) -> Offer:
    values = {
        "name": f"优惠{code}", "offer_type": OfferType.GIFT, "cost_per_taker": Decimal("10"),
        "valid_from": START, "valid_until": END, "org_unit": unit,
    } | fields  # fmt: skip
    return Offer.objects.create(code=code, **values)


def terms(**fields: Any) -> OfferTerms:
    values: dict[str, Any] = {
        "name": "优惠", "offer_type": OfferType.GIFT, "cost_per_taker": Decimal("10"),
        "monthly_revenue_change": Decimal("0"), "valid_from": START, "valid_until": END,
    } | fields  # fmt: skip
    return OfferTerms(**values)


def listed(client: Client, **query: str) -> set[str]:
    page = client.get(reverse("campaigns:offers"), query)
    assert page.status_code == 200
    return {offer.code for offer, _status, _can in page.context["rows"]}


def test_a_city_marketer_creates_edits_and_retires_an_offer(
    tree: factories.Tree, client: Client
) -> None:
    # Given a city marketer of city A
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    client.force_login(marketer)

    # When they create an offer, then raise its cost, then retire it
    created = client.post(reverse("campaigns:offer-new"), posted(code=" ca-sub-20 "))
    offer = Offer.objects.get()
    edited = client.post(
        reverse("campaigns:offer-edit", args=[offer.pk]), posted(cost_per_taker="25")
    )
    offer.refresh_from_db()
    cost_after_edit = offer.cost_per_taker
    shown_before_retiring = listed(client)
    retired = client.post(
        reverse("campaigns:offer-retire", args=[offer.pk]), {"reason": "预算用完"}
    )
    offer.refresh_from_db()

    # Then the offer is city A's, under its normalised code, with its eligibility
    assert (created.status_code, edited.status_code, retired.status_code) == (302, 302, 302)
    assert (offer.code, offer.org_unit, offer.created_by) == ("CA-SUB-20", tree.city_a, marketer)
    assert (offer.eligible_tiers, offer.eligible_payment) == (["key", "large"], "postpaid")
    assert cost_after_edit == Decimal("25")
    # And retiring took it off the available list, not out of the catalogue
    assert offer.retired_at is not None
    assert offer.retired_by == marketer
    assert shown_before_retiring == {"CA-SUB-20"}
    assert listed(client) == set()
    assert listed(client, status="retired") == {"CA-SUB-20"}
    # And each step is in the audit log, the change with its old and new cost
    records = AuditRecord.objects.filter(target_id=str(offer.pk)).order_by("created_at", "pk")
    assert [r.action for r in records] == [
        AuditAction.OFFER_CREATED,
        AuditAction.OFFER_CHANGED,
        AuditAction.OFFER_RETIRED,
    ]
    assert "20.00 → 25.00" in records[1].reason
    assert records[2].reason == "预算用完"
    assert {r.org_unit for r in records} == {tree.city_a}


def test_a_county_marketer_sees_the_offers_above_and_their_own_but_not_another_citys(
    tree: factories.Tree, client: Client
) -> None:
    # Given offers at every level of both cities
    for code, unit in [
        ("PROV", tree.province), ("CITY-A", tree.city_a), ("COUNTY-A", tree.county_a),
        ("CITY-B", tree.city_b), ("COUNTY-B", tree.county_b),
    ]:  # fmt: skip
        an_offer(code, unit)
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    client.force_login(manager)

    # When the county manager of county A opens the catalogue and the new-campaign form
    seen = listed(client, status="all")
    usable = set(usable_offers(org_unit=tree.county_a).values_list("code", flat=True))

    # Then both show the province's, city A's and county A's offers, nothing of city B
    assert seen == {"PROV", "CITY-A", "COUNTY-A"}
    assert usable == {"PROV", "CITY-A", "COUNTY-A"}
    # And the province's offer is theirs to use, not to edit
    page = client.get(reverse("campaigns:offers"), {"status": "all"})
    can_change = {offer.code: can for offer, _status, can in page.context["rows"]}
    assert can_change == {"PROV": False, "CITY-A": False, "COUNTY-A": True}


def test_a_city_marketer_uses_the_offers_above_but_not_those_of_a_county_below(
    tree: factories.Tree,
) -> None:
    an_offer("PROV", tree.province)
    an_offer("CITY-A", tree.city_a)
    an_offer("COUNTY-A", tree.county_a)
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)

    usable = set(usable_offers(org_unit=tree.city_a).values_list("code", flat=True))
    seen = set(catalogue(user=marketer).values_list("code", flat=True))

    # A county's offer is for that county's campaigns; the city sees it but cannot attach it
    assert usable == {"PROV", "CITY-A"}
    assert seen == {"PROV", "CITY-A", "COUNTY-A"}


def test_a_user_of_another_scope_gets_404_on_edit_retire_and_delete(
    tree: factories.Tree, client: Client
) -> None:
    # Given an offer of city A and one of the province
    city_offer = an_offer("CITY-A", tree.city_a)
    province_offer = an_offer("PROV", tree.province)
    outsiders = [
        (factories.user(role=Role.CITY_MARKETER, at=tree.city_b), city_offer),
        # the province's offer is visible to county A, never changeable by it
        (factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a), province_offer),
    ]
    for outsider, offer in outsiders:
        client.force_login(outsider)

        # When they open, post, retire or delete the other scope's offer
        answers = [
            client.get(reverse("campaigns:offer-edit", args=[offer.pk])).status_code,
            client.post(
                reverse("campaigns:offer-edit", args=[offer.pk]), posted(cost_per_taker="0")
            ).status_code,
            client.post(reverse("campaigns:offer-retire", args=[offer.pk])).status_code,
            client.post(reverse("campaigns:offer-delete", args=[offer.pk])).status_code,
        ]

        # Then it does not exist for them, and it is unchanged
        assert answers == [404, 404, 404, 404]
        offer.refresh_from_db()
        assert (offer.cost_per_taker, offer.retired_at) == (Decimal("10"), None)
    # And roles that cannot manage offers get no form at all
    client.force_login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))
    assert client.get(reverse("campaigns:offers")).status_code == 200
    assert client.post(reverse("campaigns:offer-new"), posted()).status_code == 404
    assert not AuditRecord.objects.exists()


def test_a_double_clicked_create_gives_one_offer_and_a_taken_code_names_no_org(
    tree: factories.Tree, client: Client
) -> None:
    # Given a city marketer who posts the same new offer twice
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))
    first = client.post(reverse("campaigns:offer-new"), posted())
    second = client.post(reverse("campaigns:offer-new"), posted())

    # Then there is one offer, created (and audited) once
    assert (first.status_code, second.status_code) == (302, 302)
    assert Offer.objects.count() == 1
    assert AuditRecord.objects.filter(action=AuditAction.OFFER_CREATED).count() == 1

    # When a marketer of city B tries the same code
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_b))
    clash = client.post(
        reverse("campaigns:offer-new"), posted(name="乙市补贴"), HTTP_ACCEPT_LANGUAGE="en"
    )

    # Then they are told it is taken, without a word of whose it is
    assert clash.status_code == 200
    assert clash.context["form"].errors["code"] == ["This code is taken; choose another."]
    assert tree.city_a.name not in clash.content.decode()
    assert Offer.objects.count() == 1


def test_a_retired_offer_cannot_be_attached_to_a_new_campaign(
    tree: factories.Tree, city: Snapshot
) -> None:
    # Given a province offer retired by its marketer
    province_marketer = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    offer = an_offer("OLD-GIFT", tree.province, valid_from=TODAY, valid_until=END)
    retire_offer(actor=province_marketer, pk=offer.pk)

    # When a campaign is designed with it anyway
    with pytest.raises(ServiceError) as refused:
        create_campaign(
            actor=province_marketer,
            org_unit=tree.province,
            design=design(tree, offers=[offer]),
            today=TODAY,
        )

    # Then it is refused on the offers field, and the form never lists it
    assert refused.value.field == "offers"
    assert "OLD-GIFT" in refused.value.message
    assert not usable_offers(org_unit=tree.province, today=TODAY).filter(pk=offer.pk).exists()
    assert not Campaign.objects.exists()


def test_a_sibling_citys_offer_is_refused_without_naming_it(
    tree: factories.Tree, city: Snapshot
) -> None:
    sibling = an_offer("CITY-B-ONLY", tree.city_b, valid_from=TODAY, valid_until=END)
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)

    with pytest.raises(ServiceError) as refused:
        create_campaign(
            actor=marketer, org_unit=tree.city_a, design=design(tree, offers=[sibling]), today=TODAY
        )

    assert refused.value.field == "offers"
    assert "CITY-B-ONLY" not in refused.value.message


def test_a_city_marketer_creates_a_campaign_draft_with_their_city_offer(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given a city marketer of city A, a province offer, their own and city B's
    an_offer("PROV", tree.province)
    own = an_offer("CITY-A", tree.city_a)
    an_offer("CITY-B", tree.city_b)
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))
    client.post(
        reverse("campaigns:segments"),
        {"name": "到期", "rule": json.dumps(EXPIRING), "description": ""},
    )
    form = client.get(reverse("campaigns:new")).context["form"]
    [version] = list(form.fields["segment_version"].queryset)
    choices = set(form.fields["offers"].queryset.values_list("code", flat=True))

    # When they create a campaign with their city's offer
    start = START + dt.timedelta(days=1)
    created = client.post(
        reverse("campaigns:new"),
        {
            "name": "甲市续约关怀", "campaign_type": "retention",
            "hypothesis": "到期前关怀可降低离网",
            "objective_metric": "续约数", "objective_target": "10",
            "objective_deadline": str(start + dt.timedelta(days=30)),
            "segment_version": version.pk, "offers": [own.pk], "channels": ["sms"],
            "starts_on": str(start), "ends_on": str(start + dt.timedelta(days=30)),
            "budget": "1000", "control_share": "10", "seed": "3",
        },
    )  # fmt: skip

    # Then the form offered the province's and their own offers only, and the draft has it
    assert choices == {"PROV", "CITY-A"}
    assert created.status_code == 302, created.context["form"].errors
    campaign = Campaign.objects.get()
    assert (campaign.state, campaign.org_unit) == (CampaignState.DRAFT, tree.city_a)
    assert list(campaign.offers.all()) == [own]


def test_a_used_offer_is_never_deleted_and_a_committed_ones_terms_stay(
    tree: factories.Tree, city: Snapshot
) -> None:
    # Given a province offer used by a submitted campaign, and an unused one
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    used = an_offer("USED", tree.province, valid_from=TODAY, valid_until=END)
    unused = an_offer("UNUSED", tree.province)
    campaign = create_campaign(
        actor=admin, org_unit=tree.province, design=design(tree, offers=[used]), today=TODAY
    )
    transition(actor=admin, campaign=campaign, move="submit")

    # When the admin deletes both, and changes the used one's cost, then its end date
    delete_offer(actor=admin, pk=unused.pk)
    with pytest.raises(ServiceError) as not_deleted:
        delete_offer(actor=admin, pk=used.pk)
    with pytest.raises(ServiceError) as cost_fixed:
        change_offer(actor=admin, pk=used.pk, terms=terms(name=used.name, valid_from=TODAY,
                     valid_until=END, cost_per_taker=Decimal("99")))  # fmt: skip
    extended = change_offer(
        actor=admin,
        pk=used.pk,
        terms=terms(name=used.name, valid_from=TODAY, valid_until=END + dt.timedelta(days=30)),
    )

    # Then the unused one is gone, the used one stays with its cost, its validity extended
    assert not Offer.objects.filter(pk=unused.pk).exists()
    assert "retire" in not_deleted.value.message
    assert cost_fixed.value.field == "cost_per_taker"
    assert (extended.cost_per_taker, extended.valid_until) == (
        Decimal("10"),
        END + dt.timedelta(days=30),
    )
    assert list(campaign.offers.all()) == [used]


def test_the_demo_seeds_a_city_and_a_county_offer_the_city_marketer_can_attach(
    tree: factories.Tree,
) -> None:
    seed_offer_catalogue(root=tree.province, today=START)
    seed_offer_catalogue(root=tree.province, today=START)  # run again: the same catalogue

    by_level = {o.org_unit.code: o.code for o in Offer.objects.exclude(org_unit=tree.province)}
    usable = set(usable_offers(org_unit=tree.city_a).values_list("code", flat=True))

    assert by_level == {"CA": "CA-SUB-20", "CA-1": "CA-1-GIFT-STORE"}
    assert Offer.objects.filter(org_unit=tree.province).count() == len(OfferType.values)
    assert "CA-SUB-20" in usable
    assert "CA-1-GIFT-STORE" not in usable


def test_the_offer_pages_speak_chinese(tree: factories.Tree, client: Client) -> None:
    # Given a city marketer with an offer of their own, one retired and one from above
    an_offer("PROV-GIFT", tree.province, eligible_tiers=["key"], eligible_payment="prepaid")
    own = an_offer("CA-RED", tree.city_a, offer_type=OfferType.RED_PACKET, description="红包")
    gone = an_offer("CA-OLD", tree.city_a, retired_at=timezone.now())
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))

    # When they open the catalogue, the new form, an edit form and a retired offer in Chinese
    urls = [
        reverse("campaigns:offers") + "?status=all",
        reverse("campaigns:offer-new"),
        reverse("campaigns:offer-edit", args=[own.pk]),
        reverse("campaigns:offer-edit", args=[gone.pk]),
    ]
    pages = {url: client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans") for url in urls}

    # Then each shows no English word besides the codes they typed
    for url, page in pages.items():
        assert page.status_code == 200, url
        assert english_words(page.content.decode()) == [], url
    assert "优惠目录" in pages[urls[0]].content.decode()


@given(st.lists(st.from_regex(r"[A-Z0-9][A-Z0-9-]{0,5}", fullmatch=True), min_size=1, max_size=5))
def test_a_units_ancestor_paths_are_exactly_its_path_prefixes(codes: list[str]) -> None:
    path = "/" + "/".join(codes) + "/"
    sibling = "/" + "/".join([*codes[:-1], codes[-1] + "X"]) + "/"

    found = unit_and_ancestor_paths(path)

    assert found[-1] == path
    assert len(found) == len(codes)
    assert all(path.startswith(p) and p.endswith("/") for p in found)
    assert sibling not in found
    assert not any(p.startswith(sibling) for p in found)
