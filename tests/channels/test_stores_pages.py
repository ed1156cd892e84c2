"""The store list and the store page: scoping, masked personal data, the audited reveal, the
partner stage decided with history, the export and the API."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from quanwang.channels.choices import PartnerStage, StageSource, StoreType
from quanwang.channels.models import StageChange, Store
from quanwang.channels.stores.services import change_stage
from quanwang.core.choices import AuditAction, Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import AuditRecord
from tests import factories

PHONE = "13912345678"


def make_store(unit: Any, store_id: str = "S1", **extra: Any) -> Store:
    fields = {
        "name": f"网点{store_id}",
        "store_type": StoreType.PARTNER,
        "org_unit": unit,
        "grid_id": unit.code,
        "owner_name": "王大明",
        "contact_msisdn": PHONE,
        "lat": 30.1,
        "lon": 120.2,
    } | extra
    return Store.objects.create(store_id=store_id, **fields)


@pytest.fixture
def stores(tree: factories.Tree) -> tuple[Store, Store]:
    return make_store(tree.grid_a, "SA"), make_store(tree.grid_b, "SB")


def test_another_countys_user_gets_404_on_a_store_page(
    tree: factories.Tree, stores: tuple[Store, Store], login: Any
) -> None:
    # given a grid manager of county A and a store of county B
    client = login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))
    # when they open the other county's store page, reveal or change it
    page = client.get(reverse("channels:stores-detail", args=["SB"]))
    reveal = client.post(reverse("channels:stores-reveal", args=["SB"]), {"reason": "核对"})
    stage = client.post(
        reverse("channels:stores-stage", args=["SB"]), {"stage": "谈恋爱", "reason": "x"}
    )
    # then each answers 404, and their own store's page opens
    assert [page.status_code, reveal.status_code, stage.status_code] == [404, 404, 404]
    assert client.get(reverse("channels:stores-detail", args=["SA"])).status_code == 200
    assert not AuditRecord.objects.exists()


def test_partner_login_sees_only_its_own_stores(
    tree: factories.Tree, stores: tuple[Store, Store], login: Any
) -> None:
    # given a partner login of store SA only, held at the province
    partner = factories.user(role=Role.CHANNEL_PARTNER, at=tree.province)
    stores[0].partners.add(partner)
    client = login(partner)
    # when it opens the list and both store pages
    listing = client.get(reverse("channels:stores-list"))
    # then it lists SA only, opens SA, and gets 404 on SB
    # (by link and name: a bare "SB" can turn up in the page's random CSRF token)
    assert "/channels/stores/SA/" in listing.content.decode()
    assert "/channels/stores/SB/" not in listing.content.decode()
    assert "网点SB" not in listing.content.decode()
    assert client.get(reverse("channels:stores-detail", args=["SA"])).status_code == 200
    assert client.get(reverse("channels:stores-detail", args=["SB"])).status_code == 404
    # and it may neither reveal the contact nor change the stage of its own store
    reveal = client.post(reverse("channels:stores-reveal", args=["SA"]), {"reason": "看看"})
    assert reveal.status_code == 404
    # and the coverage view and the rules are not for it
    assert client.get(reverse("channels:stores-coverage")).status_code == 404
    assert client.get(reverse("channels:stores-rules")).status_code == 404


def test_store_page_masks_the_owner_and_contact(
    tree: factories.Tree, stores: tuple[Store, Store], login: Any
) -> None:
    # given a county manager of county A
    client = login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))
    # when they open the store page and the list
    page = client.get(reverse("channels:stores-detail", args=["SA"])).content.decode()
    listing = client.get(reverse("channels:stores-list")).content.decode()
    # then neither shows the number or the name in full
    for html in (page, listing):
        assert PHONE not in html
        assert "王大明" not in html
        assert "139****5678" in html
        assert "王**" in html


def test_reveal_needs_a_reason_and_is_audited(
    tree: factories.Tree, stores: tuple[Store, Store], login: Any
) -> None:
    # given a grid manager of grid A on their store's page
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    client = login(manager)
    url = reverse("channels:stores-reveal", args=["SA"])
    # when they ask without a reason, nothing is shown or recorded
    refused = client.post(url, {"reason": "  "}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 422
    assert PHONE not in refused.content.decode()
    assert not AuditRecord.objects.exists()
    # when they give one, the full contact is shown and the view recorded
    shown = client.post(url, {"reason": "回访店主"}, HTTP_HX_REQUEST="true")
    assert PHONE in shown.content.decode()
    record = AuditRecord.objects.get()
    assert record.action == AuditAction.VIEW_PII
    assert record.actor == manager
    assert record.reason == "回访店主"
    assert record.org_unit == tree.grid_a
    assert PHONE not in record.target_repr


def test_auditor_cannot_reveal(
    tree: factories.Tree, stores: tuple[Store, Store], login: Any
) -> None:
    # given an auditor at the province (VIEW on stores, no VIEW_PII)
    client = login(factories.user(role=Role.AUDITOR, at=tree.province))
    # when they open a store page and try to reveal
    page = client.get(reverse("channels:stores-detail", args=["SA"])).content.decode()
    reveal = client.post(reverse("channels:stores-reveal", args=["SA"]), {"reason": "审计"})
    # then the page has no reveal form and the request is refused
    assert reverse("channels:stores-reveal", args=["SA"]) not in page
    assert reveal.status_code == 404


def test_stage_change_keeps_who_when_why(
    tree: factories.Tree, stores: tuple[Store, Store], login: Any
) -> None:
    # given a channel manager of county A
    manager = factories.user(role=Role.CHANNEL_MANAGER, at=tree.county_a)
    client = login(manager)
    # when they move store SA to 谈恋爱 with a reason
    answer = client.post(
        reverse("channels:stores-stage", args=["SA"]),
        {"stage": PartnerStage.COURTING, "reason": "连续三个月完成任务"},
    )
    # then the store is courting and the history says who, when, why and what was suggested
    assert answer.status_code == 302
    assert Store.objects.get(store_id="SA").partner_stage == PartnerStage.COURTING
    change = StageChange.objects.get()
    assert change.changed_by == manager
    assert change.reason == "连续三个月完成任务"
    assert change.source == StageSource.CONSOLE
    assert change.to_stage == PartnerStage.COURTING
    assert change.from_stage == ""
    assert change.suggested_stage == PartnerStage.FORCED  # no facts yet: no opening date
    assert change.changed_at is not None
    # and the store page shows it
    page = client.get(reverse("channels:stores-detail", args=["SA"])).content.decode()
    assert "连续三个月完成任务" in page


def test_stage_change_without_reason_or_to_the_same_stage_is_refused(
    tree: factories.Tree, stores: tuple[Store, Store]
) -> None:
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    with pytest.raises(ServiceError) as no_reason:
        change_stage(actor=manager, store_id="SA", stage=PartnerStage.SETTLED, reason=" ")
    assert no_reason.value.field == "reason"
    change_stage(actor=manager, store_id="SA", stage=PartnerStage.SETTLED, reason="签约三年")
    # a second click of the same form changes nothing more
    with pytest.raises(ServiceError):
        change_stage(actor=manager, store_id="SA", stage=PartnerStage.SETTLED, reason="签约三年")
    assert StageChange.objects.count() == 1
    # an auditor may read but not decide
    auditor = factories.user(role=Role.AUDITOR, at=tree.province)
    with pytest.raises(NotFound):
        change_stage(actor=auditor, store_id="SA", stage=PartnerStage.COURTING, reason="x")


def test_export_is_filtered_scoped_and_masked(
    tree: factories.Tree, stores: tuple[Store, Store], login: Any
) -> None:
    # given a third store of another type in grid A
    make_store(tree.grid_a, "SA2", store_type=StoreType.OWN_HALL)
    client = login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))
    # when they export the partner stores
    answer = client.get(reverse("channels:stores-export"), {"store_type": "合作店"})
    book = load_workbook(io.BytesIO(answer.content))
    rows = list(book.active.iter_rows(values_only=True))
    # then the workbook holds their own county's partner store only, masked
    ids = [r[0] for r in rows[1:]]
    assert ids == ["SA"]
    assert PHONE not in str(rows)
    assert "139****5678" in str(rows)


# Until quanwang.api mounts the stores router, the API tests mount it on a copy of the API here.
urlpatterns: list[Any] = []
_TEST_API: list[Any] = []


@pytest.fixture
def stores_api(settings: Any) -> None:
    from django.urls import Resolver404, path, resolve

    try:
        resolve("/api/v1/channels/stores")
        return
    except Resolver404:
        pass
    from quanwang import urls as console_urls
    from quanwang.api import QuanwangAPI, TokenAuth
    from quanwang.api import api as console_api
    from quanwang.channels.stores.api import router

    if not _TEST_API:
        copy = QuanwangAPI(auth=TokenAuth(), urls_namespace="stores-api-test")
        copy._exception_handlers = dict(console_api._exception_handlers)
        copy.add_router("/", router)
        _TEST_API.append(copy)
    urlpatterns[:] = [path("api/v1/", _TEST_API[0].urls), *console_urls.urlpatterns]
    settings.ROOT_URLCONF = __name__


def test_api_lists_and_reveals_within_scope(
    tree: factories.Tree, stores: tuple[Store, Store], client: Client, stores_api: None
) -> None:
    from quanwang.core.services.tokens import create_token

    # given an API token of a grid manager of grid A
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    _token, secret = create_token(user=manager, name="t", days=30)
    headers = {"Authorization": f"Bearer {secret}"}
    # when it lists stores, reads one, and reveals its contact
    listing = client.get("/api/v1/channels/stores", headers=headers)
    other = client.get("/api/v1/channels/stores/SB", headers=headers)
    reveal = client.post(
        "/api/v1/channels/stores/SA/reveal",
        {"reason": "接口核对"},
        content_type="application/json",
        headers=headers,
    )
    # then it sees its store masked, not the other county's, and the reveal is audited
    assert [s["store_id"] for s in listing.json()["items"]] == ["SA"]
    assert listing.json()["items"][0]["contact_masked"] == "139****5678"
    assert other.status_code == 404
    assert reveal.json()["contact_msisdn"] == PHONE
    assert AuditRecord.objects.filter(reason="接口核对").count() == 1


def test_store_page_shows_monthly_sales_from_the_warehouse(
    tree: factories.Tree, tmp_path: Path, login: Any
) -> None:
    from tests.channels.test_stores_sync import STORE_HEADER, grids_csv, load, store_line

    # given a store with two months of sales in the warehouse
    load(
        tmp_path,
        grids=grids_csv(tree),
        stores=STORE_HEADER + store_line("S1", tree.grid_a.code),
        store_sales="store_id,month,product,units,revenue\n"
        "S1,2024-05,宽带,3,300\nS1,2024-06,宽带,4,412.5\nS1,2024-06,5G,1,99\n",
    )
    from quanwang.channels.stores.sync import sync_stores

    sync_stores()
    client = login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))
    # when the store page opens
    html = client.get(reverse("channels:stores-detail", args=["S1"])).content.decode()
    # then June's units and revenue are summed over products
    assert "2024-06" in html
    assert "511.50" in html


def test_store_pages_read_in_chinese(tree: factories.Tree, tmp_path: Path, login: Any) -> None:
    from quanwang.channels.stores.regrading import regrade
    from tests.channels.test_stores_grading import _city
    from tests.web.test_every_page_zh import ALLOWED_WORDS, DATA_WORDS, english_words

    # given graded stores, one with a stage decided in the console
    _city(tree, tmp_path)
    regrade(month="2024-05")
    regrade(month="2024-06")
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    change_stage(actor=admin, store_id="S5", stage=PartnerStage.COURTING, reason="签约")
    client = login(admin)
    # when the province opens each page of the stores part in Chinese
    pages = [
        reverse("channels:stores-list"),
        reverse("channels:stores-detail", args=["S5"]),
        reverse("channels:stores-coverage"),
        reverse("channels:stores-rules"),
    ]
    for url in pages:
        answer = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        # then each answers, with no English word on it
        assert answer.status_code == 200, url
        html = answer.content.decode()
        # (this part's own text: the navigation and the sections other parts add are theirs)
        main = html[html.index("<main>") : html.index("</main>")].split('<div id="part-sections"')[
            0
        ]
        found = english_words(main, ALLOWED_WORDS | DATA_WORDS)
        assert not found, (url, found)


def test_api_store_detail_stage_and_rules(
    tree: factories.Tree, stores: tuple[Store, Store], client: Client, stores_api: None
) -> None:
    from quanwang.core.services.tokens import create_token

    # given API tokens of a grid manager of grid A and of the province admin
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    mine = {"Authorization": f"Bearer {create_token(user=manager, name='m', days=30)[1]}"}
    province = {"Authorization": f"Bearer {create_token(user=admin, name='a', days=30)[1]}"}
    # when the manager reads their store and moves its stage
    detail = client.get("/api/v1/channels/stores/SA", headers=mine)
    moved = client.post(
        "/api/v1/channels/stores/SA/stage",
        {"stage": "谈恋爱", "reason": "接口调整"},
        content_type="application/json",
        headers=mine,
    )
    # then the store comes masked with its (empty) grade history, and the move is kept
    assert detail.status_code == 200
    assert detail.json()["org_unit_code"] == tree.grid_a.code
    assert detail.json()["gradings"] == []
    assert moved.json()["to_stage"] == "谈恋爱"
    assert StageChange.objects.get().changed_by == manager
    # and rule sets: the manager may not save one, the province's bad one is refused by field
    rules = {
        "weight_sales": 50, "weight_footfall": 20, "weight_conversion": 15,
        "weight_location": 15, "weight_growth": 10, "key_min": 70, "anchor_min": 40,
        "location_points": {"沿街": 100},
    }  # fmt: skip
    post = "/api/v1/channels/grading-rules"
    refused = client.post(post, rules, content_type="application/json", headers=mine)
    bad = client.post(post, rules, content_type="application/json", headers=province)
    good = client.post(
        post, rules | {"weight_sales": 40}, content_type="application/json", headers=province
    )
    assert refused.status_code == 404
    assert (bad.status_code, bad.json()["field"]) == (422, "weight_sales")
    assert good.status_code == 201
    assert good.json()["version"] == 1
