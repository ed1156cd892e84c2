"""The rules of 三级十档 as plain values, and their evaluation (no database: tested alone).

A grade is a position on one ladder of 30 rungs: 初级1档 … 初级10档, 中级1档 … 高级10档. A move
of k steps is k rungs, so step 10 plus one is the next level's step 1 and back (level
crossing); the result is held inside the rule set's bounds.

Promotion: the appraisal result (attainment, 1.0 = 100%) is at least `promote_at` in each of
the last `promote_periods` periods → up `promote_steps` steps. Demotion: under `demote_below`
in each of the last `demote_periods` periods → down `demote_steps`. A period without a result
(no targets) breaks a run. Periods up to the staff member's last move do not count again, so
one good run earns one promotion, not one per period for as long as it lasts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _

from quanwang.performance.choices import PeriodKind
from quanwang.performance.grades.choices import STEPS, GradeLevel, MoveDirection

#: The coefficient of a grade for incentives without a grade (and of an unknown rung).
NEUTRAL = Decimal("1.00")


@dataclass(frozen=True, order=True)
class Position:
    """A level and a step (1–10): one rung of the ladder."""

    level: int
    step: int

    @property
    def index(self) -> int:
        """The rung, 0 (初级1档) to 29 (高级10档)."""
        return (self.level - 1) * STEPS + (self.step - 1)

    @classmethod
    def of_index(cls, index: int) -> Position:
        return cls(level=index // STEPS + 1, step=index % STEPS + 1)

    @classmethod
    def parse(cls, text: str) -> Position:
        """ "2-3" → level 2, step 3 (the key of a coefficient)."""
        level, _sep, step = text.partition("-")
        return cls(int(level), int(step))

    @property
    def key(self) -> str:
        return f"{self.level}-{self.step}"

    @property
    def valid(self) -> bool:
        return self.level in GradeLevel.values and 1 <= self.step <= STEPS

    @property
    def label(self) -> str:
        level = GradeLevel(self.level).label if self.level in GradeLevel.values else "?"
        return _("%(level)s, step %(step)d") % {"level": level, "step": self.step}

    def __str__(self) -> str:
        return self.label


LOWEST = Position(GradeLevel.JUNIOR, 1)
HIGHEST = Position(GradeLevel.SENIOR, STEPS)
ALL_POSITIONS: tuple[Position, ...] = tuple(Position.of_index(i) for i in range(HIGHEST.index + 1))


def default_coefficients() -> dict[str, Decimal]:
    """初级 0.80, 中级 1.00, 高级 1.20 at step 1, each step 0.02 more (高级10档: 1.38)."""
    base = {GradeLevel.JUNIOR: Decimal("0.80"), GradeLevel.MIDDLE: Decimal("1.00")}
    base[GradeLevel.SENIOR] = Decimal("1.20")
    return {
        p.key: base[GradeLevel(p.level)] + Decimal("0.02") * (p.step - 1) for p in ALL_POSITIONS
    }


@dataclass(frozen=True)
class Rules:
    """One version of the rules (a GradeRuleSet, or the defaults before the first is saved)."""

    period_kind: PeriodKind = PeriodKind.QUARTER
    promote_at: Decimal = Decimal("1.10")
    promote_periods: int = 2
    promote_steps: int = 1
    demote_below: Decimal = Decimal("0.80")
    demote_periods: int = 2
    demote_steps: int = 1
    lowest: Position = LOWEST
    highest: Position = HIGHEST
    coefficients: Mapping[str, Decimal] = field(default_factory=default_coefficients)
    #: The GradeRuleSet's version; 0: the built-in defaults.
    version: int = 0

    @property
    def periods_needed(self) -> int:
        """How many periods, the appraised one included, the rules look at."""
        return max(self.promote_periods, self.demote_periods)

    def coefficient(self, position: Position) -> Decimal:
        return Decimal(self.coefficients.get(position.key, NEUTRAL))

    def clamp(self, index: int) -> int:
        return max(self.lowest.index, min(self.highest.index, index))

    @classmethod
    def of(cls, rule_set: Any | None) -> Rules:
        """The rules a GradeRuleSet row holds (None: the defaults)."""
        if rule_set is None:
            return cls()
        return cls(
            period_kind=PeriodKind(rule_set.period_kind),
            promote_at=Decimal(rule_set.promote_at),
            promote_periods=rule_set.promote_periods,
            promote_steps=rule_set.promote_steps,
            demote_below=Decimal(rule_set.demote_below),
            demote_periods=rule_set.demote_periods,
            demote_steps=rule_set.demote_steps,
            lowest=Position(rule_set.lowest_level, rule_set.lowest_step),
            highest=Position(rule_set.highest_level, rule_set.highest_step),
            coefficients={k: Decimal(str(v)) for k, v in (rule_set.coefficients or {}).items()},
            version=rule_set.version,
        )


class RuleProblem(ValueError):
    """Rules that cannot work; `field` names the setting at fault."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def check(rules: Rules) -> None:
    """Refuse rules that cannot work, naming the setting (RuleProblem)."""
    if rules.promote_at <= rules.demote_below:
        raise RuleProblem(
            _("The promotion threshold must be above the demotion threshold."), field="promote_at"
        )
    if rules.demote_below < 0:
        raise RuleProblem(_("The demotion threshold cannot be negative."), field="demote_below")
    for name in ("promote_periods", "demote_periods"):
        if not 1 <= getattr(rules, name) <= 8:
            raise RuleProblem(_("Count between 1 and 8 periods."), field=name)
    for name in ("promote_steps", "demote_steps"):
        if not 1 <= getattr(rules, name) <= STEPS:
            raise RuleProblem(_("Move between 1 and 10 steps."), field=name)
    for name in ("lowest", "highest"):
        if not getattr(rules, name).valid:
            raise RuleProblem(_("A grade is a level and a step from 1 to 10."), field=name)
    if rules.lowest > rules.highest:
        raise RuleProblem(_("The lowest grade is above the highest."), field="lowest")
    for position in ALL_POSITIONS:
        value = rules.coefficients.get(position.key)
        if value is None or not Decimal(0) < Decimal(value) <= Decimal(10):
            raise RuleProblem(
                _("The coefficient of %(grade)s must be above 0 and at most 10.")
                % {"grade": position.label},
                field=f"c_{position.key}",
            )


@dataclass(frozen=True)
class Result:
    """One period's appraisal result (None: no targets, no result)."""

    period: str
    value: float | None


@dataclass(frozen=True)
class Proposal:
    """A move the rules earn, with everything that earned it."""

    direction: MoveDirection
    before: Position
    after: Position
    #: The periods that earned it, newest first, with their results.
    results: tuple[Result, ...]
    threshold: Decimal
    steps: int
    #: Whether the bounds held the move short of `steps`.
    held_by_bounds: bool
    rule_version: int

    def reasons(self) -> dict[str, Any]:
        """What is stored with the move (GradeMove.reasons), to explain it on every page."""
        return {
            "rule": str(self.direction),
            "rule_version": self.rule_version,
            "threshold": str(self.threshold),
            "steps": self.steps,
            "held_by_bounds": self.held_by_bounds,
            "results": [{"period": r.period, "result": r.value} for r in self.results],
        }


def _run(results: Sequence[Result], length: int, *, holds: Any) -> tuple[Result, ...] | None:
    """The newest `length` results when each one holds, else None."""
    window = tuple(results[:length])
    if len(window) < length:
        return None
    if all(r.value is not None and holds(Decimal(str(r.value))) for r in window):
        return window
    return None


def evaluate(*, rules: Rules, position: Position, results: Sequence[Result]) -> Proposal | None:
    """The move `rules` earn for a staff member at `position` with `results` (the appraised
    period first, then the ones before it, only those after the last move); None: no move."""
    promoted = _run(results, rules.promote_periods, holds=lambda v: v >= rules.promote_at)
    if promoted is not None:
        target = rules.clamp(position.index + rules.promote_steps)
        if target > position.index:
            return Proposal(
                direction=MoveDirection.PROMOTE,
                before=position,
                after=Position.of_index(target),
                results=promoted,
                threshold=rules.promote_at,
                steps=rules.promote_steps,
                held_by_bounds=target - position.index < rules.promote_steps,
                rule_version=rules.version,
            )
        return None
    demoted = _run(results, rules.demote_periods, holds=lambda v: v < rules.demote_below)
    if demoted is not None:
        target = rules.clamp(position.index - rules.demote_steps)
        if target < position.index:
            return Proposal(
                direction=MoveDirection.DEMOTE,
                before=position,
                after=Position.of_index(target),
                results=demoted,
                threshold=rules.demote_below,
                steps=rules.demote_steps,
                held_by_bounds=position.index - target < rules.demote_steps,
                rule_version=rules.version,
            )
    return None


def percent(value: float | Decimal | None) -> str:
    """A result or threshold as a page writes it (1.105 → "110.5%"; None → "—")."""
    if value is None:
        return "—"
    shown = (Decimal(str(value)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{shown.normalize():f}%"
