"""The channel side of the operator: store owners and stages, where people and firms are, and
each store's month as traffic (store_traffic) and as sale lines (channel_sales).

Every draw here comes from generators of its own (seeds[7] of the run), so adding these tables
left every older column's draws unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from quanwang.data.generator import _arrow as ax
from quanwang.data.generator import _vocab as vocab
from quanwang.data.generator._arrow import Arr
from quanwang.data.generator._population import Population, draw_numbers
from quanwang.data.generator._world import Geography, Stores, person_names

#: Shares of people (and firms) without coordinates, and of those placed outside every grid.
NO_COORDINATES = 0.15
OUTSIDE_EVERY_GRID = 0.01
#: A point drawn within this share of its grid's radius lies inside the grid's hexagon: the
#: corners sit at 0.85-1.15 radii, so the hexagon holds the circle of 0.85 · cos 30° ≈ 0.736.
INSIDE_RADIUS = 0.7

#: Partner stage mix by years since the store opened (<2, 2-5, ≥5): 拉郎配, 谈恋爱, 过日子.
STAGE_MIX = ((0.55, 0.35, 0.10), (0.25, 0.45, 0.30), (0.10, 0.35, 0.55))

#: The funnel's true drivers (ground_truth/store_funnel): conversion by store type (自营厅,
#: 社会渠道, 代理商, 合作店), the referred buyers' share by stage (none, 拉郎配, 谈恋爱, 过日子).
CONVERSION_BY_TYPE = (0.34, 0.24, 0.28, 0.21)
REFERRAL_SHARE_BY_STAGE = (0.10, 0.04, 0.08, 0.15)
REFERRAL_CONVERSION_LIFT = 1.9
REFERRED_BASKET_RATIO = 1.15
SECOND_UNIT_IN_A_TRANSACTION = 0.2
REFUND_RATE = 0.015
REVERSAL_RATE = 0.008
#: store_sales products that are plans: the plan kinds a line's subscriber must hold.
PLAN_PRODUCT = {"号卡": "mobile", "5G套餐": "5g", "宽带": "broadband", "融合套餐": "bundle"}


def coordinates(rng: np.random.Generator, geo: Geography, grid: Arr) -> tuple[Any, Any]:
    """lat/lon columns for rows living in `grid` (indices): most inside their grid's hexagon,
    NO_COORDINATES of them null, OUTSIDE_EVERY_GRID of them just beyond the city's grids."""
    rows = len(grid)
    draw = rng.random(rows)
    missing = draw < NO_COORDINATES
    outside = (draw >= NO_COORDINATES) & (draw < NO_COORDINATES + OUTSIDE_EVERY_GRID)
    # A uniform point in the disc of INSIDE_RADIUS radii; longitude degrees are shorter.
    angle = rng.uniform(0, 2 * np.pi, rows)
    reach = INSIDE_RADIUS * geo.grid_radius[grid] * np.sqrt(rng.random(rows))
    centre_lat, centre_lon = geo.grid_lat[grid], geo.grid_lon[grid]
    lat = centre_lat + reach * np.sin(angle)
    lon = centre_lon + reach * np.cos(angle) / np.cos(np.radians(centre_lat))
    # Outside: north of the northernmost corner of any grid, at the grid's own longitude.
    top = float(np.max(geo.grid_lat + 1.2 * geo.grid_radius))
    lat = np.where(outside, top + rng.uniform(0.01, 0.05, rows), lat)
    lat, lon = np.round(lat, 6), np.round(lon, 6)
    return (
        pa.array(lat, pa.float64(), mask=missing),
        pa.array(lon, pa.float64(), mask=missing),
    )


def store_details(rng: np.random.Generator, stores: Stores, *, start_day: int) -> dict[str, Any]:
    """Owner, contact number, partner stage (none for own halls) and opening day per store."""
    rows = len(stores.grid)
    owner = person_names(rng, rng.random(rows) < 0.4)
    own = np.array(vocab.OWN_PREFIXES)
    contact = draw_numbers(rng, own[rng.integers(0, len(own), rows)])
    age_days = np.minimum(rng.exponential(5.5 * 365.25, rows), 25 * 365.25).astype(np.int64)
    age_days = np.maximum(age_days, 30)
    opened = start_day - age_days
    band = np.digitize(age_days / 365.25, (2.0, 5.0))
    cumulative = np.cumsum(np.array(STAGE_MIX), axis=1)[band]
    stage = (rng.random(rows)[:, None] > cumulative).sum(axis=1).clip(0, 2)
    own_hall = stores.store_type == 0
    stores.stage = np.where(own_hall, -1, stage)
    return {
        "owner_name": owner,
        "contact_msisdn": pa.array(contact).cast(pa.string()),
        "partner_stage": ax.pick(vocab.PARTNER_STAGES, np.maximum(stage, 0), own_hall),
        "opened_date": ax.dates(opened),
    }


def with_columns(table: Any, columns: dict[str, Any]) -> Any:
    for name, array in columns.items():
        index = table.schema.get_field_index(name)
        table = table.set_column(
            index, table.schema.field(index), array.cast(table.schema.field(index).type)
        )
    return table


@dataclass
class StoreMonth:
    """What the simulation knows of a month at the stores, for ChannelFacts.month."""

    t: int
    month: str
    first_day: int
    days: int
    units: Arr  # (stores, products) store_sales units
    fen: Arr  # (stores, products) store_sales revenue in fen
    joiners: Arr  # population rows that joined this month
    alive: Arr  # bool per population row (capacity): with us at the end of the month


@dataclass
class ChannelFacts:
    """Each store's month as traffic and as sale lines, consistent with store_sales: the
    sales lines of a (store, month, product) are its units, their amounts add up to its
    revenue to the fen, and a store's traffic revenue plus referred revenue is its month's
    revenue to the fen."""

    rng: np.random.Generator
    stores: Stores
    pop: Population
    subscriber_ids: Any
    last_day: int  # the last generated day: no line is dated after it
    conversion_logit: Arr = field(init=False)
    repeat_extra: Arr = field(init=False)
    referral_share: Arr = field(init=False)
    drift: Arr = field(init=False)
    by_grid: Arr = field(init=False)  # population rows in grid order, once
    next_sale: int = 1

    def __post_init__(self) -> None:
        rows = len(self.stores.grid)
        base = np.array(CONVERSION_BY_TYPE)[self.stores.store_type]
        self.conversion_logit = np.log(base / (1 - base)) + self.rng.normal(0, 0.3, rows)
        self.repeat_extra = 0.12 * self.rng.lognormal(0, 0.4, rows)
        share = np.array(REFERRAL_SHARE_BY_STAGE)[self.stores.stage + 1]
        self.referral_share = np.clip(share * self.rng.lognormal(0, 0.3, rows), 0.005, 0.6)
        self.drift = np.zeros(rows)
        self.by_grid = np.argsort(self.pop.grid, kind="stable")

    def month(self, m: StoreMonth) -> dict[str, Any]:
        traffic, truth = self._traffic(m)
        return {"store_traffic": traffic, "store_funnel": truth, "channel_sales": self._lines(m)}

    # -- traffic ---------------------------------------------------------------------------

    def _traffic(self, m: StoreMonth) -> tuple[Any, Any]:
        rng = self.rng
        rows = m.units.shape[0]
        # Conversion wanders month to month around the store's own level.
        self.drift = 0.7 * self.drift + rng.normal(0, 0.18, rows)
        conversion = 1 / (1 + np.exp(-(self.conversion_logit + self.drift)))
        referral_conversion = np.minimum(conversion * REFERRAL_CONVERSION_LIFT, 0.9)
        repeat = 1 + self.repeat_extra
        share = np.clip(self.referral_share * rng.lognormal(0, 0.15, rows), 0, 0.9)

        # Backwards from the units sold: transactions, then buyers, then who came in.
        units = m.units.sum(axis=1)
        transactions = units - rng.binomial(np.maximum(units - 1, 0), SECOND_UNIT_IN_A_TRANSACTION)
        buyers = transactions - rng.binomial(np.maximum(transactions - 1, 0), 1 - 1 / repeat)
        referred_buyers = rng.binomial(buyers, share)
        walk_in_buyers = buyers - referred_buyers
        extra = transactions - buyers
        referred_transactions = referred_buyers + rng.binomial(
            extra, np.where(buyers > 0, referred_buyers / np.maximum(buyers, 1), 0.0)
        )
        walk_in_transactions = transactions - referred_transactions
        footfall = walk_in_buyers + rng.poisson(
            np.maximum(walk_in_buyers, 2) * (1 - conversion) / conversion
        )
        referrals = referred_buyers + rng.poisson(
            np.maximum(referred_buyers, 0.3) * (1 - referral_conversion) / referral_conversion
        )
        # Revenue split by transactions, a referred basket a little larger; exact in fen.
        total = m.fen.sum(axis=1)
        weight_referred = referred_transactions * REFERRED_BASKET_RATIO
        weight = walk_in_transactions + weight_referred
        referred_fen = np.where(
            weight > 0, np.round(total * weight_referred / np.maximum(weight, 1e-9)), 0
        ).astype(np.int64)
        walk_in_fen = total - referred_fen
        store_ids = ax.digits("ST", np.arange(1, rows + 1), 6)
        month = ax.constant(m.month, rows)
        traffic = ax.build(
            "store_traffic",
            {
                "store_id": store_ids,
                "month": month,
                "footfall": footfall.astype(np.int64),
                "buyers": walk_in_buyers.astype(np.int64),
                "transactions": walk_in_transactions.astype(np.int64),
                "revenue": walk_in_fen / 100,
                "referrals": referrals.astype(np.int64),
                "referred_buyers": referred_buyers.astype(np.int64),
                "referred_transactions": referred_transactions.astype(np.int64),
                "referred_revenue": referred_fen / 100,
            },
        )
        truth = ax.plain(
            {
                "store_id": store_ids,
                "month": month,
                "conversion": conversion,
                "referral_conversion": referral_conversion,
                "repeat_rate": repeat,
                "referral_share": share,
                "referred_basket_ratio": np.full(rows, REFERRED_BASKET_RATIO),
            },
            {
                "store_id": pa.string(),
                "month": pa.string(),
                "conversion": pa.float64(),
                "referral_conversion": pa.float64(),
                "repeat_rate": pa.float64(),
                "referral_share": pa.float64(),
                "referred_basket_ratio": pa.float64(),
            },
        )
        return traffic, truth

    # -- sale lines ------------------------------------------------------------------------

    def _lines(self, m: StoreMonth) -> Any:
        rng, pop = self.rng, self.pop
        n_stores, n_products = m.units.shape
        counts = m.units.ravel()
        cell = np.repeat(np.arange(n_stores * n_products), counts)
        store = cell // n_products
        product = cell % n_products
        lines = len(cell)
        # Amounts: the cell's revenue split by random weights, cumulative rounding keeps the
        # sum exact to the fen.
        weight = rng.lognormal(0, 0.15, lines)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        cum = np.cumsum(weight)
        before = np.concatenate([[0.0], cum])[starts]
        cell_total = np.add.reduceat(weight, starts[counts > 0]) if lines else np.zeros(0)
        totals = np.zeros(len(counts))
        totals[counts > 0] = cell_total
        share_upto = (cum - np.repeat(before, counts)) / np.repeat(
            np.maximum(totals, 1e-12), counts
        )
        upto = np.round(share_upto * np.repeat(m.fen.ravel(), counts)).astype(np.int64)
        first = np.zeros(lines, dtype=bool)
        first[starts[counts > 0]] = True
        previous = np.where(first, 0, np.concatenate([[0], upto[:-1]]))
        amount = upto - previous
        day = m.first_day + rng.integers(0, m.days, lines)

        subscriber = np.full(lines, -1, dtype=np.int64)
        plan = np.full(lines, -1, dtype=np.int64)
        # The joiners who came through a store: the first 号卡 lines of their store.
        card = vocab.STORE_PRODUCTS.index("号卡")
        via = pop.store[m.joiners]
        joined = m.joiners[via >= 0]
        joined = joined[np.lexsort((joined, pop.store[joined]))]
        if len(joined):
            # store_sales counted them among the store's 号卡 units, so each store has
            # at least as many 号卡 lines as joiners.
            card_lines = np.flatnonzero(product == card)
            card_store = store[card_lines]
            joined_store = pop.store[joined]
            rank = np.arange(len(joined)) - np.searchsorted(joined_store, joined_store)
            target = card_lines[np.searchsorted(card_store, joined_store) + rank]
            subscriber[target] = joined
            plan[target] = pop.plan[joined]
            day[target] = pop.join_day[joined]
        self._attach_holders(m, store, product, subscriber, plan, day)

        sales = self._sale_ids(lines)
        # Refunds and reversals undo a sale in full, naming it.
        draw = rng.random(lines)
        undo_kind = np.where(
            draw < REVERSAL_RATE, 2, np.where(draw < REVERSAL_RATE + REFUND_RATE, 1, 0)
        )
        undone = np.flatnonzero(undo_kind > 0)
        undo_day = np.where(
            undo_kind[undone] == 2, day[undone], day[undone] + rng.integers(1, 15, len(undone))
        )
        undo_day = np.minimum(undo_day, self.last_day)
        undo_ids = self._sale_ids(len(undone))
        every = np.concatenate([np.arange(lines), undone])
        kind = np.concatenate([np.zeros(lines, dtype=np.int64), undo_kind[undone]])
        return ax.build(
            "channel_sales",
            {
                "sale_id": pa.concat_arrays([sales, undo_ids]),
                "store_id": ax.digits("ST", store[every] + 1, 6),
                "sale_date": ax.dates(np.concatenate([day, undo_day])),
                "product": ax.pick(vocab.STORE_PRODUCTS, product[every]),
                "plan_id": ax.pick(
                    [p.plan_id for p in vocab.PLANS], np.maximum(plan[every], 0), plan[every] < 0
                ),
                "subscriber_id": ax.blank(
                    self.subscriber_ids.take(pa.array(np.maximum(subscriber[every], 0))),
                    subscriber[every] < 0,
                ),
                "amount": np.concatenate([amount, -amount[undone]]) / 100,
                "kind": ax.pick(vocab.SALE_KINDS, kind),
                "original_sale_id": pa.concat_arrays(
                    [pa.nulls(lines, pa.string()), sales.take(pa.array(undone))]
                ),
            },
        )

    def _sale_ids(self, rows: int) -> Any:
        ids = ax.digits("CS", np.arange(self.next_sale, self.next_sale + rows), 10)
        self.next_sale += rows
        return ids

    def _attach_holders(
        self, m: StoreMonth, store: Arr, product: Arr, subscriber: Arr, plan: Arr, day: Arr
    ) -> None:
        """A plan line not taken by a joiner goes to a customer of the store's grid who holds
        such a plan (an upgrade or renewal), or names the plan alone when the grid has none."""
        rng, pop = self.rng, self.pop
        plans = vocab.PLANS
        plan_type = np.array([p.plan_type for p in plans])
        is_5g = np.array([p.is_5g for p in plans])
        kinds = {
            "mobile": np.isin(plan_type, ("prepaid", "postpaid")),
            "5g": is_5g & np.isin(plan_type, ("prepaid", "postpaid")),
            "broadband": plan_type == "broadband",
            "bundle": plan_type == "bundle",
        }
        day_max = m.first_day + m.days - 1
        grid_of_store = self.stores.grid
        present = self.by_grid[m.alive[self.by_grid] & (pop.join_day[self.by_grid] <= day_max)]
        for name, kind in PLAN_PRODUCT.items():
            lines = np.flatnonzero((product == vocab.STORE_PRODUCTS.index(name)) & (subscriber < 0))
            if len(lines) == 0:
                continue
            fits = kinds[kind]
            if name == "号卡":
                # Cards the base did not keep (tourists, second SIMs): the plan alone.
                choices = np.flatnonzero(fits)
                plan[lines] = choices[rng.integers(0, len(choices), len(lines))]
                continue
            holders = present[fits[pop.plan[present]]]  # still in grid order
            holder_grid = pop.grid[holders]
            want = grid_of_store[store[lines]]
            lo = np.searchsorted(holder_grid, want, "left")
            hi = np.searchsorted(holder_grid, want, "right")
            pick = lo + (rng.random(len(lines)) * (hi - lo)).astype(np.int64)
            found = hi > lo
            chosen = holders[np.minimum(pick, max(len(holders) - 1, 0))] if len(holders) else pick
            subscriber[lines[found]] = chosen[found]
            plan[lines[found]] = pop.plan[chosen[found]]
            day[lines[found]] = np.maximum(day[lines[found]], pop.join_day[chosen[found]])
            choices = np.flatnonzero(fits)
            plan[lines[~found]] = choices[rng.integers(0, len(choices), int((~found).sum()))]


__all__ = ["ChannelFacts", "StoreMonth", "coordinates", "store_details", "with_columns"]
