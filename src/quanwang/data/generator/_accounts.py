"""Enterprise accounts beyond the enterprises' first columns: the 集团 hierarchy, credit codes
and status, the products each account holds (enterprise_products) and its business orders
(enterprise_orders). Draws of their own (the generator's ninth seed), so every older column
keeps its draws.

Hierarchy
    The largest 8% of enterprises (by size) head a 集团 and are never branches. Of the rest,
    13% are branches: 75% of them (level 2) of a head drawn by size, the others (level 3) of
    a level-2 branch drawn uniformly, so a tree has at most three levels and parents always
    sit a level above their children (no cycle can arise). A branch takes its parent's
    industry and is named "<parent> <district>分公司".
Credit codes (统一社会信用代码, GB 32100-2015)
    "91" (company), "12" (public institution: 教育, 医疗卫生) or "11" (政府机关), the district's
    area code (4401xx), nine characters of the organisation code (distinct: the enterprise's
    number in base 31 with a random high part), and the check character. 4% have none (older
    records). Status: heads 正常; others 正常/停业/注销 with P .93/.04/.03.
Products (enterprise_products; none for 注销 accounts)
    P(hold product p) = σ(a_p + b_p ln(size / 50) + industry affinity), one instance each, and
    1 + Poisson(0.25 ln(1 + size / 200)) of 专线 and 物联网. Monthly fee: the product's base ×
    (size / 50)^e_p × LogNormal(0, 0.3), in whole yuan. Started end - Exp(mean 30 months)
    (at most 15 years back, 10% within the data's months). 55% (more for A/B accounts) hold an
    agreement (协议) ending end + U(-2, 24) months (so 12% within 3 months of the end, a few
    already lapsed), never before a month after the start; without one, contract_end is
    blank. 22% are bundled (捆绑); 10% prepaid (趸交) 6-24 months' fees.
Orders (enterprise_orders)
    Each account and month: Poisson(0.04 + 0.05 · products held) orders, created uniformly in
    the month. Kind 新装/变更/拆机/故障/咨询 with P .18/.22/.05/.33/.22; the product is one the
    account holds (新装: any; 咨询: half without one). Orders created over 14 days before the
    last day are 已完成 (90%) or 已撤销, closed Exp(mean 4 days) later (by the last day);
    newer ones are 受理中/处理中/已完成 (.3/.4/.3). Amount: 新装 a one-off fee of 1-3 months',
    变更 half of the time 0, other kinds none.
Ground truth (ground_truth/enterprise_churn.parquet)
    Per enterprise: members still with us after the last month, members who left in the last
    three months, and the true next-month churn hazard of its members (mean, and Σ h: the
    members expected to leave), from the same η as treatment_effects' h0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from quanwang.data.credit_codes import CHARSET, WEIGHTS
from quanwang.data.generator import _arrow as ax
from quanwang.data.generator import _vocab as vocab
from quanwang.data.generator._world import Enterprises, Geography
from quanwang.data.schema import (
    ENTERPRISE_PRODUCTS,
    ENTERPRISE_STATUSES,
    ORDER_KINDS,
    ORDER_STATUSES,
)

Arr = Any


@dataclass(frozen=True)
class Held:
    """enterprise_products and, per row, its enterprise and product as indices (rows in
    enterprise order); `count`: how many instances each enterprise holds."""

    table: Any
    owner: Arr
    product: Arr
    count: Arr


HEAD_SHARE = 0.08
BRANCH_SHARE = 0.13
LEVEL3_SHARE = 0.25
NO_CODE_SHARE = 0.04
STATUS_P = (0.93, 0.04, 0.03)  # 正常 停业 注销
# The districts' administrative area codes (行政区划代码), in vocab.DISTRICTS order.
AREA_CODES = {
    "YX": "440104", "LW": "440103", "HZ": "440105", "TH": "440106", "BY": "440111",
    "HP": "440112", "PY": "440113", "HD": "440114", "NS": "440115", "CH": "440117",
    "ZC": "440118",
}  # fmt: skip
# Per product (ENTERPRISE_PRODUCTS order): hold logit a, size slope b, base fee (yuan a
# month), fee's size elasticity.
PRODUCT_A = np.array([0.4, -1.3, -1.8, -2.2, -4.2, -1.0, 0.2])
PRODUCT_B = np.array([0.25, 0.45, 0.35, 0.4, 0.7, 0.3, 0.2])
PRODUCT_FEE = np.array([120.0, 1800.0, 300.0, 900.0, 15000.0, 200.0, 80.0])
PRODUCT_FEE_SIZE = np.array([0.6, 0.3, 0.5, 0.45, 0.35, 0.4, 0.6])
# Industry affinities (logit shifts) by industry label: which products a trade buys.
AFFINITY = {
    "制造业": {"物联网": 1.0, "5G专网": 1.2, "专线": 0.3},
    "批发零售": {"集团短信": 0.9, "彩铃": 0.4},
    "信息技术": {"云": 1.5, "专线": 0.9},
    "教育": {"专线": 0.6, "集团短信": 0.8, "云": 0.3},
    "医疗卫生": {"专线": 0.8, "5G专网": 0.8, "云": 0.5},
    "政府机关": {"专线": 1.0, "集团V网": 0.5, "集团短信": 0.6},
    "金融": {"专线": 1.3, "云": 0.8, "集团短信": 1.0},
    "物流运输": {"物联网": 1.4, "集团V网": 0.4},
    "建筑": {"物联网": 0.5, "集团V网": 0.5},
    "餐饮住宿": {"集团短信": 0.5, "彩铃": 0.6},
    "房地产": {"彩铃": 0.5, "集团短信": 0.4},
    "农业": {"物联网": 0.6},
}
MULTI_INSTANCE = ("专线", "物联网")
AGREEMENT_P = (0.75, 0.65, 0.5)  # by grade A B C
BUNDLED_P, PREPAID_P = 0.22, 0.10
ORDER_KIND_P = (0.18, 0.22, 0.05, 0.33, 0.22)
OLD_ORDER_DAYS = 14


def _sigmoid(x: Arr) -> Arr:
    return 1.0 / (1.0 + np.exp(-x))


def _grid_district(geo: Geography, grid: Arr) -> Arr:
    return np.asarray(geo.grid_county)[grid]


def hierarchy(rng: np.random.Generator, size: Arr) -> tuple[Arr, Arr]:
    """(parent index or -1, level 1-3) per enterprise: parents a level above their children."""
    n = len(size)
    rank = np.argsort(np.argsort(-size, kind="stable"), kind="stable") / n
    head = rank < HEAD_SHARE
    branch = ~head & (rng.random(n) < BRANCH_SHARE)
    parent = np.full(n, -1, dtype=np.int64)
    level = np.ones(n, dtype=np.int64)
    heads = np.flatnonzero(head)
    branches = np.flatnonzero(branch)
    if len(heads) == 0 or len(branches) == 0:
        return parent, level
    third = rng.random(len(branches)) < LEVEL3_SHARE
    second = branches[~third]
    if len(second) == 0:
        second, third = branches, np.zeros(len(branches), dtype=bool)
    weight = size[heads].astype(np.float64)
    parent[second] = heads[rng.choice(len(heads), size=len(second), p=weight / weight.sum())]
    level[second] = 2
    lower = branches[third]
    parent[lower] = second[rng.integers(0, len(second), len(lower))]
    level[lower] = 3
    return parent, level


def credit_codes(rng: np.random.Generator, *, kind: Arr, district: Arr) -> Any:
    """One valid code per enterprise; `kind` 0 company, 1 institution, 2 government."""
    n = len(kind)
    index = {ch: i for i, ch in enumerate(CHARSET)}
    chars = np.frombuffer(CHARSET.encode("ascii"), dtype=np.uint8)
    codes = np.zeros((n, 18), dtype=np.int64)  # CHARSET positions
    heads = np.array([[index["9"], index["1"]], [index["1"], index["2"]], [index["1"], index["1"]]])
    codes[:, :2] = heads[kind]
    areas = np.array(
        [[int(ch) for ch in AREA_CODES[d.code]] for d in vocab.DISTRICTS], dtype=np.int64
    )
    codes[:, 2:8] = areas[district]
    # Distinct organisation codes that look drawn: i ↦ (i · m + c) mod 31^9 is one-to-one
    # for m prime to 31 (m < 2^40 keeps i · m within int64 up to 8M enterprises).
    space = 31**9
    m = int(rng.integers(1 << 36, 1 << 40)) | 1
    m += 1 if m % 31 == 0 else 0
    value = (np.arange(n, dtype=np.int64) * m + int(rng.integers(0, space))) % space
    for position in range(16, 7, -1):
        codes[:, position] = value % 31
        value //= 31
    total = (codes[:, :17] * np.array(WEIGHTS, dtype=np.int64)).sum(axis=1)
    codes[:, 17] = (31 - total % 31) % 31
    return ax.fixed_width(chars[codes])


def account_details(
    rng: np.random.Generator, ents: Enterprises, geo: Geography
) -> tuple[dict[str, Any], Arr, Arr]:
    """The enterprises' new columns (name and industry rewritten for branches), and the
    parent index and status index per enterprise."""
    table = ents.table
    n = table.num_rows
    parent, _level = hierarchy(rng, ents.size)
    industry = np.array(table.column("industry").to_pylist(), dtype=object)
    # A branch's industry is its parent's, top-down (a level-3 branch after its parent).
    for _ in range(2):
        has = parent >= 0
        industry[has] = industry[parent[has]]
    kind = np.zeros(n, dtype=np.int64)
    kind[np.isin(industry, ["教育", "医疗卫生"])] = 1
    kind[industry == "政府机关"] = 2
    district = _grid_district(geo, ents.grid)
    codes = credit_codes(rng, kind=kind, district=district)
    missing_code = rng.random(n) < NO_CODE_SHARE
    status = rng.choice(3, size=n, p=STATUS_P)
    status[parent[parent >= 0]] = 0  # a 集团 with branches is in business
    ids = table.column("enterprise_id").combine_chunks()
    has_parent = parent >= 0
    names = table.column("name").combine_chunks()
    district_names = ax.pick([d.name for d in vocab.DISTRICTS], district)
    branch_names = ax.join(
        names.take(pa.array(np.maximum(parent, 0))), ax.constant(" ", n), district_names,
        ax.constant("分公司", n),
    )  # fmt: skip
    columns = {
        "parent_enterprise_id": ax.blank(ids.take(pa.array(np.maximum(parent, 0))), ~has_parent),
        "credit_code": ax.blank(codes, missing_code),
        "status": ax.pick(ENTERPRISE_STATUSES, status),
        "industry": pa.array(industry.tolist(), pa.string()),
        "name": pc.if_else(pa.array(has_parent), branch_names, names),
    }
    return columns, parent, status


def products(
    rng: np.random.Generator,
    *,
    ents: Enterprises,
    industry: Any,
    grade: Any,
    status: Arr,
    first_day: int,
    end_day: int,
) -> Held:
    """enterprise_products, with each row's enterprise and product as indices."""
    n = len(ents.size)
    log_size = np.log(np.maximum(ents.size, 1) / 50.0)
    affinity = np.zeros((n, len(ENTERPRISE_PRODUCTS)))
    industry_of = np.array(industry.to_pylist(), dtype=object)
    for label, shifts in AFFINITY.items():
        rows = industry_of == label
        for name, shift in shifts.items():
            affinity[rows, ENTERPRISE_PRODUCTS.index(name)] += shift
    logit = PRODUCT_A + PRODUCT_B * log_size[:, None] + affinity
    holds = (rng.random(logit.shape) < _sigmoid(logit)) & (status != 2)[:, None]
    copies = np.where(holds, 1, 0)
    extra = rng.poisson(0.25 * np.log1p(np.maximum(ents.size, 0) / 200.0)[:, None], logit.shape)
    for name in MULTI_INSTANCE:
        p = ENTERPRISE_PRODUCTS.index(name)
        copies[:, p] += np.where(holds[:, p], extra[:, p], 0)
    owner, product = np.nonzero(copies)
    count = copies[owner, product]
    owner, product = np.repeat(owner, count), np.repeat(product, count)
    rows = len(owner)
    held = np.bincount(owner, minlength=n).astype(np.int64)
    fee = np.round(
        PRODUCT_FEE[product]
        * np.exp(PRODUCT_FEE_SIZE[product] * log_size[owner])
        * rng.lognormal(0.0, 0.3, rows)
    )
    fee = np.maximum(fee, 10.0)
    last = end_day - 1
    back = np.minimum(rng.exponential(30.0 * 30.4, rows), 15 * 365).astype(np.int64)
    recent = rng.random(rows) < 0.10
    start = np.where(
        recent, first_day + (rng.random(rows) * max(last - first_day, 1)).astype(np.int64),
        first_day - back,
    )  # fmt: skip
    grade_of = np.array(grade.to_pylist(), dtype=object)
    agreement_p = np.select(
        [grade_of == "A", grade_of == "B"], [AGREEMENT_P[0], AGREEMENT_P[1]], AGREEMENT_P[2]
    )[owner]
    agreement = rng.random(rows) < agreement_p
    months_ahead = rng.uniform(-2.0, 24.0, rows)
    contract_end = np.maximum(last + np.round(months_ahead * 30.4).astype(np.int64), start + 31)
    bundled = rng.random(rows) < BUNDLED_P
    prepaid_on = rng.random(rows) < PREPAID_P
    prepaid = np.where(prepaid_on, fee * rng.integers(6, 25, rows), 0.0)
    ids = table_ids(ents)
    table = ax.build(
        "enterprise_products",
        {
            "product_instance_id": ax.digits("EP", np.arange(1, rows + 1), 8),
            "enterprise_id": ids.take(pa.array(owner)),
            "product": ax.pick(ENTERPRISE_PRODUCTS, product),
            "start_date": ax.dates(start),
            "contract_end": ax.dates(contract_end, ~agreement),
            "monthly_fee": ax.money(fee),
            "agreement": agreement,
            "bundled": bundled,
            "prepaid": ax.money(prepaid),
        },
    )
    return Held(table=table, owner=owner, product=product, count=held)


def table_ids(ents: Enterprises) -> Any:
    return ents.table.column("enterprise_id").combine_chunks()


def orders(
    rng: np.random.Generator,
    *,
    ents: Enterprises,
    held: Held,
    months: list[tuple[int, int]],
    end_day: int,
) -> Any:
    """enterprise_orders over the data's months: `months` is (first day, days) of each."""
    n = len(held.count)
    rate = 0.04 + 0.05 * held.count
    counts = rng.poisson(rate[:, None], (n, len(months)))
    owner, month = np.nonzero(counts)
    k = counts[owner, month]
    owner, month = np.repeat(owner, k), np.repeat(month, k)
    rows = len(owner)
    first = np.array([m[0] for m in months], dtype=np.int64)[month]
    days = np.array([m[1] for m in months], dtype=np.int64)[month]
    created = first + (rng.random(rows) * days).astype(np.int64)
    last = end_day - 1
    kind = rng.choice(len(ORDER_KINDS), size=rows, p=ORDER_KIND_P)
    # A product the account holds: a uniform pick among its instances (they are in
    # enterprise order, so an account's instances are one run); any product where it holds none.
    starts = np.searchsorted(held.owner, np.arange(n))
    count = held.count[owner]
    pick = starts[owner] + (rng.random(rows) * np.maximum(count, 1)).astype(np.int64)
    anything = rng.integers(0, len(ENTERPRISE_PRODUCTS), rows)
    if len(held.product):
        chosen = held.product[np.minimum(pick, len(held.product) - 1)]
        product = np.where(count > 0, chosen, anything)
    else:
        product = anything
    # An account that holds nothing can only order something or ask.
    kind = np.where(
        (count == 0) & (kind != ORDER_KINDS.index("新装")), ORDER_KINDS.index("咨询"), kind
    )
    new = kind == ORDER_KINDS.index("新装")
    product = np.where(new, rng.integers(0, len(ENTERPRISE_PRODUCTS), rows), product)
    no_product = (kind == ORDER_KINDS.index("咨询")) & (rng.random(rows) < 0.5)
    old = created < last - OLD_ORDER_DAYS
    done_or_cancelled = np.where(rng.random(rows) < 0.9, 2, 3)
    recent_status = rng.choice(3, size=rows, p=(0.3, 0.4, 0.3))
    status = np.where(old, done_or_cancelled, recent_status)
    closed = np.minimum(created + rng.exponential(4.0, rows).astype(np.int64), last)
    open_ = status < 2
    fee = PRODUCT_FEE[product] * rng.uniform(1.0, 3.0, rows)
    amount = np.where(new, np.round(fee), 0.0)
    no_amount = ~new & ~((kind == ORDER_KINDS.index("变更")) & (rng.random(rows) < 0.5))
    order = np.lexsort((created, owner))
    pa_mask = {
        "product": no_product[order],
        "closed": open_[order],
        "amount": no_amount[order],
    }
    return ax.build(
        "enterprise_orders",
        {
            "order_id": ax.digits("EO", np.arange(1, rows + 1), 9),
            "enterprise_id": table_ids(ents).take(pa.array(owner[order])),
            "product": ax.pick(ENTERPRISE_PRODUCTS, product[order], pa_mask["product"]),
            "kind": ax.pick(ORDER_KINDS, kind[order]),
            "status": ax.pick(ORDER_STATUSES, status[order]),
            "created_date": ax.dates(created[order]),
            "closed_date": ax.dates(closed[order], pa_mask["closed"]),
            "amount": pa.array(ax.money(amount[order]), pa.float64(), mask=pa_mask["amount"]),
        },
    )


def enterprise_churn(
    *, ents: Enterprises, member_of: Arr, churn_month: Arr, rows: Arr, eta: Arr, months: int
) -> Any:
    """ground_truth/enterprise_churn: per enterprise, its members still with us, those who
    left in the data's last three months, and the true next-month hazard of the members left
    (mean, and the members expected to leave: Σ h). `member_of` is each subscriber's
    enterprise (-1 none), `churn_month` its churn month (< 0 never); (rows, eta) as
    `_effects.next_month_logit`."""
    n = ents.table.num_rows
    enterprise = member_of[rows]
    member = enterprise >= 0
    hazard = _sigmoid(eta[member])
    alive = np.bincount(enterprise[member], minlength=n)
    expected = np.bincount(enterprise[member], weights=hazard, minlength=n)
    everyone = np.flatnonzero(member_of >= 0)
    left = everyone[churn_month[everyone] >= months - 3]
    recent = np.bincount(member_of[left], minlength=n)
    mean = np.divide(expected, alive, out=np.zeros(n), where=alive > 0)
    return ax.plain(
        {
            "enterprise_id": table_ids(ents),
            "members": alive,
            "churned_last_3_months": recent,
            "mean_member_hazard_next_month": pa.array(mean, pa.float64(), mask=alive == 0),
            "expected_leavers_next_month": expected,
        },
        {
            "enterprise_id": pa.string(),
            "members": pa.int64(),
            "churned_last_3_months": pa.int64(),
            "mean_member_hazard_next_month": pa.float64(),
            "expected_leavers_next_month": pa.float64(),
        },
    )
