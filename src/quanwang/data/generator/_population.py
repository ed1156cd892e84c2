"""The people: households, subscribers and joiners to come, their plans, phones and numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from quanwang.data.generator import _vocab as vocab
from quanwang.data.generator._arrow import Arr
from quanwang.data.generator._world import Enterprises, Geography, person_names

DAYS_PER_MONTH = 30.4375
YEAR = 365.25
PLAN_GROUPS = ("pre4g", "pre5g", "post4g", "post5g", "ent4g", "ent5g", "bdl4g", "bdl5g", "bb")
DEVICES = (*vocab.DEVICES_5G, *vocab.DEVICES_4G, *vocab.ELDER_PHONES)
N_5G_DEVICES = len(vocab.DEVICES_5G)
N_4G_DEVICES = len(vocab.DEVICES_4G)
HOUSEHOLD_SIZES = np.array([1, 2, 3, 4, 5])
HOUSEHOLD_SIZE_P = np.array([0.42, 0.26, 0.19, 0.09, 0.04])
# P(broadband) for a household of 1..5 mobile members, before its value shifts it.
BROADBAND_BY_SIZE = np.array([0.0, 0.19, 0.39, 0.49, 0.53, 0.55])


def sigmoid(x: Arr) -> Arr:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Population:
    """Every row that is or will be a subscriber; joiners sit at the end until they join.

    Rows: [0, n_initial) the initial mobile base, [n_initial, first_joiner) standalone broadband
    lines, [first_joiner, capacity) people who may join during the run, in joining order.
    """

    n_initial: int
    first_joiner: int
    capacity: int
    n_families: int
    is_mobile: Arr
    female: Arr
    birth_day: Arr
    age: Arr
    value: Arr  # L: latent spend level, N(0, 1)
    data_taste: Arr  # W
    voice_taste: Arr  # V
    frailty: Arr  # unobserved churn proneness
    drift: Arr  # monthly engagement drift; negative for the disengaging
    family: Arr
    family_size: Arr  # mobile members of each family (indexed by family)
    family_broadband: Arr  # indexed by family
    enterprise: Arr  # -1 when none
    key_person: Arr
    grid: Arr
    prepaid: Arr
    plan: Arr  # index into vocab.PLANS
    plan_5g: Arr
    bundle: Arr
    device: Arr  # index into DEVICES, -1 for broadband lines
    device_5g: Arr
    dual: Arr  # 0 single, 1 our SIM is primary, 2 our SIM is secondary
    offnet: Arr  # share of minutes that go off-net
    channel: Arr
    consent: Arr  # (4, capacity): sms, wechat, app, call
    dnd: Arr
    join_day: Arr  # days since 1970; joiners get theirs when they join
    contract_end: Arr  # days; -1 when never
    discount_end: Arr
    contract_length: Arr  # days, for joiners who sign at joining; 0 when none
    discount_length: Arr
    denomination: Arr  # index into RECHARGE_AMOUNTS
    segment: Arr
    names: Any  # pa.StringArray
    msisdn: Arr  # int64
    store: Arr  # the store a joiner came through, -1 otherwise


def _nearest_plan(rng: np.random.Generator, group: Arr, target: Arr) -> Arr:
    plan = np.zeros(len(group), dtype=np.int16)
    for g, name in enumerate(PLAN_GROUPS):
        rows = np.flatnonzero(group == g)
        if len(rows) == 0:
            continue
        members = [k for k, p in enumerate(vocab.PLANS) if p.group == name]
        fees = np.array([vocab.PLANS[k].fee for k in members])
        order = np.argsort(fees, kind="stable")
        fees, ids = fees[order], np.array(members)[order]
        if name == "bb":
            plan[rows] = ids[rng.choice(len(ids), size=len(rows), p=(0.4, 0.4, 0.2))]
            continue
        pos = np.clip(np.searchsorted(fees, target[rows]), 1, max(len(fees) - 1, 1))
        if len(fees) == 1:
            plan[rows] = ids[0]
            continue
        lower = np.abs(target[rows] - fees[pos - 1]) <= np.abs(fees[pos] - target[rows])
        plan[rows] = ids[np.where(lower, pos - 1, pos)]
    return plan


def _ages(rng: np.random.Generator, mean: Arr, sd: Arr) -> Arr:
    """Ages from a normal truncated to 16-90 (redrawn, not clipped, so no pile-up at the ends)."""
    age = rng.normal(mean, sd)
    while True:
        outside = (age < 16) | (age >= 90)
        if not outside.any():
            return age
        age[outside] = rng.normal(mean[outside], sd[outside])


def _households(rng: np.random.Generator, people: int) -> Arr:
    sizes = rng.choice(HOUSEHOLD_SIZES, size=int(people / 1.9) + 10, p=HOUSEHOLD_SIZE_P)
    while sizes.sum() < people:
        sizes = np.concatenate([sizes, rng.choice(HOUSEHOLD_SIZES, size=100, p=HOUSEHOLD_SIZE_P)])
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), people) + 1]
    family = np.repeat(np.arange(len(sizes)), sizes)[:people]
    return family


def _grid_enterprise(
    rng: np.random.Generator, grid: Arr, candidates: Arr, ents: Enterprises, n_grids: int
) -> Arr:
    """An enterprise for each candidate: mostly one in their own grid, by enterprise size."""
    order = np.lexsort((np.arange(len(ents.grid)), ents.grid))
    sizes = ents.size[order].astype(np.float64)
    cumulative = np.cumsum(sizes)
    start = np.searchsorted(ents.grid[order], np.arange(n_grids), side="left")
    stop = np.searchsorted(ents.grid[order], np.arange(n_grids), side="right")
    g = grid[candidates]
    has_local = stop[g] > start[g]
    base = np.where(start[g] > 0, cumulative[np.maximum(start[g] - 1, 0)], 0.0)
    span = np.where(has_local, cumulative[np.maximum(stop[g] - 1, 0)] - base, 0.0)
    local_pick = np.searchsorted(cumulative, base + rng.random(len(g)) * span, side="right")
    global_pick = np.searchsorted(cumulative, rng.random(len(g)) * cumulative[-1], side="right")
    use_local = has_local & (rng.random(len(g)) < 0.7)
    chosen = np.where(use_local, np.minimum(local_pick, stop[g] - 1), global_pick)
    return order[np.minimum(chosen, len(order) - 1)]


def build_population(
    rng: np.random.Generator,
    *,
    subscribers: int,
    months: int,
    start_day: int,
    geo: Geography,
    ents: Enterprises,
) -> Population:
    n = subscribers
    joiners = int(np.ceil(n * 0.03 * months)) + 20
    m = n + joiners  # mobile rows, before standalone broadband lines are inserted
    n_grids = len(geo.grid_ids)
    is_joiner = np.arange(m) >= n

    # Households: the initial base lives in households of 1-5; a joiner starts a new one
    # (70%) or joins an existing family (30%).
    family = np.empty(m, dtype=np.int64)
    family[:n] = _households(rng, n)
    n_initial_families = int(family[:n].max()) + 1
    joins_existing = rng.random(joiners) < 0.3
    new_ids = n_initial_families + np.cumsum(~joins_existing) - 1
    family[n:] = np.where(joins_existing, rng.integers(0, n_initial_families, joiners), new_ids)
    n_families = int(family.max()) + 1
    family_size = np.bincount(family, minlength=n_families)
    family_grid = np.searchsorted(
        np.cumsum(geo.grid_weight), rng.random(n_families) * np.cumsum(geo.grid_weight)[-1]
    )
    family_grid = np.minimum(family_grid, n_grids - 1)
    grid = family_grid[family]
    movers = rng.random(m) < 0.05
    grid[movers] = np.minimum(
        np.searchsorted(np.cumsum(geo.grid_weight), rng.random(int(movers.sum()))), n_grids - 1
    )

    female = rng.random(m) < 0.49
    age = _ages(rng, np.where(is_joiner, 32.0, 41.0), np.where(is_joiner, 11.0, 14.0))
    birth_day = (start_day - age * YEAR).astype(np.int64)
    value = rng.normal(0, 1, m)
    data_taste = rng.normal(0, 1, m)
    voice_taste = rng.normal(0, 1, m)
    frailty = rng.normal(0, 0.5, m)
    drift = np.where(rng.random(m) < 0.15, -rng.uniform(0.03, 0.07, m), 0.0)

    # Enterprise members (集团成员), mostly working age, mostly in an enterprise of their grid.
    working = (age >= 22) & (age <= 60)
    member = rng.random(m) < np.where(working, 0.13, 0.02)
    enterprise = np.full(m, -1, dtype=np.int64)
    candidates = np.flatnonzero(member)
    enterprise[candidates] = _grid_enterprise(rng, grid, candidates, ents, n_grids)
    by_enterprise = np.lexsort((np.arange(m), enterprise))
    first_of = np.ones(m, dtype=bool)
    first_of[1:] = enterprise[by_enterprise[1:]] != enterprise[by_enterprise[:-1]]
    key_person = np.zeros(m, dtype=bool)
    key_person[by_enterprise[first_of]] = True
    key_person |= rng.random(m) < 0.05
    key_person &= enterprise >= 0

    # Broadband: P rises with household size and value; about 70% of it comes as a 融合 bundle
    # held by the household's highest-value member, the rest as a standalone broadband line.
    family_value = np.full(n_families, -np.inf)
    np.maximum.at(family_value, family, value)
    initial_size = np.bincount(family[:n], minlength=n_families)
    p_broadband = BROADBAND_BY_SIZE[np.minimum(initial_size, 5)]
    p_broadband = np.clip(p_broadband * np.exp(0.25 * np.clip(family_value, -2, 2)), 0, 0.95)
    p_broadband[initial_size == 0] = 0.35  # families a joiner starts, often on a 融合 offer
    family_broadband = rng.random(n_families) < p_broadband
    family_bundle = family_broadband & ((initial_size == 0) | (rng.random(n_families) < 0.67))
    # A family's head is its highest-value initial member (a joiner only heads a new family).
    head_order = np.lexsort((-value, is_joiner, family))
    head = np.zeros(m, dtype=bool)
    first_in_family = np.ones(m, dtype=bool)
    first_in_family[1:] = family[head_order[1:]] != family[head_order[:-1]]
    head[head_order[first_in_family]] = True
    bundle = head & family_bundle[family]
    standalone_families = np.flatnonzero(family_broadband & ~family_bundle)
    standalone_head = np.full(n_families, -1, dtype=np.int64)
    standalone_head[family[head]] = np.flatnonzero(head)

    # Payment, plan and phone.
    prepaid = rng.random(m) < sigmoid(-1.25 - 0.7 * value + 0.02 * (age - 40))
    prepaid &= (enterprise < 0) & ~bundle
    plan_5g = rng.random(m) < sigmoid(1.7 + 0.9 * value - 0.035 * (age - 40))
    group = np.where(prepaid, 0, np.where(bundle, 6, np.where(enterprise >= 0, 4, 2)))
    group = group + plan_5g.astype(np.int64)
    level = np.exp(np.log(38.0) + 0.62 * value)
    target = level * rng.uniform(0.8, 1.15, m) * np.where(bundle, 2.5, 1.0)
    plan = _nearest_plan(rng, group, target)
    device_5g = rng.random(m) < sigmoid(-0.35 + 0.9 * value - 0.04 * (age - 40) + 1.6 * plan_5g)
    w5 = np.array([w for _, w in vocab.DEVICES_5G], dtype=np.float64)
    w4 = np.array([w for _, w in vocab.DEVICES_4G], dtype=np.float64)
    elder = rng.random(m) < np.where(age >= 65, 0.4, 0.02)
    device = np.where(
        device_5g,
        rng.choice(len(w5), size=m, p=w5 / w5.sum()),
        np.where(
            elder,
            N_5G_DEVICES + N_4G_DEVICES + rng.integers(0, len(vocab.ELDER_PHONES), m),
            N_5G_DEVICES + rng.choice(len(w4), size=m, p=w4 / w4.sum()),
        ),
    )

    # Dual SIM: about one in five also carries a competitor's SIM.
    has_dual = rng.random(m) < sigmoid(-1.5 - 0.35 * value + 0.45 * (age < 35))
    secondary = rng.random(m) < sigmoid(-0.2 - 0.8 * value)
    dual = np.where(has_dual, np.where(secondary, 2, 1), 0)
    offnet = rng.beta(3.0, 6.5, m) + 0.08 * has_dual - 0.06 * (enterprise >= 0)
    offnet = np.clip(offnet, 0.02, 0.95)

    # Consent: most say yes; opt-outs go together; 3% ask not to be disturbed at all.
    leaning = rng.normal(0, 1, m)
    thresholds = np.array([-1.9, -1.2, -0.95, -1.45])
    consent = (leaning[None, :] + rng.normal(0, 1, (4, m))) > thresholds[:, None]
    dnd = rng.random(m) < 0.03
    consent[3] &= ~dnd

    channel_p = np.array([0.30, 0.36, 0.14, 0.06, 0.05, 0.0, 0.09])
    joiner_p = np.array([0.25, 0.40, 0.20, 0.03, 0.05, 0.0, 0.07])
    channel = np.where(
        is_joiner,
        rng.choice(7, size=m, p=joiner_p),
        rng.choice(7, size=m, p=channel_p),
    )
    channel = np.where((enterprise >= 0) & (rng.random(m) < 0.5), 5, channel)

    # Tenure, contracts and discounts.
    tenure_days = np.minimum(rng.exponential(55.0, m) * DAYS_PER_MONTH, (age - 16) * YEAR).astype(
        np.int64
    )
    join_day = np.where(is_joiner, -1, start_day - 1 - tenure_days)
    length = np.where(rng.random(m) < 0.5, 365, 730)
    has_contract = ~prepaid & (rng.random(m) < np.where(bundle, 0.7, 0.45))
    contract_end = start_day + rng.integers(-180, 720, m)
    contract_end = np.where(contract_end - length < join_day, join_day + length, contract_end)
    contract_end = np.where(has_contract & ~is_joiner, contract_end, -1)
    contract_length = np.where(is_joiner & ~prepaid & (rng.random(m) < 0.4), length, 0)
    has_discount = rng.random(m) < 0.3
    discount_end = np.where(has_discount & ~is_joiner, start_day + rng.integers(-90, 540, m), -1)
    discount_length = np.where(
        is_joiner & (rng.random(m) < 0.5), np.where(rng.random(m) < 0.5, 183, 365), 0
    )
    base = rng.choice(6, size=m, p=(0.03, 0.08, 0.35, 0.30, 0.20, 0.04))
    denomination = np.clip(base + (value > 1.0) - (value < -1.0), 0, 5)
    household = (family_size[family] >= 2) | family_broadband[family]
    segment = np.where(enterprise >= 0, 2, np.where(household, 1, 0))
    names = person_names(rng, female)

    # Standalone broadband lines, one per such household, in the name of its head.
    b = len(standalone_families)
    heads = standalone_head[standalone_families]
    bb_join = start_day - 1 - (rng.exponential(40.0, b) * DAYS_PER_MONTH).astype(np.int64)
    bb_join = np.maximum(bb_join, join_day[heads])
    bb_contract = np.where(rng.random(b) < 0.5, start_day + rng.integers(-180, 540, b), -1)
    bb_contract = np.where(bb_contract - 365 < bb_join, -1, bb_contract)
    bb_plan = _nearest_plan(rng, np.full(b, PLAN_GROUPS.index("bb")), np.zeros(b))

    def insert(mobile: Arr, lines: Arr) -> Arr:
        return np.concatenate([mobile[:n], lines.astype(mobile.dtype), mobile[n:]])

    def copy(mobile: Arr) -> Arr:
        return insert(mobile, mobile[heads])

    def const(mobile: Arr, fill: Any) -> Arr:
        return insert(mobile, np.full(b, fill, dtype=mobile.dtype))

    capacity = m + b
    take = np.concatenate([np.arange(n), heads, np.arange(n, m)])
    return Population(
        n_initial=n,
        first_joiner=n + b,
        capacity=capacity,
        n_families=n_families,
        is_mobile=insert(np.ones(m, dtype=bool), np.zeros(b, dtype=bool)),
        female=copy(female),
        birth_day=copy(birth_day),
        age=copy(age),
        value=copy(value),
        data_taste=const(data_taste, 0.0),
        voice_taste=const(voice_taste, 0.0),
        frailty=insert(frailty, rng.normal(0, 0.5, b)),
        drift=const(drift, 0.0),
        family=copy(family),
        family_size=family_size,
        family_broadband=family_broadband,
        enterprise=const(enterprise, -1),
        key_person=const(key_person, False),
        grid=copy(grid),
        prepaid=const(prepaid, False),
        plan=insert(plan, bb_plan),
        plan_5g=const(plan_5g, False),
        bundle=const(bundle, False),
        device=const(device, -1),
        device_5g=const(device_5g, False),
        dual=const(dual, 0),
        offnet=const(offnet, 0.0),
        channel=insert(channel, np.where(rng.random(b) < 0.5, 0, 1)),
        consent=np.concatenate([consent[:, :n], consent[:, heads], consent[:, n:]], axis=1),
        dnd=copy(dnd),
        join_day=insert(join_day, bb_join),
        contract_end=insert(contract_end, bb_contract),
        discount_end=const(discount_end, -1),
        contract_length=const(contract_length, 0),
        discount_length=const(discount_length, 0),
        denomination=const(denomination, 0),
        segment=const(segment, 1),
        names=names.take(pa.array(take)),
        msisdn=np.zeros(capacity, dtype=np.int64),
        store=np.full(capacity, -1, dtype=np.int64),
    )


def draw_numbers(rng: np.random.Generator, prefixes: Arr) -> Arr:
    """Distinct 11-digit numbers, one for each row, in the given three-digit blocks."""
    numbers = prefixes.astype(np.int64) * 10**8 + rng.integers(0, 10**8, len(prefixes))
    while True:
        order = np.argsort(numbers, kind="stable")
        ordered = numbers[order]
        clash = np.zeros(len(numbers), dtype=bool)
        clash[order[1:][ordered[1:] == ordered[:-1]]] = True
        if not clash.any():
            return numbers
        numbers[clash] = prefixes[clash].astype(np.int64) * 10**8 + rng.integers(
            0, 10**8, int(clash.sum())
        )


def sha256_hex(numbers: Arr) -> Any:
    """SHA-256 hex digests of the numbers' 11-digit strings, as a string array (DuckDB does it)."""
    text = pa.array(numbers, pa.int64()).cast(pa.string())
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        con.execute("SET threads = 2")
        con.register("numbers", pa.table({"n": text}))
        result = con.sql("SELECT sha256(n) AS h FROM numbers").to_arrow_table()
    finally:
        con.close()
    return result.column("h").combine_chunks()
