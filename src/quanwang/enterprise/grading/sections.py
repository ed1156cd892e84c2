"""What the grading part adds to the account 360 page and the enterprise dashboard
(enterprise.sections): the grade with its explanation and what would move it up, switching
cost with its components, churn risk with its signals, members and revenue trend; on the
dashboard, accounts by grade, the riskiest accounts and the switching-cost distribution."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from django.db.models import Count

from quanwang.core.choices import Action
from quanwang.enterprise.choices import AccountGrade, ServiceLevel
from quanwang.enterprise.grading import kept
from quanwang.enterprise.grading.choices import (
    QUANTITATIVE,
    Criterion,
    RiskSignal,
    ServiceAction,
    SwitchingComponent,
)
from quanwang.enterprise.grading.features import features_for
from quanwang.enterprise.models import Account, AccountGrading, GradingRuleSet

RISK_LISTED = 10
BUCKETS = 10


def _actions(rule_set: GradingRuleSet | None, level: str) -> list[str]:
    listed = (rule_set.actions_by_level if rule_set is not None else {}).get(level, [])
    return [str(ServiceAction(a).label) for a in listed if a in ServiceAction.values]


def explain(grading: AccountGrading) -> dict[str, Any]:
    """A grading as the page shows it: each criterion's line and the moves up, labelled."""
    rows = []
    for value, label in Criterion.choices:
        line = grading.contributions.get(value)
        if line is None:
            continue
        rows.append(
            {
                "label": label,
                "quantitative": value in {str(c) for c in QUANTITATIVE},
                **line,
            }
        )
    moves = [
        {"label": Criterion(m["criterion"]).label, **m}
        for m in grading.move_up
        if m.get("criterion") in Criterion.values
    ]
    return {
        "grading": grading,
        "rows": rows,
        "moves": moves,
        "service_label": ServiceLevel(grading.service_level).label
        if grading.service_level in ServiceLevel.values
        else "",
        "actions": _actions(grading.rule_set, grading.service_level),
    }


def account_section(*, account: Account, user: Any, **_context: Any) -> dict[str, Any] | None:
    if not Account.objects.restrict(user, Action.VIEW).filter(pk=account.pk).exists():
        return None
    grading = (
        AccountGrading.objects.restrict(user)
        .filter(account=account)
        .select_related("rule_set")
        .order_by("-month")
        .first()
    )
    features = features_for(enterprise_ids=[account.enterprise_id]).get(account.enterprise_id)
    if grading is None and features is None:
        return None
    switching, risk, trend = [], [], []
    if features is not None:
        switching = [
            {"label": SwitchingComponent(k).label, **v}
            for k, v in features["switching_components"].items()
        ]
        risk = sorted(
            (
                {"key": k, "label": RiskSignal(k).label, **v}
                for k, v in features["risk_signals"].items()
            ),
            key=lambda s: -s["points"],
        )
        found = kept.load(features["month"])
        trend = found.trend(account.enterprise_id) if found is not None else []
        peak = max((t["revenue_fen"] for t in trend), default=0) or 1
        for t in trend:
            t["bar"] = round(100 * t["revenue_fen"] / peak)
            t["revenue_yuan"] = t["revenue_fen"] / 100
    return {
        "account": account,
        "explained": explain(grading) if grading is not None else None,
        "features": features,
        "switching": switching,
        "risk": risk,
        "trend": trend,
    }


def dashboard_section(*, user: Any, **_context: Any) -> dict[str, Any] | None:
    visible = Account.objects.restrict(user, Action.VIEW).filter(active=True)
    counts = dict(visible.values_list("grade").annotate(n=Count("pk")).values_list("grade", "n"))
    total = sum(counts.values())
    if not total:
        return None
    by_grade = [(g.label, counts.get(g.value, 0)) for g in AccountGrade]
    ungraded = counts.get("", 0)
    found = kept.load()
    riskiest: list[dict[str, Any]] = []
    histogram: list[dict[str, Any]] = []
    if found is not None:
        ids = list(visible.values_list("enterprise_id", flat=True))
        positions = [found.index[e] for e in ids if e in found.index]
        if positions:
            table = found.table.select(["enterprise_id", "churn_risk", "switching_cost"]).take(
                pa.array(positions, pa.int64())
            )
            risk = table.column("churn_risk").to_numpy()
            top = np.argsort(-risk, kind="stable")[:RISK_LISTED]
            chosen = [table.column("enterprise_id")[int(i)].as_py() for i in top]
            names = dict(
                visible.filter(enterprise_id__in=chosen).values_list("enterprise_id", "name")
            )
            riskiest = [
                {"enterprise_id": e, "name": names.get(e, e), "risk": float(risk[int(i)])}
                for e, i in zip(chosen, top, strict=True)
            ]
            cost = table.column("switching_cost").to_numpy()
            counts_by, edges = np.histogram(cost, bins=BUCKETS, range=(0, 100))
            peak = int(counts_by.max()) or 1
            histogram = [
                {
                    "low": int(edges[i]),
                    "high": int(edges[i + 1]),
                    "n": int(n),
                    "bar": round(100 * int(n) / peak),
                }
                for i, n in enumerate(counts_by)
            ]
    return {
        "by_grade": by_grade,
        "ungraded": ungraded,
        "total": total,
        "riskiest": riskiest,
        "histogram": histogram,
        "month": found.month if found is not None else None,
    }
