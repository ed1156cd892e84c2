"""Ground truth for campaigns: each subscriber's chance to accept, and to churn, with and without
a contact. See the package docstring for the formulas."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from quanwang.data.generator import _arrow as ax
from quanwang.data.generator._arrow import Arr
from quanwang.data.generator._monthly import Simulation, month_start_day, nanmean
from quanwang.data.generator._population import sigmoid

CAMPAIGNS = ("维系", "升档", "5G迁转", "融合", "异网策反", "赢回")
# The change in logit(churn hazard) when the offer is accepted.
ACCEPTED_SHIFT = {"维系": -1.2, "升档": -0.2, "5G迁转": -0.2, "融合": -0.55, "异网策反": -0.7}
SLEEPING_DOG_SHIFT = 0.9  # contact that is turned down wakes the sleeping dog
DO_NOT_DISTURB_SHIFT = 1.5  # contacting someone who asked not to be disturbed
TYPES = {
    "subscriber_id": pa.string(),
    "campaign_type": pa.string(),
    "p_accept_contacted": pa.float64(),
    "p_accept_not_contacted": pa.float64(),
    "churn_hazard_contacted": pa.float64(),
    "churn_hazard_not_contacted": pa.float64(),
}


def sleeping_dogs(sim: Simulation, rows: Arr, month: int) -> Arr:
    """Out of contract, four years or more with us, and spending under ¥25 a month lately."""
    pop = sim.pop
    day, _, _ = month_start_day(sim.start, month)
    tenure = (day - pop.join_day[rows]) / 30.4375
    recent = np.exp(nanmean(sim.log_arpu[:, rows]))
    return (pop.contract_end[rows] < day) & (tenure >= 48) & (np.nan_to_num(recent, nan=0.0) < 25)


def next_month_logit(sim: Simulation, month: int) -> tuple[Arr, Arr]:
    """(rows, η): the mobile lines still with us and the logit of their churn hazard in
    `month` (the month after the data), before any campaign."""
    rows = np.flatnonzero(sim.alive & sim.pop.is_mobile)
    return rows, sim.features(month, rows).eta


def treatment_effects(sim: Simulation, month: int, hazard: tuple[Arr, Arr] | None = None) -> Any:
    """`hazard`: `next_month_logit(sim, month)` where the caller has it already."""
    pop = sim.pop
    rows, eta = hazard if hazard is not None else next_month_logit(sim, month)
    baseline = sigmoid(eta)
    day, _, _ = month_start_day(sim.start, month)
    tenure = (day - pop.join_day[rows]) / 30.4375
    contract_end = pop.contract_end[rows]
    expiring = (contract_end >= day) & (contract_end - day <= 92)
    discount = (pop.discount_end[rows] >= day) & (pop.discount_end[rows] - day <= 92)
    value, age = pop.value[rows], pop.age[rows]
    overage = sim.overage[rows]
    full = sim.saturation[rows] > 0.9
    sleeping = sleeping_dogs(sim, rows, month)
    annoyed = SLEEPING_DOG_SHIFT * sleeping + DO_NOT_DISTURB_SHIFT * pop.dnd[rows]
    family = pop.family[rows]
    household = pop.family_size[family] >= 2
    dual = pop.dual[rows]

    def offer(
        eligible: Arr, accept_contacted: Arr, accept_alone: Arr, accepted: Arr, refused: Arr
    ) -> dict[str, Arr]:
        p_c, p_n = sigmoid(accept_contacted)[eligible], sigmoid(accept_alone)[eligible]
        e = eta[eligible]
        after = sigmoid(e + np.broadcast_to(accepted, eta.shape)[eligible])
        return {
            "rows": rows[eligible],
            "p_c": p_c,
            "p_n": p_n,
            "h_c": p_c * after + (1 - p_c) * sigmoid(e + refused[eligible]),
            "h_n": p_n * after + (1 - p_n) * baseline[eligible],
        }

    everyone = np.ones(len(rows), dtype=bool)
    parts = {
        "维系": offer(
            everyone,
            -1.6
            + 0.8 * expiring
            + 0.5 * discount
            + 0.4 * (tenure >= 24)
            + 0.3 * overage
            - 0.8 * sleeping,
            -4.5 + 0.5 * expiring,
            np.array(ACCEPTED_SHIFT["维系"]),
            annoyed - 0.1 - 0.4 * expiring - 0.3 * discount,
        ),
        "升档": offer(
            everyone,
            -2.6
            + 1.2 * full
            + 0.6 * overage
            + 0.3 * value
            - 0.5 * pop.prepaid[rows]
            + 0.4 * (age < 35),
            -5.0 + 0.8 * full,
            ACCEPTED_SHIFT["升档"] - 0.3 * overage,
            annoyed + 0.25 * ((value < -0.8) & ~overage),
        ),
        "5G迁转": offer(
            ~pop.plan_5g[rows],
            -2.0
            + 1.5 * pop.device_5g[rows]
            + 0.5 * (sim.saturation[rows] > 0.5)
            - 0.03 * (age - 40),
            -4.8 + 1.0 * pop.device_5g[rows],
            np.array(ACCEPTED_SHIFT["5G迁转"]),
            annoyed + 0.6 * ((age >= 60) & ~pop.device_5g[rows]),
        ),
        "融合": offer(
            ~pop.family_broadband[family],
            -2.4
            + 0.6 * household
            + 0.4 * (pop.segment[rows] == 1)
            + 0.3 * value
            + 0.3 * (tenure >= 24),
            -5.5 + 0.3 * household,
            np.array(ACCEPTED_SHIFT["融合"]),
            annoyed,
        ),
        "异网策反": offer(
            dual > 0,
            -2.0 + 0.5 * value + 0.6 * (dual == 1) + 0.5 * (pop.enterprise[rows] >= 0),
            np.full(len(rows), -5.0),
            np.array(ACCEPTED_SHIFT["异网策反"]),
            annoyed + 0.3 * ((dual == 2) & (sim.offnet_seen[rows] > 0.45)),
        ),
    }
    tables = []
    for campaign, part in parts.items():
        tables.append(
            ax.plain(
                {
                    "subscriber_id": sim.subscriber_ids.take(pa.array(part["rows"])),
                    "campaign_type": ax.constant(campaign, len(part["rows"])),
                    "p_accept_contacted": part["p_c"],
                    "p_accept_not_contacted": part["p_n"],
                    "churn_hazard_contacted": part["h_c"],
                    "churn_hazard_not_contacted": part["h_n"],
                },
                TYPES,
            )
        )
    # Win-back (赢回) of those who left: no churn hazard, they are gone.
    gone = np.flatnonzero((sim.churn_month >= 0) & pop.is_mobile)
    reason = sim.churn_reason[gone]
    since = month - sim.churn_month[gone]
    logit = (
        -2.3
        + 0.8 * (reason == 0)
        + 0.4 * (reason == 2)
        - 1.5 * (reason == 4)
        - 0.15 * since
        + 0.5 * (sim.ported_to[gone] > 0)
    )
    missing = pa.nulls(len(gone), pa.float64())
    tables.append(
        ax.plain(
            {
                "subscriber_id": sim.subscriber_ids.take(pa.array(gone)),
                "campaign_type": ax.constant("赢回", len(gone)),
                "p_accept_contacted": sigmoid(logit),
                "p_accept_not_contacted": sigmoid(logit - 3.5),
                "churn_hazard_contacted": missing,
                "churn_hazard_not_contacted": missing,
            },
            TYPES,
        )
    )
    return pa.concat_tables(tables)
