"""What the pages show of a funnel: one store's or grid's month as the formula's factors, the
decomposition of its change against the month before, and the data of its two charts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.channels.funnel.services.decompose import Factor, ratio
from quanwang.channels.funnel.services.kept import Entry, Funnels
from quanwang.insight.months import Month

FACTOR_LABELS: dict[Factor, str | Promise] = {
    Factor.FOOTFALL: gettext_lazy("Footfall"),
    Factor.REFERRALS: gettext_lazy("Referrals"),
    Factor.CONVERSION: gettext_lazy("Conversion"),
    Factor.REPEAT: gettext_lazy("Repeat purchase"),
    Factor.BASKET: gettext_lazy("Basket"),
    Factor.UNEXPLAINED: gettext_lazy("Inconsistent counts"),
}
FEN = Decimal("0.01")


def yuan(fen: int) -> Decimal:
    return (Decimal(fen) * FEN).quantize(FEN)


@dataclass(frozen=True)
class Term:
    """One term of the formula: visitors × conversion × repeat × basket = revenue."""

    visitors: int
    buyers: int
    transactions: int
    revenue: Decimal
    conversion: float
    repeat: float
    basket: Decimal


def term(visitors: int, buyers: int, transactions: int, revenue_fen: int) -> Term:
    return Term(
        visitors=visitors,
        buyers=buyers,
        transactions=transactions,
        revenue=yuan(revenue_fen),
        conversion=float(ratio(buyers, visitors)),
        repeat=float(ratio(transactions, buyers)),
        basket=yuan(round(ratio(revenue_fen, transactions))),
    )


@dataclass(frozen=True)
class Contribution:
    factor: Factor
    label: str
    amount: Decimal


@dataclass(frozen=True)
class FunnelMonth:
    month: str
    previous: str | None
    walk_in: Term
    referral: Term
    revenue: Decimal
    previous_revenue: Decimal | None
    #: The factors' shares of the change, in FACTORS order (inconsistent counts only when not
    #: zero); None without a month before.
    contributions: list[Contribution] | None

    @property
    def change(self) -> Decimal | None:
        if self.previous_revenue is None:
            return None
        return self.revenue - self.previous_revenue

    @property
    def biggest_mover(self) -> Contribution | None:
        """The factor that moved revenue most, either way; None when nothing moved."""
        if not self.contributions:
            return None
        found = max(self.contributions, key=lambda c: abs(c.amount))
        return found if found.amount != 0 else None

    def chart(self) -> dict[str, Any]:
        """The data of the funnel and the waterfall, labels translated (funnel.js draws them)."""
        data: dict[str, Any] = {
            "funnel": {
                "walk_in": {
                    "title": _("Walk-in"),
                    "stages": [
                        [_("Footfall"), self.walk_in.visitors],
                        [_("Buyers"), self.walk_in.buyers],
                        [_("Transactions"), self.walk_in.transactions],
                    ],
                },
                "referral": {
                    "title": _("Referred"),
                    "stages": [
                        [_("Referrals"), self.referral.visitors],
                        [_("Buyers"), self.referral.buyers],
                        [_("Transactions"), self.referral.transactions],
                    ],
                },
            },
            "currency": _("yuan"),
        }
        if self.contributions is not None and self.previous_revenue is not None:
            data["waterfall"] = {
                "start": [str(self.previous), float(self.previous_revenue)],
                "steps": [[c.label, float(c.amount)] for c in self.contributions],
                "end": [self.month, float(self.revenue)],
                "rise": _("Up"),
                "fall": _("Down"),
            }
        return data


def funnel_month(entry: Entry, *, month: str) -> FunnelMonth:
    counts, parts = entry
    contributions = None
    previous_revenue = None
    if parts is not None:
        contributions = [
            Contribution(factor=f, label=str(FACTOR_LABELS[f]), amount=yuan(amount))
            for f, amount in parts.items()
            if f is not Factor.UNEXPLAINED or amount != 0
        ]
        # The parts add up to the change exactly, so they give the month before's revenue.
        previous_revenue = yuan(counts.total_fen - sum(parts.values()))
    return FunnelMonth(
        month=month,
        previous=str(Month.parse(month).shift(-1)) if parts is not None else None,
        walk_in=term(*counts.terms()[0]),
        referral=term(*counts.terms()[1]),
        revenue=yuan(counts.total_fen),
        previous_revenue=previous_revenue,
        contributions=contributions,
    )


def _month_of(
    funnels: Funnels, held: dict[str, list[int]], month: str | None, find: Any, key: str
) -> FunnelMonth | None:
    chosen = month or funnels.newest_month(held)
    if chosen is None or chosen not in held:
        return None
    entry = find(key, chosen)
    return funnel_month(entry, month=chosen) if entry is not None else None


def store_month(funnels: Funnels, store_id: str, month: str | None) -> FunnelMonth | None:
    """A store's funnel of `month` (default: the newest it has); None when it has none."""
    return _month_of(funnels, funnels.stores.get(store_id, {}), month, funnels.store, store_id)


def grid_month(funnels: Funnels, grid_id: str, month: str | None) -> FunnelMonth | None:
    """A grid's funnel of `month` (default: the newest it has); None when it has none."""
    return _month_of(funnels, funnels.grids.get(grid_id, {}), month, funnels.grid, grid_id)
