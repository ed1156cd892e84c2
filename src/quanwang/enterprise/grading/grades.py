"""The A/B/C grade of an account: weighted criteria, exact contributions, and what would move
the account up.

Each criterion gives 0–100 points, kept to hundredths:

- quantitative (from the month's features): points are linear between the rule set's scale
  (the figure worth 0 and the figure worth 100 points, either way round) and capped —
  revenue (yuan of the month), members on-net, growth (% against the 3 months before; none
  before: a neutral 50), value-added potential (employees not yet members: room to sell
  into), satisfaction (complaints per 100 members over 3 months, fewer is better);
- qualitative (合作意愿 / 发展潜力 / 战略重要性): the newest manager's score (0–100), or the rule
  set's default while none is scored.

contribution = points × weight / 100 (weights whole percents), exact to 4 decimals since the
arithmetic is in integers (points in hundredths × weight); score = Σ contributions, exactly.
score ≥ a_min → A, else ≥ b_min → B, else C.

What would move the account up (`move_up`): for each criterion, the fewest points it would
need — all other criteria as they are — to reach the next grade's threshold, and for a
quantitative one the figure that gives them; criteria that cannot (already near 100, or no
weight) are left out. The first is the smallest change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from quanwang.enterprise.choices import AccountGrade, ServiceLevel
from quanwang.enterprise.grading.choices import QUALITATIVE, QUANTITATIVE, Criterion, ServiceAction

C = Criterion
HUNDREDTHS = 100  # points are kept in hundredths
FULL = 100 * HUNDREDTHS  # 100 points
SCALE = 10_000  # score units: hundredths of a point × whole-percent weight
NEUTRAL_GROWTH = 50 * HUNDREDTHS

DEFAULT_WEIGHTS: Mapping[Criterion, int] = {
    C.REVENUE: 30,
    C.MEMBERS: 15,
    C.GROWTH: 10,
    C.VALUE_ADDED: 10,
    C.SATISFACTION: 10,
    C.COOPERATION: 10,
    C.POTENTIAL: 10,
    C.STRATEGIC: 5,
}
# (figure worth 0 points, figure worth 100 points)
DEFAULT_SCALES: Mapping[Criterion, tuple[float, float]] = {
    C.REVENUE: (0.0, 20_000.0),
    C.MEMBERS: (0.0, 100.0),
    C.GROWTH: (-20.0, 20.0),
    C.VALUE_ADDED: (0.0, 500.0),
    C.SATISFACTION: (5.0, 0.0),
}
DEFAULT_A_MIN = 70
DEFAULT_B_MIN = 45
DEFAULT_QUALITATIVE = 50
DEFAULT_SERVICE: Mapping[AccountGrade, ServiceLevel] = {
    AccountGrade.A: ServiceLevel.RELATIONSHIP,
    AccountGrade.B: ServiceLevel.SOLUTION,
    AccountGrade.C: ServiceLevel.PROACTIVE,
}
_A = ServiceAction
_RESPONSIVE = [_A.ANSWER_REQUESTS, _A.BILLING_OVERVIEW]
_PROACTIVE = [*_RESPONSIVE, _A.SCHEDULED_VISITS, _A.NEEDS_REVIEW]
_SOLUTION = [*_PROACTIVE, _A.SOLUTION_DESIGN, _A.INDUSTRY_PRODUCTS]
_RELATIONSHIP = [
    *_SOLUTION,
    _A.KEY_PERSON_CARE,
    _A.EXECUTIVE_MEETINGS,
    _A.GREEN_CHANNEL,
    _A.CLUB_EVENTS,
]
DEFAULT_ACTIONS: Mapping[ServiceLevel, list[ServiceAction]] = {
    ServiceLevel.RESPONSIVE: _RESPONSIVE,
    ServiceLevel.PROACTIVE: _PROACTIVE,
    ServiceLevel.SOLUTION: _SOLUTION,
    ServiceLevel.RELATIONSHIP: _RELATIONSHIP,
}
GRADES_UP = (AccountGrade.C, AccountGrade.B, AccountGrade.A)
# Plain strings once: grading 100,000 accounts must not convert enums per row.
_QUANTITATIVE = tuple(str(c) for c in QUANTITATIVE)
_QUALITATIVE = tuple(str(c) for c in QUALITATIVE)
_QUALITATIVE_SET = frozenset(_QUALITATIVE)
_GROWTH = str(C.GROWTH)


@dataclass(frozen=True)
class Rules:
    """A rule set's content, apart from the database row."""

    weights: Mapping[str, int]
    a_min: int = DEFAULT_A_MIN
    b_min: int = DEFAULT_B_MIN
    scales: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: {str(k): v for k, v in DEFAULT_SCALES.items()}
    )
    qualitative_default: int = DEFAULT_QUALITATIVE
    service_by_grade: Mapping[str, str] = field(
        default_factory=lambda: {str(k): str(v) for k, v in DEFAULT_SERVICE.items()}
    )
    actions_by_level: Mapping[str, list[str]] = field(
        default_factory=lambda: {str(k): [str(a) for a in v] for k, v in DEFAULT_ACTIONS.items()}
    )

    @classmethod
    def of(cls, rule_set: Any) -> Rules:
        return cls(
            weights={str(k): int(v) for k, v in rule_set.weights.items()},
            a_min=rule_set.a_min,
            b_min=rule_set.b_min,
            scales={str(k): (float(v[0]), float(v[1])) for k, v in rule_set.scales.items()},
            qualitative_default=rule_set.qualitative_default,
            service_by_grade=dict(rule_set.service_by_grade),
            actions_by_level={k: list(v) for k, v in rule_set.actions_by_level.items()},
        )

    def threshold(self, grade: AccountGrade) -> int:
        return {AccountGrade.A: self.a_min, AccountGrade.B: self.b_min}.get(grade, 0)

    def grade_of(self, score_units: int) -> AccountGrade:
        if score_units >= self.a_min * SCALE:
            return AccountGrade.A
        if score_units >= self.b_min * SCALE:
            return AccountGrade.B
        return AccountGrade.C

    def service_level(self, grade: str) -> str:
        return self.service_by_grade.get(grade, str(ServiceLevel.RESPONSIVE))


DEFAULT_RULES = Rules(weights={str(k): v for k, v in DEFAULT_WEIGHTS.items()})


def figures_of(features: Mapping[str, Any]) -> dict[str, float | None]:
    """The quantitative criteria's figures of one account's features row."""
    members = float(features.get("members_on_net") or 0)
    growth = features.get("revenue_growth")
    size = features.get("size")
    complaints = float(features.get("complaints_3m") or 0)
    return {
        str(C.REVENUE): round(float(features.get("revenue_fen") or 0) / 100.0, 2),
        str(C.MEMBERS): members,
        str(C.GROWTH): None if growth is None else round(float(growth) * 100.0, 4),
        str(C.VALUE_ADDED): None if size is None else max(float(size) - members, 0.0),
        str(C.SATISFACTION): round(complaints * 100.0 / members, 4) if members else 0.0,
    }


def scale_points(figure: float | None, scale: tuple[float, float], *, missing: int) -> int:
    """Hundredths of a point (0–10000) of `figure` on the linear, capped `scale`."""
    if figure is None:
        return missing
    zero, full = scale
    if full == zero:
        return FULL if figure >= full else 0
    raw = (figure - zero) / (full - zero)
    # The tiny allowance keeps a figure read back from its points (figure_for) at them.
    return max(0, min(FULL, math.floor(raw * FULL + 1e-6)))


def figure_for(points: int, scale: tuple[float, float]) -> float:
    """The figure on `scale` worth `points` hundredths (the inverse of scale_points)."""
    zero, full = scale
    return zero + (full - zero) * points / FULL


@dataclass(frozen=True)
class Graded:
    grade: AccountGrade
    score: Decimal
    score_units: int
    points: dict[str, int]
    contributions: dict[str, dict[str, Any]]
    move_up: list[dict[str, Any]]
    service_level: str


def grade_account(
    *,
    figures: Mapping[str, float | None],
    qualitative: Mapping[str, int],
    rules: Rules,
) -> Graded:
    """Grade one account from its quantitative `figures` and the newest manager scores."""
    points: dict[str, int] = {}
    sources: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key in _QUANTITATIVE:
        missing = NEUTRAL_GROWTH if key == _GROWTH else 0
        figure = figures.get(key)
        points[key] = scale_points(figure, rules.scales[key], missing=missing)
        sources[key], values[key] = "warehouse", figure
    for key in _QUALITATIVE:
        if key in qualitative:
            points[key], sources[key] = int(qualitative[key]) * HUNDREDTHS, "manager"
            values[key] = int(qualitative[key])
        else:
            points[key], sources[key] = rules.qualitative_default * HUNDREDTHS, "default"
            values[key] = None
    units = {key: points[key] * rules.weights.get(key, 0) for key in points}
    score_units = sum(units.values())
    grade = rules.grade_of(score_units)
    contributions = {
        key: {
            "value": values[key],
            "points": points[key] / HUNDREDTHS,
            "weight": rules.weights.get(key, 0),
            # units are whole: dividing by 10,000 is exact in decimal, the float its nearest.
            "contribution": units[key] / SCALE,
            "source": sources[key],
        }
        for key in points
    }
    return Graded(
        grade=grade,
        score=Decimal(score_units) / SCALE,
        score_units=score_units,
        points=points,
        contributions=contributions,
        move_up=move_up(points=points, score_units=score_units, grade=grade, rules=rules),
        service_level=rules.service_level(str(grade)),
    )


def move_up(
    *, points: Mapping[str, int], score_units: int, grade: AccountGrade, rules: Rules
) -> list[dict[str, Any]]:
    """Per criterion, the smallest rise of its points alone that reaches the next grade
    (module doc); smallest first; empty for grade A."""
    index = GRADES_UP.index(grade)
    if index == len(GRADES_UP) - 1:
        return []
    target = GRADES_UP[index + 1]
    needed_units = rules.threshold(target) * SCALE
    found = []
    for key, now in points.items():
        weight = rules.weights.get(key, 0)
        if weight <= 0:
            continue
        others = score_units - now * weight
        # The fewest hundredths p with others + p × weight ≥ needed.
        to = max(0, -(-(needed_units - others) // weight))
        if key in _QUALITATIVE_SET:
            # Managers score whole points.
            to = -(-to // HUNDREDTHS) * HUNDREDTHS
        if to > FULL or to <= now:
            continue
        entry: dict[str, Any] = {
            "criterion": key,
            "to_grade": str(target),
            "from_points": now / HUNDREDTHS,
            "to_points": to / HUNDREDTHS,
            "change_points": (to - now) / HUNDREDTHS,
        }
        if key in rules.scales:
            entry["to_figure"] = round(figure_for(to, rules.scales[key]), 4)
        found.append(entry)
    found.sort(key=lambda e: (e["change_points"], e["criterion"]))
    return found
