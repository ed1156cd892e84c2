"""The wide table's features written by hand twice, as baselines for bench_pipeline.py.

Both compute exactly what `quanwang.insight.features.wide_table` computes (bench_pipeline
checks that they agree): once as one hand-written DuckDB SQL query, once in plain pandas.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from quanwang.insight.features import (
    COMPLAINT_LEVELS,
    EXPIRY_DAYS,
    OFFNET_OPERATORS,
    PAGERANK_DAMPING,
    PAGERANK_ITERATIONS,
)
from quanwang.insight.months import Month


def _in(values: list[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def wide_sql(files: dict[str, Path], month: Month) -> str:
    end = f"DATE '{month.last_day}'"
    start3 = f"DATE '{month.shift(-2).first_day}'"
    start2 = f"DATE '{month.shift(-1).first_day}'"
    start1 = f"DATE '{month.first_day}'"
    t = {name: f"read_parquet('{path}')" for name, path in files.items()}
    expiry = ",\n".join(
        f"{kind}_end_date IS NOT NULL AND {kind}_end_date > {end} AND "
        f"{kind}_end_date <= {end} + INTERVAL {days} DAY AS {kind}_expiring_{span}"
        for kind in ("contract", "discount")
        for span, days in EXPIRY_DAYS.items()
    )
    measures = []
    for x in ("arpu", "mou", "dou_gb"):
        measures.append(
            f"max({x}) FILTER (WHERE i = 5) AS {x}_m1, avg({x}) FILTER (WHERE i >= 3) AS {x}_3m, "
            f"avg({x}) AS {x}_6m"
        )
        for span, cond in (("3m", "i >= 3"), ("6m", "true")):
            c = f"{cond} AND {x} IS NOT NULL"
            measures.append(
                f"count({x}) FILTER (WHERE {c}) AS {x}_{span}_n, "
                f"sum(i) FILTER (WHERE {c}) AS {x}_{span}_si, "
                f"sum(i * i) FILTER (WHERE {c}) AS {x}_{span}_sii, "
                f"sum({x}) FILTER (WHERE {c}) AS {x}_{span}_sx, "
                f"sum(i * {x}) FILTER (WHERE {c}) AS {x}_{span}_six"
            )
    slopes = ",\n".join(
        f"({x}_{s}_n * {x}_{s}_six - {x}_{s}_si * {x}_{s}_sx) / "
        f"NULLIF({x}_{s}_n * {x}_{s}_sii - {x}_{s}_si * {x}_{s}_si, 0) AS {x}_trend_{s}"
        for x in ("arpu", "mou", "dou_gb")
        for s in ("3m", "6m")
    )
    levels = ", ".join(
        f"count(*) FILTER (WHERE level = '{name}') AS complaints_{suffix}_3m"
        for suffix, name in COMPLAINT_LEVELS.items()
    )
    shares = ", ".join(
        f"coalesce(sum(minutes) FILTER (WHERE peer_operator = '{name}'), 0) / "
        f"NULLIF(greatest(sum(minutes), 0), 0) AS offnet_minutes_share_{suffix}"
        for suffix, name in OFFNET_OPERATORS.items()
    )
    base_index = month.index - 5
    d = PAGERANK_DAMPING
    ranks = ",\n".join(
        f"r{k + 1} AS (SELECT n.subscriber_id, {1 - d} + {d} * "
        "coalesce(sum(l.share * r.pagerank), 0) AS pagerank "
        "FROM nodes n LEFT JOIN links l ON l.target = n.subscriber_id"
        f" LEFT JOIN r{k} r ON r.subscriber_id = l.source GROUP BY n.subscriber_id)"
        for k in range(PAGERANK_ITERATIONS)
    )
    return f"""
WITH nodes AS (
  SELECT subscriber_id, sha256(msisdn) AS peer_hash FROM {t["subscribers"]}
  WHERE join_date <= {end} AND (churn_date IS NULL OR churn_date > {end})
),
weights AS (
  SELECT e.subscriber_id AS source, n.subscriber_id AS target,
         CAST(sum(coalesce(e.minutes, 0) + 1) AS DOUBLE) AS weight
  FROM {t["contacts"]} e JOIN nodes n USING (peer_hash)
  WHERE e.month = '{month}' AND e.peer_operator = '本网'
    AND e.subscriber_id IN (SELECT subscriber_id FROM nodes)
  GROUP BY 1, 2
),
links AS (
  SELECT source, target, weight / sum(weight) OVER (PARTITION BY source) AS share
  FROM weights WHERE source <> target
),
r0 AS (SELECT subscriber_id, 1.0::DOUBLE AS pagerank FROM nodes),
{ranks},
profile AS (
  SELECT s.subscriber_id, s.grid_id, s.segment, s.payment_type, s.plan_id, p.plan_type,
         CAST(p.monthly_fee AS DOUBLE) AS plan_fee, s.payment_type = 'prepaid' AS is_prepaid,
         coalesce(p.is_5g, false) AS plan_5g, coalesce(s.device_5g, false) AS device_5g,
         {month.index} - (year(s.join_date) * 12 + month(s.join_date) - 1) AS tenure_months,
         ({month.index} - (year(s.birth_date) * 12 + month(s.birth_date) - 1)) // 12 AS age,
         s.contract_end_date IS NOT NULL AND s.contract_end_date > {end} AS has_contract,
         s.dual_sim_role = 'primary' AS dual_sim_primary,
         s.dual_sim_role = 'secondary' AS dual_sim_secondary,
         s.enterprise_id IS NOT NULL AS enterprise_member, s.family_id, s.enterprise_id,
         coalesce(s.do_not_disturb, false) AS do_not_disturb,
         {expiry}
  FROM {t["subscribers"]} s LEFT JOIN {t["plans"]} p USING (plan_id)
  WHERE s.join_date <= {end} AND (s.churn_date IS NULL OR s.churn_date > {end})
),
families AS (
  SELECT family_id, count(*) AS family_size,
         bool_or(plan_type IN ('broadband', 'bundle')) AS household_broadband
  FROM profile WHERE family_id IS NOT NULL GROUP BY family_id
),
u AS (
  SELECT *, CAST(substr(month, 1, 4) AS BIGINT) * 12 + CAST(substr(month, 6, 2) AS BIGINT) - 1
         - {base_index} AS i
  FROM {t["monthly_usage"]} WHERE month IN {_in(month.back(6))}
),
usage_raw AS (
  SELECT subscriber_id, count(*) AS months_active_6m, {", ".join(measures)},
         avg(plan_saturation) FILTER (WHERE i >= 3) AS saturation_3m,
         max(overage_fee) FILTER (WHERE i = 5) AS overage_fee_m1,
         sum(overage_fee) FILTER (WHERE i >= 3) AS overage_fee_3m,
         max(arrears) FILTER (WHERE i = 5) AS arrears_m1,
         avg(CAST(used_5g_network AS DOUBLE)) FILTER (WHERE i >= 3) AS used_5g_share_3m,
         sum(onnet_minutes) FILTER (WHERE i >= 3) AS onnet_3m,
         sum(offnet_minutes) FILTER (WHERE i >= 3) AS offnet_3m,
         sum(onnet_minutes) FILTER (WHERE i = 5) AS onnet_m1,
         sum(offnet_minutes) FILTER (WHERE i = 5) AS offnet_m1,
         avg(ln(CAST(arpu AS DOUBLE) + 1)) FILTER (WHERE i >= 4) AS log_recent,
         avg(ln(CAST(arpu AS DOUBLE) + 1)) FILTER (WHERE i IN (2, 3)) AS log_before
  FROM u GROUP BY subscriber_id
),
usage AS (
  SELECT subscriber_id, months_active_6m, arpu_m1, arpu_3m, arpu_6m, mou_m1, mou_3m, mou_6m,
         dou_gb_m1, dou_gb_3m, dou_gb_6m, saturation_3m, overage_fee_m1, overage_fee_3m,
         arrears_m1, used_5g_share_3m, {slopes},
         offnet_3m / NULLIF(greatest(coalesce(onnet_3m, 0) + coalesce(offnet_3m, 0), 0), 0)
           AS offnet_share_3m,
         offnet_m1 / NULLIF(greatest(coalesce(onnet_m1, 0) + coalesce(offnet_m1, 0), 0), 0)
           AS offnet_share_m1,
         log_recent - log_before AS arpu_log_change_2m
  FROM usage_raw
),
recharge AS (
  SELECT subscriber_id, count(*) AS recharges_3m, sum(amount) AS recharge_amount_3m
  FROM {t["recharges"]} WHERE recharge_date BETWEEN {start3} AND {end} GROUP BY 1
),
complaint AS (
  SELECT subscriber_id, count(*) AS complaints_3m, {levels}
  FROM {t["complaints"]} WHERE created_date BETWEEN {start3} AND {end} GROUP BY 1
),
circle AS (
  SELECT subscriber_id, count(*) AS degree,
         count(*) FILTER (WHERE peer_operator = '本网') AS onnet_peers,
         sum(minutes) AS call_minutes_m1, {shares}
  FROM {t["contacts"]} WHERE month = '{month}' GROUP BY 1
),
churned AS (
  SELECT ties.subscriber_id, count(*) AS churned_neighbours_2m,
         count(*) FILTER (WHERE gone.churn_date >= {start1}) AS churned_neighbours_1m
  FROM (SELECT DISTINCT subscriber_id, peer_hash FROM {t["contacts"]}
        WHERE month IN {_in(month.back(2))}) ties
  JOIN (SELECT sha256(msisdn) AS peer_hash, churn_date FROM {t["subscribers"]}
        WHERE churn_date BETWEEN {start2} AND {end}) gone USING (peer_hash)
  GROUP BY 1
),
left_now AS (
  SELECT family_id, enterprise_id FROM {t["subscribers"]}
  WHERE churn_date BETWEEN {start1} AND {end}
),
family_left AS (
  SELECT family_id, count(*) AS family_left_1m FROM left_now WHERE family_id IS NOT NULL GROUP BY 1
),
colleagues_left AS (
  SELECT enterprise_id, count(*) AS colleagues_left_1m FROM left_now
  WHERE enterprise_id IS NOT NULL GROUP BY 1
),
grid_rates AS (
  SELECT grid_id,
         avg(CAST(churn_date IS NOT NULL AND churn_date <= {end} AS DOUBLE)) AS grid_left_rate_3m
  FROM {t["subscribers"]}
  WHERE join_date < {start3} AND (churn_date IS NULL OR churn_date >= {start3})
  GROUP BY 1
)
SELECT p.* EXCLUDE (family_id, enterprise_id),
       coalesce(f.family_size, 1) AS family_size,
       coalesce(f.household_broadband, false) AS household_broadband,
       coalesce(fl.family_left_1m, 0) AS family_left_1m,
       coalesce(cl.colleagues_left_1m, 0) AS colleagues_left_1m,
       gr.grid_left_rate_3m,
       p.device_5g AND NOT p.plan_5g AS device_5g_on_non5g_plan,
       NOT p.device_5g AND p.plan_5g AS non5g_device_on_5g_plan,
       coalesce(usage.months_active_6m, 0) AS months_active_6m,
       usage.* EXCLUDE (subscriber_id, months_active_6m),
       coalesce(r.recharges_3m, 0) AS recharges_3m,
       coalesce(r.recharge_amount_3m, 0) AS recharge_amount_3m,
       coalesce(k.complaints_3m, 0) AS complaints_3m,
       coalesce(k.complaints_normal_3m, 0) AS complaints_normal_3m,
       coalesce(k.complaints_important_3m, 0) AS complaints_important_3m,
       coalesce(k.complaints_major_3m, 0) AS complaints_major_3m,
       coalesce(c.degree, 0) AS degree, coalesce(c.onnet_peers, 0) AS onnet_peers,
       c.call_minutes_m1, c.offnet_minutes_share_mobile, c.offnet_minutes_share_unicom,
       c.offnet_minutes_share_telecom, c.offnet_minutes_share_cbn,
       CAST(c.onnet_peers AS DOUBLE) / NULLIF(greatest(c.degree, 0), 0) AS onnet_peer_share,
       coalesce(g.churned_neighbours_2m, 0) AS churned_neighbours_2m,
       coalesce(g.churned_neighbours_1m, 0) AS churned_neighbours_1m,
       p.plan_type = 'bundle' AS is_bundle,
       p.plan_type = 'broadband' AS is_broadband_line,
       pr.pagerank
FROM profile p
LEFT JOIN families f USING (family_id)
LEFT JOIN usage USING (subscriber_id)
LEFT JOIN recharge r USING (subscriber_id)
LEFT JOIN complaint k USING (subscriber_id)
LEFT JOIN circle c USING (subscriber_id)
LEFT JOIN churned g USING (subscriber_id)
LEFT JOIN family_left fl ON fl.family_id = p.family_id
LEFT JOIN colleagues_left cl ON cl.enterprise_id = p.enterprise_id
LEFT JOIN grid_rates gr ON gr.grid_id = p.grid_id
LEFT JOIN r{PAGERANK_ITERATIONS} pr ON pr.subscriber_id = p.subscriber_id
"""


def _slope(frame: pd.DataFrame, x: str, mask: pd.Series) -> pd.Series:
    valid = mask & frame[x].notna()
    i = frame["i"].where(valid)
    v = frame[x].where(valid)
    parts = (
        pd.DataFrame(
            {
                "subscriber_id": frame["subscriber_id"],
                "n": valid.astype(float),
                "si": i,
                "sii": i * i,
                "sx": v,
                "six": i * v,
            }
        )
        .groupby("subscriber_id")
        .sum(min_count=1)
    )
    n = parts["n"].fillna(0)
    numerator = n * parts["six"] - parts["si"] * parts["sx"]
    denominator = n * parts["sii"] - parts["si"] * parts["si"]
    return numerator / denominator.replace(0, np.nan)


def wide_pandas(files: dict[str, Path], month: Month) -> pd.DataFrame:
    end = pd.Timestamp(month.last_day)
    subs = pd.read_parquet(files["subscribers"])
    for column in ("join_date", "churn_date", "contract_end_date", "discount_end_date"):
        subs[column] = pd.to_datetime(subs[column])
    plans = pd.read_parquet(
        files["plans"], columns=["plan_id", "plan_type", "monthly_fee", "is_5g"]
    )
    pop = subs[(subs.join_date <= end) & (subs.churn_date.isna() | (subs.churn_date > end))]
    base = pop.merge(plans, on="plan_id", how="left")
    birth = pd.to_datetime(base.birth_date)
    out = pd.DataFrame(
        {
            "subscriber_id": base.subscriber_id,
            "grid_id": base.grid_id,
            "segment": base.segment,
            "payment_type": base.payment_type,
            "plan_id": base.plan_id,
            "plan_type": base.plan_type,
            "plan_fee": base.monthly_fee.astype(float),
            "is_prepaid": base.payment_type == "prepaid",
            "plan_5g": base.is_5g.fillna(False).astype(bool),
            "device_5g": base.device_5g.fillna(False).astype(bool),
            "tenure_months": month.index
            - (base.join_date.dt.year * 12 + base.join_date.dt.month - 1),
            "age": (month.index - (birth.dt.year * 12 + birth.dt.month - 1)) // 12,
            "has_contract": base.contract_end_date.notna() & (base.contract_end_date > end),
            "dual_sim_primary": base.dual_sim_role == "primary",
            "dual_sim_secondary": base.dual_sim_role == "secondary",
            "enterprise_member": base.enterprise_id.notna(),
            "family_id": base.family_id,
            "enterprise_id": base.enterprise_id,
            "do_not_disturb": base.do_not_disturb.fillna(False).astype(bool),
        }
    )
    for kind in ("contract", "discount"):
        ends = base[f"{kind}_end_date"]
        for span, days in EXPIRY_DAYS.items():
            out[f"{kind}_expiring_{span}"] = (
                ends.notna() & (ends > end) & (ends <= end + dt.timedelta(days=days))
            )
    out["device_5g_on_non5g_plan"] = out.device_5g & ~out.plan_5g
    out["non5g_device_on_5g_plan"] = ~out.device_5g & out.plan_5g
    fam = out[out.family_id.notna()]
    families = fam.groupby("family_id").agg(
        family_size=("subscriber_id", "size"),
        household_broadband=("plan_type", lambda s: s.isin(["broadband", "bundle"]).any()),
    )
    out = out.merge(families, on="family_id", how="left")
    start1 = pd.Timestamp(month.first_day)
    left_now = subs[(subs.churn_date >= start1) & (subs.churn_date <= end)]
    family_left = left_now.groupby("family_id").size().rename("family_left_1m")
    colleagues_left = left_now.groupby("enterprise_id").size().rename("colleagues_left_1m")
    out = out.merge(family_left, left_on="family_id", right_index=True, how="left")
    out = out.merge(colleagues_left, left_on="enterprise_id", right_index=True, how="left")
    start3 = pd.Timestamp(month.shift(-2).first_day)
    at_start = subs[
        (subs.join_date < start3) & (subs.churn_date.isna() | (subs.churn_date >= start3))
    ]
    left_by_end = (at_start.churn_date.notna() & (at_start.churn_date <= end)).astype(float)
    grid_rates = left_by_end.groupby(at_start.grid_id).mean().rename("grid_left_rate_3m")
    out = out.merge(grid_rates, left_on="grid_id", right_index=True, how="left")
    out = out.drop(columns=["family_id", "enterprise_id"])

    usage = pd.read_parquet(files["monthly_usage"], filters=[("month", "in", month.back(6))])
    usage["i"] = (usage.month.str[:4].astype(int) * 12 + usage.month.str[5:7].astype(int) - 1) - (
        month.index - 5
    )
    recent, latest = usage.i >= 3, usage.i == 5
    grouped = usage.groupby("subscriber_id")
    feats = pd.DataFrame({"months_active_6m": grouped.size()})
    for x in ("arpu", "mou", "dou_gb"):
        feats[f"{x}_m1"] = usage[x].where(latest).groupby(usage.subscriber_id).max()
        feats[f"{x}_3m"] = usage[x].where(recent).groupby(usage.subscriber_id).mean()
        feats[f"{x}_6m"] = grouped[x].mean()
    feats["saturation_3m"] = usage.plan_saturation.where(recent).groupby(usage.subscriber_id).mean()
    feats["overage_fee_m1"] = usage.overage_fee.where(latest).groupby(usage.subscriber_id).max()
    feats["overage_fee_3m"] = (
        usage.overage_fee.where(recent).groupby(usage.subscriber_id).sum(min_count=1)
    )
    feats["arrears_m1"] = usage.arrears.where(latest).groupby(usage.subscriber_id).max()
    feats["used_5g_share_3m"] = (
        usage.used_5g_network.astype(float).where(recent).groupby(usage.subscriber_id).mean()
    )
    for x in ("arpu", "mou", "dou_gb"):
        feats[f"{x}_trend_3m"] = _slope(usage, x, recent)
        feats[f"{x}_trend_6m"] = _slope(usage, x, pd.Series(True, index=usage.index))
    onnet = usage.onnet_minutes.where(recent).groupby(usage.subscriber_id).sum(min_count=1)
    offnet = usage.offnet_minutes.where(recent).groupby(usage.subscriber_id).sum(min_count=1)
    total = (onnet.fillna(0) + offnet.fillna(0)).clip(lower=0).replace(0, np.nan)
    feats["offnet_share_3m"] = offnet / total
    onnet_m1 = usage.onnet_minutes.where(latest).groupby(usage.subscriber_id).sum(min_count=1)
    offnet_m1 = usage.offnet_minutes.where(latest).groupby(usage.subscriber_id).sum(min_count=1)
    total_m1 = (onnet_m1.fillna(0) + offnet_m1.fillna(0)).clip(lower=0).replace(0, np.nan)
    feats["offnet_share_m1"] = offnet_m1 / total_m1
    log_arpu = np.log(usage.arpu.astype(float) + 1)
    recent2 = log_arpu.where(usage.i >= 4).groupby(usage.subscriber_id).mean()
    before2 = log_arpu.where(usage.i.isin([2, 3])).groupby(usage.subscriber_id).mean()
    feats["arpu_log_change_2m"] = recent2 - before2
    out = out.merge(feats, left_on="subscriber_id", right_index=True, how="left")

    rech = pd.read_parquet(files["recharges"], columns=["subscriber_id", "recharge_date", "amount"])
    rech["recharge_date"] = pd.to_datetime(rech.recharge_date)
    rech = rech[(rech.recharge_date >= start3) & (rech.recharge_date <= end)]
    r = rech.groupby("subscriber_id").agg(
        recharges_3m=("amount", "size"), recharge_amount_3m=("amount", "sum")
    )
    out = out.merge(r, left_on="subscriber_id", right_index=True, how="left")

    comp = pd.read_parquet(files["complaints"], columns=["subscriber_id", "created_date", "level"])
    comp["created_date"] = pd.to_datetime(comp.created_date)
    comp = comp[(comp.created_date >= start3) & (comp.created_date <= end)]
    k = pd.DataFrame({"complaints_3m": comp.groupby("subscriber_id").size()})
    for suffix, name in COMPLAINT_LEVELS.items():
        k[f"complaints_{suffix}_3m"] = (comp.level == name).groupby(comp.subscriber_id).sum()
    out = out.merge(k, left_on="subscriber_id", right_index=True, how="left")

    contacts = pd.read_parquet(
        files["contacts"],
        columns=["subscriber_id", "month", "peer_hash", "peer_operator", "minutes"],
        filters=[("month", "in", month.back(2))],
    )
    edges = contacts[contacts.month == str(month)]
    g = edges.groupby("subscriber_id")
    circle = pd.DataFrame(
        {
            "degree": g.size(),
            "onnet_peers": (edges.peer_operator == "本网").groupby(edges.subscriber_id).sum(),
            "call_minutes_m1": g.minutes.sum(min_count=1),
        }
    )
    total_minutes = circle.call_minutes_m1.clip(lower=0).replace(0, np.nan)
    for suffix, name in OFFNET_OPERATORS.items():
        minutes = edges.minutes.where(edges.peer_operator == name)
        summed = minutes.groupby(edges.subscriber_id).sum(min_count=1).fillna(0)
        circle[f"offnet_minutes_share_{suffix}"] = summed / total_minutes
    circle["onnet_peer_share"] = circle.onnet_peers / circle.degree.replace(0, np.nan)
    start2 = pd.Timestamp(month.shift(-1).first_day)
    gone = subs[(subs.churn_date >= start2) & (subs.churn_date <= end)]
    gone_dates = {
        hashlib.sha256(m.encode()).hexdigest(): d
        for m, d in zip(gone.msisdn, gone.churn_date, strict=True)
    }
    ties = contacts[["subscriber_id", "peer_hash"]].drop_duplicates()
    ties = ties[ties.peer_hash.isin(gone_dates)]
    left_this_month = ties.peer_hash.map(gone_dates) >= start1
    churned = pd.DataFrame(
        {
            "churned_neighbours_2m": ties.groupby("subscriber_id").size(),
            "churned_neighbours_1m": left_this_month.groupby(ties.subscriber_id).sum(),
        }
    )
    circle = circle.join(churned, how="outer")
    out = out.merge(circle, left_on="subscriber_id", right_index=True, how="left")
    counts = [
        "months_active_6m", "recharges_3m", "complaints_3m", "degree", "onnet_peers",
        "churned_neighbours_2m", "churned_neighbours_1m", "family_left_1m",
        "colleagues_left_1m", *(f"complaints_{s}_3m" for s in COMPLAINT_LEVELS),
    ]  # fmt: skip
    for name in counts:
        out[name] = out[name].fillna(0).astype("int64")
    out["recharge_amount_3m"] = out.recharge_amount_3m.fillna(0)
    out["family_size"] = out.family_size.fillna(1).astype("int64")
    out["household_broadband"] = out.household_broadband.fillna(False).astype(bool)
    out["is_bundle"] = out.plan_type == "bundle"
    out["is_broadband_line"] = out.plan_type == "broadband"
    return out.merge(_pagerank(pop, edges), on="subscriber_id", how="left")


def _pagerank(population: pd.DataFrame, edges: pd.DataFrame) -> pd.DataFrame:
    numbers = pd.DataFrame(
        {
            "target": population.subscriber_id.to_numpy(),
            "peer_hash": [hashlib.sha256(m.encode()).hexdigest() for m in population.msisdn],
        }
    )
    onnet = edges[edges.peer_operator == "本网"].merge(numbers, on="peer_hash")
    onnet = onnet[onnet.subscriber_id.isin(population.subscriber_id)]
    onnet = onnet.assign(weight=onnet.minutes.fillna(0) + 1)
    links = onnet.groupby(["subscriber_id", "target"], as_index=False).weight.sum()
    links = links[links.subscriber_id != links.target]
    links["share"] = links.weight / links.groupby("subscriber_id").weight.transform("sum")
    rank = pd.Series(1.0, index=population.subscriber_id.to_numpy())
    for _ in range(PAGERANK_ITERATIONS):
        flow = links.share.to_numpy() * rank.reindex(links.subscriber_id).to_numpy()
        received = pd.Series(flow).groupby(links.target.to_numpy()).sum()
        rank = (1 - PAGERANK_DAMPING) + PAGERANK_DAMPING * received.reindex(
            rank.index, fill_value=0.0
        )
    return pd.DataFrame({"subscriber_id": rank.index, "pagerank": rank.to_numpy()})
