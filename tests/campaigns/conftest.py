from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import override_settings
from django.utils import translation

from quanwang.campaigns.choices import CampaignType, Channel, OfferType
from quanwang.campaigns.models import Campaign, Offer
from quanwang.campaigns.policy import SHANGHAI
from quanwang.campaigns.segments import save_segment
from quanwang.campaigns.services import Design, create_campaign, start_dispatch, transition
from quanwang.core.choices import JobStatus, Role
from quanwang.core.jobs import execute_job
from quanwang.data.importer import import_file
from quanwang.insight.pipeline import run_pipeline
from quanwang.insight.snapshots import Snapshot, SnapshotStore
from tests import factories
from tests.campaigns.gateway import Gateway
from tests.insight.conftest import PLANS, subscriber, usage_rows

MONTH = "2024-06"
TODAY = dt.date(2024, 7, 1)
TEN_AM = dt.datetime(2024, 7, 2, 10, 0, tzinfo=SHANGHAI)
CITY_GRIDS = ("CA-1-G1", "CB-1-G1")
EXPIRING = {"field": "contract_expiring_3m", "op": "is", "value": True}


@pytest.fixture(autouse=True)
def english() -> Any:
    """Errors are checked in English; zh-hans is the default and has its own catalogue."""
    with translation.override("en"):
        yield


@pytest.fixture
def gateway(settings: Any) -> Iterator[Gateway]:
    served = Gateway()
    settings.QUANWANG_CHANNELS = {
        "sms": {"url": served.url, "token": "t", "sender": "【测试移动】"}
    }
    yield served
    served.close()


def build_city(tree: factories.Tree, tmp_path: Path) -> Snapshot:
    """A June snapshot of 200 customers: S000-S099 in grid A, S100-S199 in grid B; ARPU rises
    with the number; every fourth has a contract ending within 3 months."""
    people, usage = [], []
    for i in range(200):
        grid = tree.grid_a.code if i < 100 else tree.grid_b.code
        contract = dt.date(2024, 8, 15) if i % 4 == 0 else dt.date(2026, 1, 1)
        sid = f"S{i:03d}"
        people.append(subscriber(sid, grid_id=grid, contract_end_date=contract))
        usage += usage_rows(sid, {"2024-04": 10 + i, "2024-05": 10 + i, "2024-06": 10 + i})
    files = factories.canonical_files(
        tmp_path, plans=PLANS, subscribers=people, monthly_usage=usage
    )
    return run_pipeline(month=MONTH, files=files)


@pytest.fixture(scope="session")
def city_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The city's snapshot, built once per session in a var folder of its own (the pipeline
    takes seconds; tests copy the result). It needs only the grid codes, not the database."""
    var = tmp_path_factory.mktemp("city-var")
    grids = SimpleNamespace(
        grid_a=SimpleNamespace(code=CITY_GRIDS[0]), grid_b=SimpleNamespace(code=CITY_GRIDS[1])
    )
    with override_settings(VAR_DIR=var):
        build_city(grids, tmp_path_factory.mktemp("city-files"))  # type: ignore[arg-type]
    return var


@pytest.fixture
def city(tree: factories.Tree, city_var: Path, settings: Any) -> Snapshot:
    assert (tree.grid_a.code, tree.grid_b.code) == CITY_GRIDS
    shutil.copytree(city_var / "insight", Path(settings.VAR_DIR) / "insight")
    snapshot = SnapshotStore().latest()
    assert snapshot is not None
    return snapshot


def load_city_warehouse(
    tree: factories.Tree, tmp_path: Path, *, stores_a: int = 3, consent_call: bool | None = True
) -> None:
    """The city's 200 customers in the warehouse (with numbers, names and call consent), its
    two grids, and `stores_a` stores in grid A; grid B has none."""
    grids = [
        {"grid_id": g.code, "name": g.name, "grid_type": "沿街", "county_code": "X"}
        for g in (tree.grid_a, tree.grid_b)
    ]
    people = [
        {"subscriber_id": f"S{i:03d}", "msisdn": f"138{i:08d}", "name": f"王{i}",
         "segment": "个人", "payment_type": "postpaid", "join_date": dt.date(2020, 1, 1),
         "status": "active", "plan_id": "P4G", "consent_call": consent_call,
         "grid_id": tree.grid_a.code if i < 100 else tree.grid_b.code}
        for i in range(200)
    ]  # fmt: skip
    stores = [
        {"store_id": f"ST-A{n}", "name": f"甲{n}店", "store_type": "自营厅",
         "grid_id": tree.grid_a.code}
        for n in range(1, stores_a + 1)
    ]  # fmt: skip
    files = factories.canonical_files(
        tmp_path, plans=PLANS, grids=grids, subscribers=people, stores=stores
    )
    for table in ("plans", "grids", "subscribers", "stores"):
        import_file(table_name=table, path=files[table])


def marketer(tree: factories.Tree, **extra: Any) -> Any:
    return factories.user(role=Role.CITY_MARKETER, at=tree.province, **extra)


def offer(tree: factories.Tree, **fields: Any) -> Offer:
    values = {
        "code": "RET-30",
        "name": "续约送30元话费",
        "offer_type": OfferType.SUBSIDY,
        "cost_per_taker": Decimal("30"),
        "valid_from": dt.date(2024, 7, 1),
        "valid_until": dt.date(2024, 12, 31),
        "org_unit": tree.province,
    } | fields
    code = values.pop("code")
    offer, _created = Offer.objects.get_or_create(code=code, defaults=values)
    return offer


def design(tree: factories.Tree, rule: Any = None, **fields: Any) -> Design:
    version = save_segment(
        actor=None, name="合约到期", rule=rule or EXPIRING, org_unit=tree.province
    )
    values: dict[str, Any] = {
        "name": "七月合约续约",
        "campaign_type": CampaignType.RETENTION,
        "hypothesis": "合约到期前一个月给予话费补贴，可降低到期离网",
        "objective_metric": "续约客户数",
        "objective_target": Decimal("10"),
        "objective_deadline": dt.date(2024, 8, 31),
        "segment_version": version,
        "offers": [offer(tree)],
        "channels": [Channel.SMS, Channel.TASK],
        "starts_on": dt.date(2024, 7, 1),
        "ends_on": dt.date(2024, 8, 31),
        "budget": Decimal("5000"),
    } | fields
    return Design(**values)


def approved(tree: factories.Tree, designer: Any, chosen: Design | None = None) -> Campaign:
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=chosen or design(tree), today=TODAY
    )
    # Acknowledged, should its estimate expect a loss: these campaigns are about what follows.
    campaign = transition(actor=designer, campaign=campaign, move="submit", acknowledge_loss=True)
    approver = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    return transition(actor=approver, campaign=campaign, move="approve", comment="同意")


def dispatch_tasks(
    designer: Any,
    campaign: Campaign,
    *,
    step: str = "t1",
    at: dt.datetime = TEN_AM,
    text: str = "上门介绍续约优惠",
) -> dict[str, Any]:
    """Send an issued campaign's task step to the task lists, run the job to its end."""
    job = start_dispatch(
        actor=designer, campaign=campaign, step=step, channel=Channel.TASK,
        text=text, send_at=at, background=False,
    )  # fmt: skip
    execute_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    return dict(job.result or {})
