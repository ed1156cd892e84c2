"""How a statement's lines read on a page, in the XLSX and in the PDF: the same words for
each (what the line is, how its amount follows from its figure and rule, the facts behind it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from quanwang.core import formatting
from quanwang.performance.incentives.choices import LineKind
from quanwang.performance.models import IncentiveLine, IncentiveStatement

DRILL_URL = "performance:kpis-drill"


def _money(value: Decimal | None) -> str:
    return formatting.MISSING if value is None else formatting.grouped(value, 2)


def _number(value: Decimal | None) -> str:
    if value is None:
        return formatting.MISSING
    return f"{value.normalize():f}"


def _percent(value: Decimal | None) -> str:
    if value is None:
        return formatting.MISSING
    return f"{(value * 100).quantize(Decimal('0.01')).normalize():f}%"


def kpi_name(code: str) -> str:
    """The KPI's Chinese name from the catalogue (its code while the catalogue lacks it)."""
    if not code:
        return ""
    try:
        from quanwang.performance.kpis import catalogue as kpis_catalogue

        return str(kpis_catalogue.get(code).name)
    except Exception:
        return code


def computation(line: IncentiveLine) -> str:
    """How the line's amount follows from its figure and its rule, in words and figures."""
    kind = line.kind
    if kind == LineKind.PIECE:
        return _("%(q)s × %(rate)s yuan × own share %(share)s = %(amount)s") % {
            "q": _number(line.quantity), "rate": _money(line.rate),
            "share": _percent(line.share), "amount": _money(line.amount),
        }  # fmt: skip
    if kind == LineKind.TEAM:
        return _("Team %(unit)s: %(q)s × %(rate)s yuan × team share per person %(share)s = "
                 "%(amount)s") % {
            "unit": line.key, "q": _number(line.quantity), "rate": _money(line.rate),
            "share": _percent(line.share), "amount": _money(line.amount),
        }  # fmt: skip
    if kind == LineKind.MULTIPLIER:
        if line.quantity is None:
            return _("No target: multiplier %(m)s on %(base)s = %(amount)s") % {
                "m": _number(line.rate),
                "base": _money(line.base),
                "amount": _money(line.amount),
            }
        return _("Attainment %(a)s: multiplier %(m)s on %(base)s = %(amount)s") % {
            "a": _percent(line.quantity), "m": _number(line.rate), "base": _money(line.base),
            "amount": _money(line.amount),
        }  # fmt: skip
    if kind == LineKind.GRADE:
        return _("Grade coefficient %(c)s on %(base)s = %(amount)s") % {
            "c": _number(line.rate),
            "base": _money(line.base),
            "amount": _money(line.amount),
        }
    if kind == LineKind.DEDUCTION:
        return _("%(q)s × %(rate)s yuan taken = %(amount)s") % {
            "q": _number(line.quantity),
            "rate": _money(line.rate),
            "amount": _money(line.amount),
        }
    if kind == LineKind.FLOOR:
        return _("The month's %(base)s is below the floor %(limit)s: %(amount)s added") % {
            "base": _money(line.base),
            "limit": _money(line.rate),
            "amount": _money(line.amount),
        }
    if kind == LineKind.CAP:
        return _("The month's %(base)s is over the cap %(limit)s: %(amount)s taken") % {
            "base": _money(line.base),
            "limit": _money(line.rate),
            "amount": _money(line.amount),
        }
    return _("%(month)s is due %(due)s on today's facts; approved statements paid %(paid)s: "
             "%(amount)s") % {
        "month": line.for_month, "due": _money(line.base), "paid": _money(line.paid_before),
        "amount": _money(line.amount),
    }  # fmt: skip


def drill_url(line: IncentiveLine) -> str | None:
    """The KPI drill-down page of the line's figure (None: no figure, or no such page yet)."""
    if not (line.kpi and line.grain and line.key and line.period):
        return None
    try:
        return reverse(DRILL_URL, args=[line.kpi, line.grain, line.key, line.period])
    except NoReverseMatch:
        return None


def shown(line: IncentiveLine) -> dict[str, Any]:
    return {
        "line": line,
        "kind_label": line.get_kind_display(),
        "kpi_name": kpi_name(line.kpi),
        "computation": computation(line),
        "drill_url": drill_url(line),
    }


def summary_rows(statement: IncentiveStatement) -> list[tuple[str, Any]]:
    return [
        (_("Staff member"), f"{statement.staff.name} ({statement.staff.employee_no})"),
        (_("Org unit"), statement.org_unit.name),
        (_("Role"), statement.get_role_kind_display()),
        (_("Month"), statement.month),
        (_("Status"), statement.get_status_display()),
        (_("Rules"), _("version %(n)d") % {"n": statement.rule_set.version}),
        (_("Figures as of"), statement.as_of.isoformat()),
        (_("Total (yuan)"), statement.total),
        (_("Of which adjustments (yuan)"), statement.adjustment_total),
        (_("Of which deductions (yuan)"), statement.deduction_total),
        (_("Lines"), statement.line_count),
        (
            _("Approved on"),
            statement.approved_at.date().isoformat() if statement.approved_at else "",
        ),
        (_("Fingerprint (SHA-256 of the lines)"), statement.fingerprint),
    ]
