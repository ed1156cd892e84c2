"""Month by month: hazards and churn, joiners, usage, complaints, recharges, calls, store sales."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from quanwang.data.generator import _arrow as ax
from quanwang.data.generator import _vocab as vocab
from quanwang.data.generator._arrow import Arr
from quanwang.data.generator._graph import TIE_ACTIVE, TIE_CALLS, Ties
from quanwang.data.generator._population import Population, sigmoid
from quanwang.data.generator._world import Geography, Stores

# The true churn model: logit(hazard) = INTERCEPT + Σ coefficient × feature (see the package
# docstring for each feature's definition).
INTERCEPT = -5.22
COEF = {
    "tenure_under_6m": 0.9,
    "tenure_6_12m": 0.45,
    "no_contract": 0.5,
    "contract_expiring": 1.0,
    "discount_expiring": 0.6,
    "complaints_3m": 0.55,
    "severe_complaint_3m": 0.7,
    "overage_last_month": 0.5,
    "arpu_trend": -1.8,
    "offnet_share": 2.0,
    "dual_sim_secondary": 0.9,
    "dual_sim_primary": 0.35,
    "prepaid": 0.35,
    "plan_5g": -0.2,
    "household_broadband": -0.55,
    "enterprise_member": -0.3,
    "churned_contacts_last_month": 0.8,
    "family_churned_last_month": 1.2,
    "colleague_churned_last_month": 0.6,
    "grid_network_issue": 0.25,
    "broadband_line": -0.3,
}
OFFNET_CENTRE = 0.32
ENGAGEMENT_MEMORY = 0.85
ENGAGEMENT_NOISE = 0.1
ARPU_MEDIAN = 38.0
ARPU_SPREAD = 0.62  # σ of the lasting part of log ARPU
ARPU_NOISE = 0.22  # σ of month-to-month noise of log ARPU
DOU_MEDIAN = 11.1
MOU_MEDIAN = 165.0
FAMILY_SHARED_DRAW = 0.5  # P(a family member's churn draw is the family's) — co-churn
ENTERPRISE_SHARED_DRAW = 0.3
PORT_OUT = (0.15, 0.35)  # P(the number is ported to a competitor): other reasons, 竞争对手策反
JOIN_RATE = 0.0145
BURN_IN = 4
REASON_BASE = np.array([0.35, 0.2, 0.3, 0.1, 0.2, 0.15])


def nanmean(values: Arr) -> Arr:
    """Column means ignoring NaN; NaN where a column has no numbers."""
    seen = ~np.isnan(values)
    count = seen.sum(axis=0)
    total = np.where(seen, values, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


@dataclass
class Features:
    rows: Arr
    eta: Arr
    reasons: Arr  # (rows, 6) weight of each churn reason


def month_start_day(start: np.datetime64, t: int) -> tuple[int, int, str]:
    first = start + np.timedelta64(t, "M")
    day = int(first.astype("datetime64[D]").astype(np.int64))
    following = int((first + np.timedelta64(1, "M")).astype("datetime64[D]").astype(np.int64))
    return day, following - day, str(first)


class Simulation:
    def __init__(
        self,
        rng: np.random.Generator,
        *,
        pop: Population,
        geo: Geography,
        stores: Stores,
        ties: Ties,
        start: np.datetime64,
        subscriber_ids: Any,
        peer_hashes: Any,
    ) -> None:
        self.rng = rng
        self.pop = pop
        self.geo = geo
        self.stores = stores
        self.ties = ties
        self.start = start
        self.subscriber_ids = subscriber_ids
        self.peer_hashes = peer_hashes
        c = pop.capacity
        self.alive = np.zeros(c, dtype=bool)
        self.alive[: pop.first_joiner] = True
        self.next_joiner = pop.first_joiner
        self.join_month = np.full(c, -99, dtype=np.int32)
        self.churn_day = np.full(c, -1, dtype=np.int64)
        self.churn_month = np.full(c, -99, dtype=np.int32)
        self.churn_reason = np.full(c, -1, dtype=np.int8)
        self.ported_to = np.zeros(c, dtype=np.int8)
        stationary = ENGAGEMENT_NOISE / np.sqrt(1 - ENGAGEMENT_MEMORY**2)
        self.engagement = pop.drift / (1 - ENGAGEMENT_MEMORY) * rng.random(c) + rng.normal(
            0, stationary, c
        )
        self.log_arpu = np.full((4, c), np.nan, dtype=np.float32)
        self.offnet_seen = np.full(c, OFFNET_CENTRE, dtype=np.float32)
        self.overage = np.zeros(c, dtype=bool)
        self.arrears = np.zeros(c, dtype=bool)
        self.saturation = np.zeros(c, dtype=np.float32)
        self.complaints = np.zeros((3, c), dtype=np.int8)
        self.network_complaints = np.zeros((3, c), dtype=np.int8)
        self.severe = np.zeros((3, c), dtype=bool)
        plans = vocab.PLANS
        self.fee = np.array([p.fee for p in plans])[pop.plan]
        self.data_gb = np.array([p.data_gb or 0.0 for p in plans])[pop.plan]
        self.voice = np.array([p.voice or 0 for p in plans])[pop.plan]
        self.mu_arpu = np.log(ARPU_MEDIAN) + 0.055
        self.recharge_seq = 0
        self.complaint_seq = 0
        store_order = np.argsort(stores.grid, kind="stable")
        self.store_order = store_order
        n_grids = len(geo.grid_ids)
        self.store_start = np.searchsorted(stores.grid[store_order], np.arange(n_grids), "left")
        self.store_stop = np.searchsorted(stores.grid[store_order], np.arange(n_grids), "right")
        for t in range(-BURN_IN, 0):
            day, days, _ = month_start_day(start, t)
            rows = np.flatnonzero(pop.is_mobile & self.alive & (pop.join_day < day + days))
            fraction = np.clip((day + days - pop.join_day[rows]) / days, 0, 1)
            self._usage(t, rows, fraction, days_in_month=days)
            self._complaints(t, rows, np.full(len(rows), day), np.full(len(rows), day + days - 1))

    # -- the true hazard -------------------------------------------------------------------

    def features(self, t: int, rows: Arr) -> Features:
        pop = self.pop
        day, _, _ = month_start_day(self.start, t)
        tenure = (day - pop.join_day[rows]) / 30.4375
        contract_end = pop.contract_end[rows]
        has_contract = contract_end >= day
        expiring = has_contract & (contract_end - day <= 92)
        discount_end = pop.discount_end[rows]
        discount_expiring = (discount_end >= day) & (discount_end - day <= 92)
        complaints = np.minimum(self.complaints[:, rows].sum(axis=0), 3)
        network = np.minimum(self.network_complaints[:, rows].sum(axis=0), 3)
        severe = self.severe[:, rows].any(axis=0)
        slot = np.array([(t - k) % 4 for k in (1, 2, 3, 4)])
        recent = nanmean(self.log_arpu[np.ix_(slot[:2], rows)])
        earlier = nanmean(self.log_arpu[np.ix_(slot[2:], rows)])
        trend = np.clip(np.nan_to_num(recent - earlier, nan=0.0), -1.5, 0.5)
        offnet = self.offnet_seen[rows] - OFFNET_CENTRE
        dual = pop.dual[rows]
        churned_last = self.churn_month == t - 1
        contacts = np.bincount(
            self.ties.a, weights=churned_last[self.ties.b], minlength=pop.capacity
        ) + np.bincount(self.ties.b, weights=churned_last[self.ties.a], minlength=pop.capacity)
        contacts = np.minimum(contacts[rows], 3)
        family_churned = np.bincount(pop.family[churned_last], minlength=pop.n_families) > 0
        colleague = np.zeros(int(pop.enterprise.max()) + 2, dtype=bool)
        colleague[pop.enterprise[churned_last & (pop.enterprise >= 0)]] = True
        colleague_churned = colleague[pop.enterprise[rows]] & (pop.enterprise[rows] >= 0)
        network_issue = self.geo.grid_network_issue[pop.grid[rows]]
        x = {
            "tenure_under_6m": tenure < 6,
            "tenure_6_12m": (tenure >= 6) & (tenure < 12),
            "no_contract": ~has_contract,
            "contract_expiring": expiring,
            "discount_expiring": discount_expiring,
            "complaints_3m": complaints,
            "severe_complaint_3m": severe,
            "overage_last_month": self.overage[rows],
            "arpu_trend": trend,
            "offnet_share": offnet,
            "dual_sim_secondary": dual == 2,
            "dual_sim_primary": dual == 1,
            "prepaid": pop.prepaid[rows],
            "plan_5g": pop.plan_5g[rows],
            "household_broadband": pop.family_broadband[pop.family[rows]],
            "enterprise_member": pop.enterprise[rows] >= 0,
            "churned_contacts_last_month": contacts,
            "family_churned_last_month": family_churned[pop.family[rows]],
            "colleague_churned_last_month": colleague_churned,
            "grid_network_issue": network_issue,
            "broadband_line": ~pop.is_mobile[rows],
        }
        eta = INTERCEPT + pop.frailty[rows]
        for name, coefficient in COEF.items():
            eta = eta + coefficient * x[name]
        reasons = np.stack(
            [
                0.5 * x["overage_last_month"]
                + 0.6 * discount_expiring
                + np.maximum(0, -1.8 * trend)
                + 0.35 * x["prepaid"]
                + 0.5 * x["no_contract"],
                0.25 * np.maximum(network_issue, 0) + 0.55 * network,
                2.0 * np.maximum(offnet, 0)
                + 0.9 * (dual == 2)
                + 0.35 * (dual == 1)
                + 0.8 * contacts
                + 1.0 * expiring
                + 0.6 * colleague_churned,
                0.55 * np.maximum(complaints - network, 0) + 0.7 * severe,
                1.2 * x["family_churned_last_month"],
                np.zeros(len(rows)),
            ],
            axis=1,
        )
        return Features(rows=rows, eta=eta, reasons=REASON_BASE + np.expm1(reasons))

    # -- one month -------------------------------------------------------------------------

    def step(self, t: int) -> dict[str, Any]:
        rng, pop = self.rng, self.pop
        day, days, month = month_start_day(self.start, t)
        at_risk = np.flatnonzero(self.alive & (pop.join_day < day))
        feats = self.features(t, at_risk)
        hazard = sigmoid(feats.eta)

        # Churn draws share a uniform within families and enterprises, so members leave
        # together while each one's chance stays exactly its hazard.
        draw = rng.random(len(at_risk))
        family = pop.family[at_risk]
        family_draw = rng.random(pop.n_families)
        share_family = rng.random(len(at_risk)) < np.where(
            pop.is_mobile[at_risk], FAMILY_SHARED_DRAW, 0.8
        )
        share_family &= (pop.family_size[family] >= 2) | ~pop.is_mobile[at_risk]
        draw = np.where(share_family, family_draw[family], draw)
        enterprise = pop.enterprise[at_risk]
        enterprise_draw = rng.random(int(pop.enterprise.max()) + 2)
        share_enterprise = (enterprise >= 0) & (rng.random(len(at_risk)) < ENTERPRISE_SHARED_DRAW)
        draw = np.where(share_enterprise, enterprise_draw[enterprise], draw)
        leaving = draw < hazard
        churners = at_risk[leaving]
        self.churn_day[churners] = day + rng.integers(0, days, len(churners))
        self.churn_month[churners] = t
        weights = feats.reasons[leaving]
        cumulative = np.cumsum(weights, axis=1)
        pick = rng.random(len(churners)) * cumulative[:, -1]
        reason = (pick[:, None] > cumulative).sum(axis=1)
        self.churn_reason[churners] = reason
        port = rng.random(len(churners)) < np.where(reason == 2, PORT_OUT[1], PORT_OUT[0])
        share = np.array(vocab.COMPETITOR_SHARE[1:])
        operator = 1 + rng.choice(4, size=len(churners), p=share / share.sum())
        self.ported_to[churners] = np.where(port & pop.is_mobile[churners], operator, 0)
        self.alive[churners] = False

        # Joiners keep the base about level.
        expected = 0.5 * len(churners) + 0.5 * JOIN_RATE * len(at_risk)
        k = min(int(rng.poisson(expected)), pop.capacity - self.next_joiner)
        joiners = np.arange(self.next_joiner, self.next_joiner + k)
        self.next_joiner += k
        pop.join_day[joiners] = day + rng.integers(0, days, k)
        self.join_month[joiners] = t
        self.alive[joiners] = True
        length = pop.contract_length[joiners]
        pop.contract_end[joiners] = np.where(length > 0, pop.join_day[joiners] + length, -1)
        length = pop.discount_length[joiners]
        pop.discount_end[joiners] = np.where(length > 0, pop.join_day[joiners] + length, -1)
        in_store = pop.channel[joiners] <= 1
        g = pop.grid[joiners]
        local = self.store_stop[g] - self.store_start[g]
        store = np.where(
            local > 0,
            self.store_order[
                np.minimum(
                    self.store_start[g] + (rng.random(k) * local).astype(np.int64),
                    len(self.store_order) - 1,
                )
            ],
            rng.integers(0, len(self.stores.grid), k),
        )
        pop.store[joiners] = np.where(in_store, store, -1)

        # Everyone active for part of the month or all of it.
        active = np.union1d(at_risk, joiners)
        first = np.maximum(day, pop.join_day[active])
        last = np.where(self.churn_month[active] == t, self.churn_day[active], day + days - 1)
        fraction = (last - first + 1) / days
        mobile = pop.is_mobile[active]
        usage = self._usage(t, active[mobile], fraction[mobile], days_in_month=days)
        complaints = self._complaints(t, active[mobile], first[mobile], last[mobile])
        recharges = self._recharges(active[mobile], usage["arpu"], first[mobile], last[mobile])
        contacts = self._contacts(t, active, fraction)
        sales = self._store_sales(t, joiners)
        usage_table = ax.build(
            "monthly_usage",
            {
                "subscriber_id": self.subscriber_ids.take(pa.array(active[mobile])),
                "month": ax.constant(month, int(mobile.sum())),
                **usage,
            },
        )
        hazard_table = ax.plain(
            {
                "subscriber_id": self.subscriber_ids.take(pa.array(at_risk)),
                "month": ax.constant(month, len(at_risk)),
                "hazard": hazard,
            },
            {"subscriber_id": pa.string(), "month": pa.string(), "hazard": pa.float64()},
        )
        return {
            "monthly_usage": usage_table,
            "complaints": complaints,
            "recharges": recharges,
            "contacts": contacts,
            "store_sales": sales,
            "churn_hazard": hazard_table,
            "_stats": {"at_risk": len(at_risk), "churned": len(churners), "joined": k},
        }

    # -- usage -----------------------------------------------------------------------------

    def _usage(self, t: int, rows: Arr, fraction: Arr, *, days_in_month: int) -> dict[str, Arr]:
        rng, pop = self.rng, self.pop
        n = len(rows)
        e = ENGAGEMENT_MEMORY * self.engagement[rows] + pop.drift[rows]
        e = e + rng.normal(0, ENGAGEMENT_NOISE, n)
        self.engagement[rows] = e
        value, age = pop.value[rows], pop.age[rows]
        secondary = pop.dual[rows] == 2
        log_arpu = self.mu_arpu + ARPU_SPREAD * value + e + rng.normal(0, ARPU_NOISE, n)
        arpu = np.exp(log_arpu) * fraction
        log_dou = (
            np.log(DOU_MEDIAN)
            + 0.8 * (0.55 * value + 0.835 * pop.data_taste[rows])
            - 0.025 * (age - 40)
            + 0.6 * e
            - 0.3 * secondary
            + rng.normal(0, 0.45, n)
        )
        dou = np.exp(log_dou) * fraction
        log_mou = (
            np.log(MOU_MEDIAN)
            + 0.7 * (0.4 * value + 0.917 * pop.voice_taste[rows])
            + 0.012 * (age - 40)
            + 0.5 * e
            - 0.4 * secondary
            + rng.normal(0, 0.4, n)
        )
        mou = np.exp(log_mou) * fraction
        share = np.clip(pop.offnet[rows] + rng.normal(0, 0.04, n), 0.0, 1.0)
        offnet = mou * share
        day, _, _ = month_start_day(self.start, t)
        discounted = pop.discount_end[rows] >= day
        fee = self.fee[rows] * np.where(discounted, 0.7, 1.0) * fraction
        saturation = dou / np.maximum(self.data_gb[rows], 0.1)
        extra = np.maximum(arpu - fee, 0.0)
        over = (saturation > 1.0) | (mou > self.voice[rows])
        overage = extra * np.where(over, 0.8, 0.25)
        owing = ~pop.prepaid[rows] & (
            rng.random(n) < sigmoid(-4.2 - 0.5 * value + 1.5 * (e < -0.3))
        )
        arrears = np.where(owing, arpu * rng.uniform(0.3, 1.5, n), 0.0)
        coverage = self.geo.grid_coverage[pop.grid[rows]] * np.where(pop.plan_5g[rows], 1.0, 0.6)
        used_5g = pop.device_5g[rows] & (rng.random(n) < coverage)
        full = fraction >= 1.0
        self.log_arpu[t % 4, rows] = np.where(full, log_arpu, np.nan)
        self.offnet_seen[rows] = share
        self.overage[rows] = overage > 5.0
        self.arrears[rows] = arrears > 0
        self.saturation[rows] = saturation
        return {
            "arpu": ax.money(arpu),
            "mou": np.round(mou, 1),
            "dou_gb": np.round(dou, 3),
            "onnet_minutes": np.round(mou - offnet, 1),
            "offnet_minutes": np.round(offnet, 1),
            "overage_fee": ax.money(overage),
            "arrears": ax.money(arrears),
            "used_5g_network": used_5g,
            "plan_saturation": np.round(saturation, 3),
        }

    def _window_days(self, first: Arr, last: Arr) -> Arr:
        return first + (self.rng.random(len(first)) * (last - first + 1)).astype(np.int64)

    def _complaints(self, t: int, rows: Arr, first: Arr, last: Arr) -> Any:
        rng, pop = self.rng, self.pop
        slot = t % 3
        self.complaints[slot] = 0
        self.network_complaints[slot] = 0
        self.severe[slot] = False
        network_issue = self.geo.grid_network_issue[pop.grid[rows]]
        overage = self.overage[rows]
        p = sigmoid(
            -4.9
            + 0.45 * network_issue
            + 0.8 * overage
            + 0.5 * self.arrears[rows]
            + 0.4 * (self.engagement[rows] < -0.3)
            + 0.3 * (pop.dual[rows] == 2)
        )
        filed = rng.random(len(rows)) < p
        who = rows[filed]
        k = len(who)
        weights = np.stack(
            [
                1.0 + 1.2 * np.maximum(network_issue[filed], 0),
                0.8 + 1.5 * overage[filed],
                np.full(k, 0.6),
                np.full(k, 0.3),
                np.full(k, 0.4),
            ],
            axis=1,
        )
        cumulative = np.cumsum(weights, axis=1)
        category = (rng.random(k)[:, None] * cumulative[:, -1:] > cumulative).sum(axis=1)
        level = rng.choice(3, size=k, p=(0.85, 0.12, 0.03))
        channel = np.where(
            (level == 2) & (rng.random(k) < 0.6),
            4,
            rng.choice(4, size=k, p=(0.55, 0.15, 0.12, 0.18)),
        )
        resolved = rng.random(k) < np.where(level == 2, 0.7, 0.9)
        self.complaints[slot, who] = 1
        self.network_complaints[slot, who] = category == 0
        self.severe[slot, who] = level == 2
        if t < 0:
            return None
        created = self._window_days(first[filed], last[filed])
        ids = ax.digits("C", np.arange(self.complaint_seq, self.complaint_seq + k) + 1, 10)
        self.complaint_seq += k
        return ax.build(
            "complaints",
            {
                "complaint_id": ids,
                "subscriber_id": self.subscriber_ids.take(pa.array(who)),
                "created_date": ax.dates(created),
                "category": ax.pick(vocab.COMPLAINT_CATEGORIES, category),
                "level": ax.pick(vocab.COMPLAINT_LEVELS, level),
                "channel": ax.pick(vocab.COMPLAINT_CHANNELS, channel),
                "resolved": resolved,
            },
        )

    def _recharges(self, rows: Arr, arpu: Arr, first: Arr, last: Arr) -> Any:
        rng, pop = self.rng, self.pop
        prepaid = pop.prepaid[rows]
        amount = np.array(vocab.RECHARGE_AMOUNTS)[pop.denomination[rows]]
        count = np.where(prepaid, rng.poisson(arpu / amount), 0)
        index = np.repeat(np.arange(len(rows)), count)
        k = len(index)
        when = self._window_days(first[index], last[index])
        order = np.lexsort((when, index))
        index, when = index[order], when[order]
        ids = ax.digits("R", np.arange(self.recharge_seq, self.recharge_seq + k) + 1, 12)
        self.recharge_seq += k
        channel = rng.choice(len(vocab.RECHARGE_CHANNELS), size=k, p=vocab.RECHARGE_CHANNEL_P)
        return ax.build(
            "recharges",
            {
                "recharge_id": ids,
                "subscriber_id": self.subscriber_ids.take(pa.array(rows[index])),
                "recharge_date": ax.dates(when),
                "amount": ax.money(amount[index]),
                "channel": ax.pick(vocab.RECHARGE_CHANNELS, channel),
            },
        )

    # -- calls -----------------------------------------------------------------------------

    def _contacts(self, t: int, active: Arr, fraction: Arr) -> Any:
        rng, pop, ties = self.rng, self.pop, self.ties
        share = np.zeros(pop.capacity)
        share[active] = fraction
        a, b = ties.a, ties.b
        both = np.minimum(share[a], share[b])
        p = TIE_ACTIVE[ties.kind] * both
        on = rng.random(len(a)) < p
        # A churned subscriber who ported their number to a competitor stays in the circle, now
        # off-net; one who did not port is gone.
        gone_a = (share[a] == 0) & (self.ported_to[a] > 0) & (self.churn_month[a] >= 0)
        gone_b = (share[b] == 0) & (self.ported_to[b] > 0) & (self.churn_month[b] >= 0)
        ported_ab = (
            gone_b & (share[a] > 0) & (rng.random(len(a)) < TIE_ACTIVE[ties.kind] * share[a])
        )
        ported_ba = (
            gone_a & (share[b] > 0) & (rng.random(len(a)) < TIE_ACTIVE[ties.kind] * share[b])
        )
        owner_share = share[ties.off_owner]
        off = rng.random(len(ties.off_owner)) < TIE_ACTIVE[ties.off_kind] * owner_share
        base = pop.capacity
        src = np.concatenate([a[on], b[on], a[ported_ab], b[ported_ba], ties.off_owner[off]])
        peer = np.concatenate([b[on], a[on], b[ported_ab], a[ported_ba], base + ties.off_peer[off]])
        operator = np.concatenate(
            [
                np.zeros(2 * int(on.sum()), dtype=np.int8),
                self.ported_to[b[ported_ab]],
                self.ported_to[a[ported_ba]],
                ties.competitor_operator[ties.off_peer[off]],
            ]
        )
        kind = np.concatenate(
            [
                ties.kind[on],
                ties.kind[on],
                ties.kind[ported_ab],
                ties.kind[ported_ba],
                ties.off_kind[off],
            ]
        )
        # Both ends of an on-net tie see the same calls.
        n_on = int(on.sum())
        lam = TIE_CALLS[kind]
        calls = 1 + rng.poisson(lam)
        minutes = calls * np.exp(rng.normal(0.8, 0.5, len(kind)))
        sms = rng.poisson(0.5, len(kind))
        calls[n_on : 2 * n_on] = calls[:n_on]
        minutes[n_on : 2 * n_on] = minutes[:n_on]
        sms[n_on : 2 * n_on] = sms[:n_on]
        order = np.argsort(src * (base + ties.n_competitor) + peer, kind="stable")
        _, _, month = month_start_day(self.start, t)
        return ax.build(
            "contacts",
            {
                "subscriber_id": self.subscriber_ids.take(pa.array(src[order])),
                "month": ax.constant(month, len(order)),
                "peer_hash": self.peer_hashes.take(pa.array(peer[order])),
                "peer_operator": ax.pick(vocab.OPERATORS, operator[order]),
                "calls": calls[order].astype(np.int64),
                "minutes": np.round(minutes[order], 1),
                "sms": sms[order].astype(np.int64),
            },
        )

    def _store_sales(self, t: int, joiners: Arr) -> Any:
        rng, stores = self.rng, self.stores
        n = len(stores.grid)
        products = len(vocab.STORE_PRODUCTS)
        grade = (
            np.array([3.0, 1.5, 0.6])[stores.grade]
            * np.array(vocab.STORE_TYPE_SALES)[stores.store_type]
        )
        rate = np.array(vocab.STORE_PRODUCT_RATE)[None, :] * grade[:, None]
        units = rng.poisson(rate)
        via = self.pop.store[joiners]
        units[:, 0] += np.bincount(via[via >= 0], minlength=n)
        price = np.array(vocab.STORE_PRODUCT_PRICE)[None, :]
        revenue = units * price * rng.lognormal(0, 0.1, (n, products))
        # In fen, for the traffic and sale lines that must add up to it (generator._channels);
        # fen / 100 is exactly np.round(revenue, 2).
        fen = np.round(revenue * 100).astype(np.int64)
        self.store_units, self.store_fen, self.joiners = units, fen, joiners
        _, _, month = month_start_day(self.start, t)
        return ax.build(
            "store_sales",
            {
                "store_id": ax.digits("ST", np.repeat(np.arange(1, n + 1), products), 6),
                "month": ax.constant(month, n * products),
                "product": ax.pick(vocab.STORE_PRODUCTS, np.tile(np.arange(products), n)),
                "units": units.ravel().astype(np.int64),
                "revenue": fen.ravel() / 100,
            },
        )
