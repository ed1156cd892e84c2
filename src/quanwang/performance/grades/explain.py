"""A move's reasons in words, the same on every page and in the command's output: which rule
and version, which periods with which results, and what it earned."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from quanwang.performance import periods
from quanwang.performance.grades.choices import MoveDirection
from quanwang.performance.grades.rules import percent


def period_label(code: str) -> str:
    try:
        return periods.parse(code).label
    except periods.PeriodError:
        return code


def explain(reasons: Mapping[str, Any]) -> str:
    """The reasons stored with a move or a history line (rules.Proposal.reasons)."""
    rule = reasons.get("rule")
    if rule == "placed" or rule is None:
        return _("Set by hand.")
    shown = "; ".join(
        _("%(period)s: %(result)s")
        % {"period": period_label(str(r.get("period"))), "result": percent(r.get("result"))}
        for r in reasons.get("results", [])
    )
    values = {
        "version": reasons.get("rule_version", 0),
        "threshold": percent(reasons.get("threshold")),
        "n": len(reasons.get("results", [])),
        "results": shown,
        "steps": reasons.get("steps", 0),
    }
    if rule == MoveDirection.PROMOTE:
        text = (
            _(
                "Rules version %(version)s: a result of at least %(threshold)s in %(n)d "
                "consecutive periods (%(results)s) moves up %(steps)d steps."
            )
            % values
        )
    else:
        text = (
            _(
                "Rules version %(version)s: a result under %(threshold)s in %(n)d consecutive "
                "periods (%(results)s) moves down %(steps)d steps."
            )
            % values
        )
    if reasons.get("held_by_bounds"):
        text += " " + _("The highest or lowest grade the rules allow holds it shorter.")
    return text
