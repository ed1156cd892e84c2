"""Synthetic operator data: every canonical table, plus the ground truth no model may read.

    quanwang generate --subscribers N --months M --seed S --out DIR [--start-month 2024-01]

writes DIR/<table>.parquet for every table of `schema.TABLES` (the schema's columns, order and
types: string, int64, float64, money as float64 rounded to fen, date32, bool), the ground truth
DIR/ground_truth/churn_hazard.parquet, treatment_effects.parquet, store_funnel.parquet and
enterprise_churn.parquet (generator._accounts: each account's members, recent leavers and true
next-month member hazard), the staff who fill the org tree in DIR/extra/staff.parquet
(employee_no, name, mobile, title, org_unit_code; not a canonical table), and
DIR/manifest.json last (parameters, row counts, generator version). Same arguments, same
bytes: every draw comes from numpy.random.Generator(PCG64(seed)) and its spawned children, in
a fixed order. Work is vectorised numpy, month by month; Parquet goes out through one
background writer thread.

The city
    广东省公司 (group) → 广州市分公司 (city) → 11 real districts (county, at their real centres
    around 23.13N 113.26E) → grids. N/2500 grids (22 to 3000), typed 沿街/行业/校园/园区/农村
    by how central the district is, drawn around the district centre (±2σ), each a hexagon in
    WKT. A grid's org unit code is its grid_id and its parent is grids.county_code. Staff
    fill each org unit; each grid's first staff member, its 网格长, is
    grids.manager_employee_no. Stores (N/1000) and enterprises (N/100, Pareto sizes, graded
    A/B/C by size) sit in grids, enterprises mostly in 行业/园区 grids. Each enterprise's account
    manager (enterprises.account_manager_employee_no) is one of the two 政企客户经理 of its
    grid's county, dealt in turn over the county's enterprises from the largest down (no
    random draw), so each manager serves as many accounts (±1) and a like share of the large
    ones. Enterprise accounts (generator._accounts, draws of their own): a 集团 hierarchy, credit
    codes, status, the products each holds and its orders. Each grid has a 5G coverage and a
    standardised network-issue score (worse in 农村).
    Stores lie within half a radius of their grid's centre (so inside its hexagon).

Channels (generator._channels; draws of their own from seeds[7], so older columns kept theirs)
    Stores: types 自营厅/社会渠道/代理商/合作店 (P .08 .50 .14 .28; store 1 is always an own
    hall), an owner (person_names), a contact number (our blocks, distinct), an opening day
    start - Exp(mean 5.5 years) (at least 30 days before, at most 25 years), and for every
    store but own halls a partner stage by years open (<2, 2-5, ≥5): 拉郎配/谈恋爱/过日子 with
    P (.55 .35 .10), (.25 .45 .30), (.10 .35 .55).
    Coordinates of subscribers and enterprises: 15% none, 1% just north of every grid's
    hexagon (outside all grids), the rest uniform in the disc of 0.7 radii around their
    grid's centroid, which the hexagon (corners at 0.85-1.15 radii) always holds.
    store_traffic, backwards from each store's month of store_sales (ground truth
    ground_truth/store_funnel.parquet: the true conversion c, referral conversion, repeat rate
    and referred share per store and month):
        c = σ(logit c0[type] + N(0, 0.3) per store + d_t), d_t = 0.7 d_{t-1} + N(0, 0.18),
            c0 = .34 .24 .28 .21 by type; referral conversion = min(1.9 c, 0.9);
        repeat rate r = 1 + 0.12 · LogNormal(0, 0.4) per store;
        referred share φ = .10 (own hall) / .04 .08 .15 (by stage) · LogNormal(0, 0.3) per
            store · LogNormal(0, 0.15) a month;
        transactions T = U - Bin(U - 1, 0.2) of the U units sold; buyers B = T - Bin(T - 1,
            1 - 1/r); referred buyers Bin(B, φ), their transactions add Bin(T - B, share);
        footfall = walk-in buyers + Poisson(max(walk-in buyers, 2) (1 - c) / c); referrals
            = referred buyers + Poisson(max(referred buyers, 0.3) (1 - c_r) / c_r);
        revenue split by transactions, a referred one weighing 1.15, in whole fen: walk-in
            revenue + referred revenue = the month's store_sales revenue exactly.
    channel_sales: one 销售 line per unit of store_sales, its cell's revenue split by
    LogNormal(0, 0.15) weights with cumulative rounding (the lines add up to the fen). The
    joiners who came through a store are its first 号卡 lines (their plan, their subscriber,
    their joining day); other 号卡 lines name a mobile plan only; 5G套餐/宽带/融合套餐 lines name
    a customer of the store's grid on such a plan at the month's end (and that plan), when the
    grid has one. 1.5% of sales are refunded (退款) 1-14 days later, 0.8% reversed (冲正) the same
    day, each a line of minus the whole amount naming original_sale_id (never after the last
    generated day). Sale IDs CS + 10 digits in order: a sale's ID precedes its undoing.

People (one latent profile each)
    value L, data taste W, voice taste V ~ N(0, 1); frailty u ~ N(0, 0.5); age ~ N(41, 14)
    truncated to 16-90 (joiners N(32, 11)). 15% are disengaging: engagement drift δ ~ -U(0.03,
    0.07) a month, else δ = 0. Households of 1-5 members (P .42 .26 .19 .09 .04) share a grid
    (95%) and a family_id. About 10% are enterprise members, mostly of an enterprise in their grid
    (chosen by enterprise size); segment is 政企 for them, else 家庭 for multi-member or
    broadband households, else 个人.
    Broadband: P(household) = (.19 .39 .49 .53 .55 by size) × exp(0.25 · clip(max L, -2, 2));
    67% of it is a 融合 bundle (plan_type bundle) held by the household's highest-value member,
    33% a standalone broadband line: an extra subscriber row (plan_type broadband, no usage, no
    calls). A joiner's new household takes a bundle with P 0.35 (so about 70% are bundles).
    Payment: P(prepaid) = σ(-1.25 - 0.7 L + 0.02 (age - 40)), never for enterprise members or
    bundle holders. P(5G plan) = σ(1.7 + 0.9 L - 0.035 (age - 40)). Plan: the catalogue plan of
    the right kind whose fee is nearest 38 · e^(0.62 L) · U(0.8, 1.15) (× 2.5 for bundles).
    P(5G phone) = σ(-0.35 + 0.9 L - 0.04 (age - 40) + 1.6 · 5G plan). Dual SIM:
    P = σ(-1.5 - 0.35 L + 0.45 · [age < 35]); our SIM is the secondary one with P σ(-0.2 - 0.8 L).
    Off-net share s ~ Beta(3, 6.5) + 0.08 dual - 0.06 enterprise. Tenure ~ Exp(mean 55 months).
    45% of postpaid (70% of bundles) hold a contract ending start + U(-6, 24) months; 30% have
    a discount ending start + U(-3, 18) months. Consent: a shared leaning plus noise over
    thresholds (SMS ≈ 91%, WeChat ≈ 80%, App ≈ 75%, call ≈ 82%); do_not_disturb 3% (no calls).
    WeChat: every mobile line with WeChat consent follows the official account, and 30% of the
    other mobile lines (followers who gave no marketing consent); a follower's wechat_openid is
    "o" + the first 27 characters of the URL-safe base64 of SHA-256("<seed>:<subscriber_id>")
    (28 characters, like a real openid); broadband lines and non-followers have none.
    MSISDNs: distinct 11-digit numbers in 13x/15x/18x/19x blocks; competitors' numbers in their
    own operators' blocks.

Monthly usage (4 burn-in months are simulated, not written, so month 1 has a history)
    engagement e_t = 0.85 e_{t-1} + δ + N(0, 0.1)
    log ARPU = ln 38 + 0.055 + 0.62 L + e_t + N(0, 0.22)                 (mean ≈ ¥48, median ≈ ¥38;
               a lognormal with that mean and median has p95 ≈ ¥120, a little under the ¥130 quoted)
    log DOU  = ln 11.1 + 0.8 (0.55 L + 0.835 W) - 0.025 (age - 40) + 0.6 e_t
               - 0.3 · [our SIM secondary] + N(0, 0.45)                  (mean ≈ 16 GB, median ≈ 10)
    log MOU  = ln 165 + 0.7 (0.4 L + 0.917 V) + 0.012 (age - 40) + 0.5 e_t
               - 0.4 · [our SIM secondary] + N(0, 0.4)                   (mean ≈ 220 minutes)
    off-net minutes = MOU · clip(s + N(0, 0.04)); overage = 0.8 (or 0.25 when within the plan's
    data and voice) × max(ARPU - fee × (0.7 while discounted), 0); saturation = DOU / plan data;
    arrears (postpaid) with P σ(-4.2 - 0.5 L + 1.5 [e < -0.3]); used_5g_network = 5G phone and
    U < grid coverage × (1 on a 5G plan, else 0.6). Joiners' first and churners' last month
    are prorated by days active. Complaints: P σ(-4.9 + 0.45 network issue + 0.8 overage +
    0.5 arrears + 0.4 [e < -0.3] + 0.3 [our SIM secondary]); level 普通/重要/重大 .85/.12/.03.
    Prepaid recharges: Poisson(ARPU / denomination) top-ups of the person's usual 10-200 yuan.

The true churn hazard (ground_truth/churn_hazard.parquet)
    For everyone subscribed at the start of month t (joiners from their second month):
    logit h = -5.22 + u
        + 0.9 [tenure < 6 months] + 0.45 [6 ≤ tenure < 12]
        + 0.5 [no contract in force] + 1.0 [contract ends within 92 days]
        + 0.6 [discount ends within 92 days]
        + 0.55 min(complaints in t-3..t-1, 3) + 0.7 [a 重大 complaint in t-3..t-1]
        + 0.5 [overage fee > ¥5 in t-1]
        - 1.8 clip(mean log ARPU (t-1, t-2) - mean log ARPU (t-3, t-4), -1.5, 0.5)
        + 2.0 (off-net share in t-1 - 0.32)
        + 0.9 [our SIM secondary] + 0.35 [our SIM primary] + 0.35 [prepaid] - 0.2 [5G plan]
        - 0.55 [household has broadband] - 0.3 [enterprise member]
        + 0.8 min(call-graph neighbours who churned in t-1, 3)
        + 1.2 [a family member churned in t-1] + 0.6 [a colleague churned in t-1]
        + 0.25 grid network issue - 0.3 [standalone broadband line]
    Churn is drawn as U < h, where U is the family's shared uniform with P 0.5 (0.8 for a
    broadband line) and the enterprise's with P 0.3, else the person's own: members leave
    together while each one's probability stays exactly h. The churn date is uniform in the
    month; the reason is drawn with weights base + (e^contribution - 1) over 资费原因 (overage,
    discount expiry, falling ARPU, prepaid, no contract), 网络质量 (network issue, network
    complaints), 竞争对手策反 (off-net share, dual SIM, churned contacts, contract expiry,
    colleagues), 服务投诉 (other complaints), 搬迁 (family churn) and 其他. 15% of leavers (35%
    of 竞争对手策反) port their number: their ties carry on as off-net edges to the same hash.
    Joiners each month: Poisson(0.5 · churners + 0.5 · 1.45% of the base).

Call graph (contacts)
    Ties are fixed at the start: all pairs in a family, neighbours in a shuffled enterprise
    list (±1, ±2), neighbours in a shuffled grid list (±1 with P .5, ±2 with P .25), 0.15 N
    random pairs, and Poisson(5 s) off-net ties, 30% of them to a grid-local pool of competitor
    numbers (about 4 of ours each: the win-over targets). A tie is used in a month with P
    .58/.36/.35/.35 (family/enterprise/grid/random), .57 private off-net, .60 shared, scaled
    by the days both ends were active; calls 1 + Poisson(10/5/3/2/3/4), minutes = calls ·
    e^N(0.8, 0.5), sms Poisson(0.5). On-net ties give a row on each side. peer_hash is the
    SHA-256 hex of the peer's 11-digit number (`msisdn_hash`; DuckDB: sha256(msisdn)), so
    on-net peers join subscribers.msisdn. About 2.5 edges per subscriber a month.

Campaign ground truth (ground_truth/treatment_effects.parquet)
    For subscribers still with us after the last month, η = logit h for the next month and
    h0 = σ(η). Each campaign has an acceptance logit when contacted (a_c) and when not (a_n),
    a churn shift when the offer is accepted (Δ_acc) and one when a contact is refused (Δ_ref):
        churn_hazard_contacted     = p_c σ(η + Δ_acc) + (1 - p_c) σ(η + Δ_ref)
        churn_hazard_not_contacted = p_n σ(η + Δ_acc) + (1 - p_n) h0
    with sleeping dogs (out of contract, tenure ≥ 48 months, mean ARPU of the last 4 months
    < ¥25) and do-not-disturb subscribers made MORE likely to churn by a contact:
    annoyed = 0.9 [sleeping dog] + 1.5 [do_not_disturb].
    维系 (all): a_c = -1.6 + 0.8 expiring + 0.5 discount expiring + 0.4 [tenure ≥ 24]
        + 0.3 overage - 0.8 sleeping; a_n = -4.5 + 0.5 expiring; Δ_acc = -1.2;
        Δ_ref = annoyed - 0.1 - 0.4 expiring - 0.3 discount expiring.
    升档 (all): a_c = -2.6 + 1.2 [saturation > 0.9] + 0.6 overage + 0.3 L - 0.5 prepaid
        + 0.4 [age < 35]; a_n = -5 + 0.8 [saturation > 0.9]; Δ_acc = -0.2 - 0.3 overage;
        Δ_ref = annoyed + 0.25 [L < -0.8 and no overage].
    5G迁转 (not on a 5G plan): a_c = -2 + 1.5 5G phone + 0.5 [saturation > 0.5]
        - 0.03 (age - 40); a_n = -4.8 + 1.0 5G phone; Δ_acc = -0.2;
        Δ_ref = annoyed + 0.6 [age ≥ 60 without a 5G phone].
    融合 (household without broadband): a_c = -2.4 + 0.6 [household ≥ 2] + 0.4 [家庭]
        + 0.3 L + 0.3 [tenure ≥ 24]; a_n = -5.5 + 0.3 [household ≥ 2]; Δ_acc = -0.55;
        Δ_ref = annoyed.
    异网策反 (dual SIM): a_c = -2 + 0.5 L + 0.6 [our SIM primary] + 0.5 enterprise;
        a_n = -5; Δ_acc = -0.7; Δ_ref = annoyed + 0.3 [our SIM secondary, off-net > 0.45].
    赢回 (those who left): a_c = -2.3 + 0.8 [资费原因] + 0.4 [竞争对手策反] - 1.5 [搬迁]
        - 0.15 months since leaving + 0.5 [ported]; a_n = a_c - 3.5; churn hazards null.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from quanwang.data.generator import _accounts as accounts
from quanwang.data.generator import _arrow as ax
from quanwang.data.generator import _vocab as vocab
from quanwang.data.generator._channels import (
    ChannelFacts,
    StoreMonth,
    coordinates,
    store_details,
    with_columns,
)
from quanwang.data.generator._effects import next_month_logit, treatment_effects
from quanwang.data.generator._graph import build_ties
from quanwang.data.generator._monthly import Simulation, month_start_day
from quanwang.data.generator._population import (
    DEVICES,
    Population,
    build_population,
    draw_numbers,
    sha256_hex,
)
from quanwang.data.generator._world import (
    build_enterprises,
    build_geography,
    build_stores,
    plans_table,
)
from quanwang.data.schema import TABLES

GENERATOR_VERSION = "1.4.0"
ROW_GROUP = 1 << 20
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
GROUND_TRUTH = ("churn_hazard", "treatment_effects", "store_funnel", "enterprise_churn")
Progress = Callable[[str], None]


DEFAULT_START_MONTH = "2024-01"


@dataclass(frozen=True)
class GeneratorConfig:
    subscribers: int
    months: int
    seed: int
    start_month: str = DEFAULT_START_MONTH

    def __post_init__(self) -> None:
        if self.subscribers < 100:
            raise ValueError("subscribers must be at least 100")
        if not 1 <= self.months <= 120:
            raise ValueError("months must be between 1 and 120")
        if self.seed < 0:
            raise ValueError("seed must be zero or more")
        if not MONTH.match(self.start_month):
            raise ValueError("start month must look like 2024-01")


#: Share of the mobile lines without WeChat consent that still follow the official account.
UNCONSENTED_FOLLOWERS = 0.3


def wechat_openids(subscriber_ids: Any, *, seed: int) -> Any:
    """An openid-like string per subscriber id: "o" + 27 characters of the URL-safe base64 of
    SHA-256("<seed>:<id>"); the same seed gives the same openids (DuckDB does the hashing)."""
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        con.execute("SET threads = 2")
        con.register("ids", pa.table({"id": subscriber_ids}))
        result = con.sql(
            f"SELECT 'o' || substr(translate(to_base64(unhex(sha256('{int(seed)}:' || id))), "
            "'+/', '-_'), 1, 27) AS openid FROM ids"
        ).to_arrow_table()
    finally:
        con.close()
    return result.column("openid").combine_chunks()


def msisdn_hash(msisdn: str) -> str:
    """contacts.peer_hash of a number: SHA-256 hex of its 11 digits (DuckDB: sha256(msisdn))."""
    return hashlib.sha256(msisdn.encode("ascii")).hexdigest()


class _Output:
    """Parquet files written in order by one background thread, a few batches in flight."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.writers: dict[str, Any] = {}
        self.rows: dict[str, int] = {}
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.pending: list[Future[None]] = []

    def path(self, name: str) -> Path:
        if name in GROUND_TRUTH:
            return self.root / "ground_truth" / f"{name}.parquet"
        if name == "staff":
            return self.root / "extra" / "staff.parquet"
        return self.root / f"{name}.parquet"

    def open(self, name: str, schema: Any) -> None:
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writers[name] = pq.ParquetWriter(path, schema, compression="zstd")
        self.rows[name] = 0

    def write(self, name: str, table: Any) -> None:
        if name not in self.writers:
            self.open(name, table.schema)
        if table.num_rows == 0:
            return
        self.rows[name] += table.num_rows
        writer = self.writers[name]
        self.pending.append(self.pool.submit(writer.write_table, table, ROW_GROUP))
        while len(self.pending) > 6:
            self.pending.pop(0).result()

    def close(self) -> None:
        try:
            for future in self.pending:
                future.result()
        finally:
            self.pool.shutdown(wait=True)
            for writer in self.writers.values():
                writer.close()


def _subscribers(
    pop: Population,
    sim: Simulation,
    rng: np.random.Generator,
    geo: Any,
    *,
    seed: int,
    follow_rng: np.random.Generator,
    place_rng: np.random.Generator,
) -> Any:
    n = sim.next_joiner
    mobile = pop.is_mobile[:n]
    # Its own generator, so that adding openids left every other column's draws unchanged.
    follows = mobile & (pop.consent[1, :n] | (follow_rng.random(n) < UNCONSENTED_FOLLOWERS))
    ids = sim.subscriber_ids.slice(0, n)
    churned = sim.churn_month[:n] >= 0
    suspended = ~churned & mobile & sim.arrears[:n] & (rng.random(n) < 0.5)
    status = np.where(churned, 2, np.where(suspended, 1, 0))
    enterprise = pop.enterprise[:n]
    lat, lon = coordinates(place_rng, geo, pop.grid[:n])
    return ax.build(
        "subscribers",
        {
            "subscriber_id": ids,
            "msisdn": pa.array(pop.msisdn[:n]).cast(pa.string()),
            "name": pop.names.slice(0, n),
            "gender": ax.pick(("男", "女"), pop.female[:n].astype(np.int64)),
            "birth_date": ax.dates(pop.birth_day[:n]),
            "segment": ax.pick(vocab.SEGMENTS, pop.segment[:n]),
            "payment_type": ax.pick(("postpaid", "prepaid"), pop.prepaid[:n].astype(np.int64)),
            "join_date": ax.dates(pop.join_day[:n]),
            "status": ax.pick(("active", "suspended", "churned"), status),
            "churn_date": ax.dates(sim.churn_day[:n], ~churned),
            "churn_reason": ax.pick(
                vocab.CHURN_REASONS, np.maximum(sim.churn_reason[:n], 0), ~churned
            ),
            "plan_id": ax.pick([p.plan_id for p in vocab.PLANS], pop.plan[:n]),
            "contract_end_date": ax.dates(pop.contract_end[:n], pop.contract_end[:n] < 0),
            "discount_end_date": ax.dates(pop.discount_end[:n], pop.discount_end[:n] < 0),
            "device_model": ax.pick(
                [name for name, _ in DEVICES], np.maximum(pop.device[:n], 0), ~mobile
            ),
            "device_5g": pa.array(pop.device_5g[:n], pa.bool_(), mask=~mobile),
            "dual_sim_role": ax.pick(("single", "primary", "secondary"), pop.dual[:n], ~mobile),
            "grid_id": ax.pick(geo.grid_ids, pop.grid[:n]),
            "lat": lat,
            "lon": lon,
            "acquisition_channel": ax.pick(vocab.CHANNELS, pop.channel[:n]),
            "enterprise_id": ax.blank(
                ax.digits("ENT", np.maximum(enterprise, 0) + 1, 6), enterprise < 0
            ),
            "family_id": ax.digits("F", pop.family[:n] + 1, 9),
            "consent_sms": pop.consent[0, :n],
            "consent_wechat": pop.consent[1, :n],
            "consent_app": pop.consent[2, :n],
            "consent_call": pop.consent[3, :n],
            "do_not_disturb": pop.dnd[:n],
            "wechat_openid": ax.blank(wechat_openids(ids, seed=seed), ~follows),
        },
    )


def _members(pop: Population, sim: Simulation, rng: np.random.Generator, end_day: int) -> Any:
    rows = np.flatnonzero(pop.enterprise[: sim.next_joiner] >= 0)
    rows = rows[np.lexsort((rows, pop.enterprise[rows]))]
    joined = pop.join_day[rows]
    last = np.where(sim.churn_day[rows] >= 0, sim.churn_day[rows], end_day)
    since = joined + (rng.random(len(rows)) * np.maximum(last - joined, 0) * 0.5).astype(np.int64)
    return ax.build(
        "enterprise_members",
        {
            "enterprise_id": ax.digits("ENT", pop.enterprise[rows] + 1, 6),
            "subscriber_id": sim.subscriber_ids.take(pa.array(rows)),
            "role": ax.pick(("普通成员", "关键人"), pop.key_person[rows].astype(np.int64)),
            "joined_date": ax.dates(since),
        },
    )


def generate(
    config: GeneratorConfig, out: Path | str, progress: Progress | None = None
) -> dict[str, Any]:
    """Write every canonical table to OUT/<table>.parquet, the ground truth to OUT/ground_truth/,
    staff to OUT/extra/staff.parquet, and OUT/manifest.json last. Returns the manifest."""
    say = progress or (lambda _message: None)
    began = time.perf_counter()
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").unlink(missing_ok=True)
    for folder in ("ground_truth", "extra"):
        shutil.rmtree(root / folder, ignore_errors=True)

    # spawn(9)'s first eight children are spawn(8)'s: the ninth (enterprise accounts) left
    # every older column's draws as they were.
    seeds = np.random.Generator(np.random.PCG64(config.seed)).spawn(9)
    start = np.datetime64(config.start_month, "M")
    start_day, _, _ = month_start_day(start, 0)
    geo = build_geography(seeds[0], config.subscribers)
    stores = build_stores(seeds[0], geo, config.subscribers)
    ents = build_enterprises(seeds[0], geo, config.subscribers)
    # The channel tables' own generators (seeds[7]), so the older columns kept their draws.
    store_rng, place_rng, channel_rng = seeds[7].spawn(3)
    stores.table = with_columns(stores.table, store_details(store_rng, stores, start_day=start_day))
    ent_lat, ent_lon = coordinates(place_rng, geo, ents.grid)
    ents.table = with_columns(ents.table, {"lat": ent_lat, "lon": ent_lon})
    detail_rng, product_rng, order_rng = seeds[8].spawn(3)
    details, _parents, ent_status = accounts.account_details(detail_rng, ents, geo)
    ents.table = with_columns(ents.table, details)
    end_day, _, _ = month_start_day(start, config.months)
    held = accounts.products(
        product_rng,
        ents=ents,
        industry=details["industry"],
        grade=ents.table.column("grade").combine_chunks(),
        status=ent_status,
        first_day=start_day,
        end_day=end_day,
    )
    ent_orders = accounts.orders(
        order_rng,
        ents=ents,
        held=held,
        months=[month_start_day(start, t)[:2] for t in range(config.months)],
        end_day=end_day,
    )
    pop = build_population(
        seeds[1],
        subscribers=config.subscribers,
        months=config.months,
        start_day=start_day,
        geo=geo,
        ents=ents,
    )
    ties = build_ties(seeds[2], pop)

    # Numbers: ours, staff's, then the competitors' (in their own operators' number blocks).
    own = np.array(vocab.OWN_PREFIXES)
    n_staff = len(geo.staff["employee_no"])
    competitor_prefix = np.empty(ties.n_competitor, dtype=np.int64)
    for operator in range(1, 5):
        blocks = np.array(vocab.COMPETITOR_PREFIXES[operator])
        mine = ties.competitor_operator == operator
        competitor_prefix[mine] = blocks[seeds[3].integers(0, len(blocks), int(mine.sum()))]
    prefixes = np.concatenate(
        [own[seeds[3].integers(0, len(own), pop.capacity + n_staff)], competitor_prefix]
    )
    numbers = draw_numbers(seeds[3], prefixes)
    pop.msisdn[:] = numbers[: pop.capacity]
    staff_mobile = numbers[pop.capacity : pop.capacity + n_staff]
    peer_hashes = sha256_hex(
        np.concatenate([numbers[: pop.capacity], numbers[pop.capacity + n_staff :]])
    )
    subscriber_ids = ax.digits("U", np.arange(1, pop.capacity + 1), 10)
    say(f"population ready: {pop.capacity:,} rows, {len(ties.a):,} on-net ties")

    output = _Output(root)
    try:
        output.write("org_units", geo.org_units)
        output.write("grids", geo.grids)
        output.write("plans", plans_table())
        output.write("stores", stores.table)
        output.write("enterprises", ents.table)
        output.write("enterprise_products", held.table)
        output.write("enterprise_orders", ent_orders)
        staff = dict(geo.staff, mobile=pa.array(staff_mobile).cast(pa.string()))
        output.write(
            "staff",
            ax.plain(
                staff,
                {
                    "employee_no": pa.string(),
                    "name": pa.string(),
                    "mobile": pa.string(),
                    "title": pa.string(),
                    "org_unit_code": pa.string(),
                },
            ),
        )
        for name in (
            "monthly_usage",
            "recharges",
            "contacts",
            "complaints",
            "store_sales",
            "store_traffic",
            "channel_sales",
        ):
            output.open(name, ax.table_schema(name))
        sim = Simulation(
            seeds[4],
            pop=pop,
            geo=geo,
            stores=stores,
            ties=ties,
            start=start,
            subscriber_ids=subscriber_ids,
            peer_hashes=peer_hashes,
        )
        channels = ChannelFacts(
            channel_rng,
            stores=stores,
            pop=pop,
            subscriber_ids=subscriber_ids,
            last_day=end_day - 1,
        )
        monthly: list[dict[str, int]] = []
        for t in range(config.months):
            result = sim.step(t)
            stats = result.pop("_stats")
            for name, table in result.items():
                output.write(name, table)
            day, days, label = month_start_day(start, t)
            facts = channels.month(
                StoreMonth(
                    t=t,
                    month=label,
                    first_day=day,
                    days=days,
                    units=sim.store_units,
                    fen=sim.store_fen,
                    joiners=sim.joiners,
                    alive=sim.alive.copy(),
                )
            )
            for name, table in facts.items():
                output.write(name, table)
            monthly.append(stats)
            _, _, label = month_start_day(start, t)
            say(
                f"{label}: {stats['at_risk']:,} at risk, {stats['churned']:,} churned, "
                f"{stats['joined']:,} joined, {result['contacts'].num_rows:,} call edges"
            )
        output.write(
            "subscribers",
            _subscribers(
                pop,
                sim,
                seeds[5],
                geo,
                seed=config.seed,
                follow_rng=seeds[6],
                place_rng=place_rng,
            ),
        )
        output.write("enterprise_members", _members(pop, sim, seeds[5], end_day - 1))
        hazard = next_month_logit(sim, config.months)
        output.write("treatment_effects", treatment_effects(sim, config.months, hazard))
        output.write(
            "enterprise_churn",
            accounts.enterprise_churn(
                ents=ents,
                member_of=pop.enterprise[: sim.next_joiner],
                churn_month=sim.churn_month[: sim.next_joiner],
                rows=hazard[0],
                eta=hazard[1],
                months=config.months,
            ),
        )
    finally:
        output.close()

    manifest = {
        "generator": "quanwang.data.generator",
        "generator_version": GENERATOR_VERSION,
        "parameters": asdict(config),
        "tables": {name: output.rows[name] for name in TABLES},
        "ground_truth": {name: output.rows[name] for name in GROUND_TRUTH},
        "extra": {"staff": output.rows["staff"]},
        "monthly": monthly,
        "peer_hash": "sha256 hex of the 11-digit number; DuckDB: sha256(msisdn)",
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    (root / "manifest.json").write_text(text, encoding="utf-8")
    say(f"done in {time.perf_counter() - began:.1f}s")
    return manifest
