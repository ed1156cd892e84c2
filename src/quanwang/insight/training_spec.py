"""Training specs: which column is the target, the id, the features, and how to split.

A spec is JSON in the style of the import mappings (data/mapping.py): a column is named by a
string or given by a rule, {"from": "col", "map": {...}} or {"expr": "..."}, checked by the same
code. docs/model-training.md describes every key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlglot
from django.utils.translation import gettext as _
from sqlglot import exp

from quanwang.data.mapping import MappingError, validate_spec
from quanwang.data.schema import Column, ColumnType, Table
from quanwang.insight.churn import ModelError

DEFAULT_POSITIVE = ("1", "true", "yes", "y", "是")
# The most boosting rounds a LightGBM candidate may grow; early stopping within the folds picks
# how many it keeps.
ROUNDS = 1000
FOLDS = 5
TIME_TEST_SHARE = 0.25  # a time split without validation_from tests on its latest quarter
SPEC_KEYS = frozenset(
    {"id", "target", "features", "exclude", "categorical", "numeric", "columns", "split", "rounds"}
)
SPLIT_KEYS = frozenset({"folds", "validation_share", "seed", "time", "validation_from"})


class TrainingError(ModelError):
    """The spec or the data cannot train a model; the message names the file, row and column."""


class SplitMethod(StrEnum):
    RANDOM = "random"  # stratified by target, seeded
    TIME = "time"  # the latest rows test


class Role(StrEnum):
    """Columns of the spec that are not features."""

    TARGET = "target"
    ID = "id"
    TIME = "time"


@dataclass(frozen=True)
class SplitSpec:
    """How the rows are used: every labelled row is cross-validated in `folds` stratified folds
    to choose the model, unless a share (random) or the latest rows (time) are held out to test
    the chosen model once."""

    method: SplitMethod = SplitMethod.RANDOM
    share: float | None = None  # held out to test; None: no row is held out
    seed: int = 7  # of the folds, the held-out rows and the models
    validation_from: str | None = None  # time split: rows at or after this value test
    folds: int = FOLDS


@dataclass(frozen=True)
class TrainingSpec:
    # Rules in the import-mapping style ({"from": ..., "map": ...} or {"expr": ...}) by role.
    roles: dict[Role, dict[str, Any]]
    positive: frozenset[str]  # lower-cased
    negative: frozenset[str] | None
    features: tuple[str, ...] | None
    exclude: frozenset[str]
    categorical: frozenset[str]
    numeric: frozenset[str]
    columns: dict[str, dict[str, Any]]  # derived columns, by name
    split: SplitSpec
    rounds: int  # the most boosting rounds; early stopping in the folds picks the count
    raw: dict[str, Any]  # as given, saved with the model

    @property
    def target_label(self) -> str:
        return rule_label(self.roles[Role.TARGET])


def _rule(key: str, value: Any) -> dict[str, Any]:
    """A column rule; a bare string names a column."""
    if isinstance(value, str):
        return {"from": value}
    if not isinstance(value, dict) or not {"from", "expr"} & set(value):
        raise TrainingError(
            _('%(key)s: give a column name or a rule like {"from": "col"} or {"expr": "..."}')
            % {"key": key}
        )
    return dict(value)


def rule_label(rule: dict[str, Any]) -> str:
    return str(rule.get("from", rule.get("expr", rule.get("const", ""))))


def _names(raw: dict[str, Any], key: str) -> list[str]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TrainingError(_("%(key)s: give a list of column names") % {"key": key})
    return list(value)


def _values(raw: Any, key: str) -> frozenset[str]:
    if not isinstance(raw, list) or not raw:
        raise TrainingError(_("target.%(key)s: give a list of values") % {"key": key})
    return frozenset(str(v).strip().lower() for v in raw)


def _check_rules(rules: dict[str, dict[str, Any]]) -> None:
    """Rule shapes and expressions, by the import mappings' own checks."""
    try:
        validate_spec(table=rules_table(rules), spec={"columns": rules})
    except MappingError as exc:
        raise TrainingError(_("spec: %(error)s") % {"error": exc}) from exc


def rules_table(rules: dict[str, Any]) -> Table:
    # The mapping machinery maps onto a table; here every rule makes a text column of its own.
    columns = tuple(Column(n, ColumnType.STRING, n, n) for n in rules)
    return Table(name="spec", zh="spec", en="spec", columns=columns, key=())


def parse_spec(raw: Any) -> TrainingSpec:
    """Check a training spec and give it types; errors name the key at fault."""
    if not isinstance(raw, dict):
        raise TrainingError(_("a training spec is a JSON object"))
    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:
        raise TrainingError(
            _("the spec has unknown keys %(keys)s; it may have %(allowed)s")
            % {"keys": unknown, "allowed": sorted(SPEC_KEYS)}
        )
    if "target" not in raw:
        raise TrainingError(_('the spec names no target, e.g. "target": {"from": "Churn"}'))
    target = _rule(Role.TARGET, raw["target"])
    positive = _values(target.pop("positive", list(DEFAULT_POSITIVE)), "positive")
    negative = _values(target.pop("negative"), "negative") if "negative" in target else None
    if negative is not None and positive & negative:
        raise TrainingError(
            _("target: %(values)s are both positive and negative")
            % {"values": sorted(positive & negative)}
        )
    roles = {Role.TARGET: target}
    if raw.get("id") is not None:
        roles[Role.ID] = _rule(Role.ID, raw["id"])
    split_raw = raw.get("split", {})
    if not isinstance(split_raw, dict):
        raise TrainingError(_("split: give an object"))
    if split_raw.get("time") is not None:
        roles[Role.TIME] = _rule("split.time", split_raw["time"])
    _check_rules({str(role): rule for role, rule in roles.items()})

    columns = raw.get("columns", {})
    if not isinstance(columns, dict):
        raise TrainingError(_('columns: give an object like {"name": {"expr": "..."}}'))
    bad = [name for name in columns if not isinstance(name, str) or not name.strip()]
    if bad:
        raise TrainingError(_("columns: a derived column needs a name"))
    derived = {name: _rule(f"columns.{name}", rule) for name, rule in columns.items()}
    _check_rules(derived)

    features = raw.get("features")
    categorical, numeric = set(_names(raw, "categorical")), set(_names(raw, "numeric"))
    if categorical & numeric:
        raise TrainingError(
            _("%(names)s cannot be both categorical and numeric")
            % {"names": sorted(categorical & numeric)}
        )
    return TrainingSpec(
        roles=roles,
        positive=positive,
        negative=negative,
        features=None if features is None else tuple(_names(raw, "features")),
        exclude=frozenset(_names(raw, "exclude")),
        categorical=frozenset(categorical),
        numeric=frozenset(numeric),
        columns=derived,
        split=_parse_split(split_raw),
        rounds=_bounded_int(raw.get("rounds", ROUNDS), "rounds", 10, 5000),
        raw=raw,
    )


def _parse_split(raw: dict[str, Any]) -> SplitSpec:
    unknown = sorted(set(raw) - SPLIT_KEYS)
    if unknown:
        raise TrainingError(_("split: unknown keys %(keys)s") % {"keys": unknown})
    method = SplitMethod.TIME if raw.get("time") is not None else SplitMethod.RANDOM
    default_share = TIME_TEST_SHARE if method is SplitMethod.TIME else None
    share = raw.get("validation_share", default_share)
    if share is not None and (
        isinstance(share, bool) or not isinstance(share, int | float) or not 0.05 <= share <= 0.9
    ):
        raise TrainingError(_("split.validation_share: a fraction between 0.05 and 0.9"))
    start = raw.get("validation_from")
    if start is not None and method is not SplitMethod.TIME:
        raise TrainingError(_("split.validation_from needs split.time, the column to split by"))
    return SplitSpec(
        method=method,
        share=None if share is None else float(share),
        seed=_bounded_int(raw.get("seed", 7), "split.seed", 0, 2**31 - 1),
        validation_from=None if start is None else str(start).strip(),
        folds=_bounded_int(raw.get("folds", FOLDS), "split.folds", 2, 20),
    )


def _bounded_int(value: Any, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TrainingError(
            _("%(key)s: a whole number from %(low)d to %(high)d")
            % {"key": key, "low": low, "high": high}
        )
    return value


def load_spec(*, text: str) -> TrainingSpec:
    """A spec from a JSON file, or inline JSON when `text` starts with "{"."""
    inline = text.lstrip().startswith("{")
    where = _("the spec") if inline else text
    try:
        raw = json.loads(text if inline else Path(text).read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrainingError(
            _("%(path)s: cannot read the spec (%(error)s)") % {"path": text, "error": exc.strerror}
        ) from exc
    except json.JSONDecodeError as exc:
        raise TrainingError(
            _("%(where)s: not valid JSON (line %(line)d, column %(column)d: %(error)s)")
            % {"where": where, "line": exc.lineno, "column": exc.colno, "error": exc.msg}
        ) from exc
    return parse_spec(raw)


def rule_references(rule: dict[str, Any]) -> set[str]:
    """The source columns a rule reads."""
    if "from" in rule:
        return {str(rule["from"])}
    if "expr" in rule:
        tree = sqlglot.parse_one(str(rule["expr"]), read="duckdb")
        return {column.name for column in tree.find_all(exp.Column)}
    return set()
