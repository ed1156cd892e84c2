"""The incentive rules' JSON (what IncentiveRuleSet.rules holds), checked by a pydantic schema
whose errors name the field at fault ("tiers.1.from_attainment").

    {
      "piece_rates": [{"kpi": "new_5g_plans", "yuan_per_unit": "20"}],
      "team_share": "0.3",
      "tiers": [{"from_attainment": "0", "multiplier": "0.8"},
                {"from_attainment": "0.8", "multiplier": "1.0"},
                {"from_attainment": "1.2", "multiplier": "1.3"}],
      "attainment_kpi": null,
      "without_target_multiplier": "1",
      "use_grade_coefficient": true,
      "deductions": [{"kpi": "complaints", "yuan_per_unit": "50"}],
      "floor": "0",
      "cap": "5000"
    }

Amounts are yuan; shares and attainments are fractions (1.2 = 120%).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from quanwang.core.api_schema import error_message, field_name
from quanwang.core.errors import ServiceError


class Rate(BaseModel):
    """So many yuan per unit of a KPI's value (a sale, an activation, a complaint)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kpi: str = Field(min_length=1, max_length=64)
    yuan_per_unit: Decimal = Field(ge=0, le=1_000_000, allow_inf_nan=False)


class Tier(BaseModel):
    """From this attainment on (inclusive), the multiplier applies (until the next tier)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_attainment: Decimal = Field(ge=0, le=100, allow_inf_nan=False)
    multiplier: Decimal = Field(ge=0, le=10, allow_inf_nan=False)


class RuleBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    piece_rates: list[Rate] = Field(min_length=1)
    # The share paid from the team pool (the unit's results × the rates, split evenly among
    # the unit's staff of the role kind); the rest is paid on the person's own results.
    team_share: Decimal = Field(default=Decimal(0), ge=0, le=1, allow_inf_nan=False)
    tiers: list[Tier] = Field(default_factory=list)
    # The KPI whose attainment picks the tier; None: the overall appraisal result over the
    # person's targets of the month (targets.progress.attainment with kpi=None).
    attainment_kpi: str | None = None
    without_target_multiplier: Decimal = Field(default=Decimal(1), ge=0, le=10)
    use_grade_coefficient: bool = True
    deductions: list[Rate] = Field(default_factory=list)
    floor: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    cap: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _consistent(self) -> RuleBody:
        starts = [t.from_attainment for t in self.tiers]
        if self.tiers and starts[0] != 0:
            raise _Field("tiers.0.from_attainment", _("The first tier starts at 0."))
        for i in range(1, len(starts)):
            if starts[i] <= starts[i - 1]:
                raise _Field(
                    f"tiers.{i}.from_attainment",
                    _("Tiers go up: this one starts at or below the one before (%(before)s).")
                    % {"before": starts[i - 1]},
                )
        if self.floor is not None and self.cap is not None and self.floor > self.cap:
            raise _Field("floor", _("The floor is above the cap."))
        for name, rates in (("piece_rates", self.piece_rates), ("deductions", self.deductions)):
            seen: set[str] = set()
            for i, rate in enumerate(rates):
                if rate.kpi in seen:
                    raise _Field(
                        f"{name}.{i}.kpi",
                        _("KPI %(kpi)s is listed twice.") % {"kpi": rate.kpi},
                    )
                seen.add(rate.kpi)
        return self

    @property
    def individual_share(self) -> Decimal:
        return Decimal(1) - self.team_share

    def multiplier_for(self, attainment: Decimal | None) -> Decimal:
        if attainment is None:
            return self.without_target_multiplier
        chosen = Decimal(1)
        for tier in self.tiers:
            if attainment >= tier.from_attainment:
                chosen = tier.multiplier
        return chosen


class _Field(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_rules(data: Any, *, known_kpis: dict[str, bool] | None = None) -> RuleBody:
    """The rules checked; a ServiceError naming the field at fault otherwise. With `known_kpis`
    (code → whether the KPI is a sum) a KPI not in the catalogue is refused too, and so is a
    ratio KPI as a piece rate or deduction: so many yuan per unit needs a count or a sum."""
    if not isinstance(data, dict):
        raise ServiceError(_("The rules are a JSON object."), field="rules")
    try:
        body = RuleBody.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        cause = (first.get("ctx") or {}).get("error")
        if isinstance(cause, _Field):
            raise ServiceError(
                _("%(field)s: %(message)s") % {"field": cause.field, "message": cause.message},
                field=f"rules.{cause.field}",
            ) from exc
        where = ".".join(str(p) for p in first.get("loc", ())) or field_name(())
        message = error_message(first)
        if first.get("type") == "extra_forbidden":
            message = _("Not a rule field.")
        raise ServiceError(
            _("%(field)s: %(message)s") % {"field": where, "message": message},
            field=f"rules.{where}",
        ) from exc
    if known_kpis is not None:
        for name, rates in (("piece_rates", body.piece_rates), ("deductions", body.deductions)):
            for i, rate in enumerate(rates):
                if rate.kpi not in known_kpis:
                    raise ServiceError(
                        _("%(field)s: no KPI %(kpi)s in the catalogue.")
                        % {"field": f"{name}.{i}.kpi", "kpi": rate.kpi},
                        field=f"rules.{name}.{i}.kpi",
                    )
                if not known_kpis[rate.kpi]:
                    raise ServiceError(
                        _("%(field)s: %(kpi)s is a ratio; a rate per unit needs a count or a "
                          "sum.") % {"field": f"{name}.{i}.kpi", "kpi": rate.kpi},
                        field=f"rules.{name}.{i}.kpi",
                    )  # fmt: skip
        if body.attainment_kpi and body.attainment_kpi not in known_kpis:
            raise ServiceError(
                _("%(field)s: no KPI %(kpi)s in the catalogue.")
                % {"field": "attainment_kpi", "kpi": body.attainment_kpi},
                field="rules.attainment_kpi",
            )
    return body
