"""From columns to a model's inputs: each feature's kind and levels, the matrix, the labels,
and the rows held out to test (none by default: every labelled row is cross-validated)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from django.utils.translation import gettext as _

from quanwang.insight.tabular.reading import MAX_EXAMPLES, Column, Frame
from quanwang.insight.training_spec import (
    TIME_TEST_SHARE,
    Role,
    SplitMethod,
    TrainingError,
    TrainingSpec,
    rule_label,
)

# A column is numeric when this share of its non-blank values are numbers; the others are then
# read as missing and reported (a stray "N/A" should not turn tenure into a category).
NUMERIC_SHARE = 0.95
MAX_LEVELS = 100  # an inferred category with more levels is an identifier or free text
# Of each class: every fold of the cross-validation must hold both.
MIN_CLASS_ROWS = 2


class FeatureKind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


def present(column: pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False), dtype=bool)


def infer_kinds(frame: Frame, spec: TrainingSpec) -> dict[str, FeatureKind]:
    """Numeric or categorical, per feature; features with no values are left out."""
    kinds = {}
    for name, column in frame.columns.items():
        valued = present(column.text)
        count = int(valued.sum())
        if count == 0:
            frame.notes.append(_("%(column)s has no values; left out") % {"column": name})
            continue
        numbers = int(np.isfinite(column.number).sum())
        if name in spec.categorical:
            kinds[name] = FeatureKind.CATEGORICAL
        elif name in spec.numeric or numbers >= NUMERIC_SHARE * count:
            kinds[name] = FeatureKind.NUMERIC
            note_non_numbers(frame, name, column, valued)
        else:
            kinds[name] = FeatureKind.CATEGORICAL
    return kinds


def note_non_numbers(
    frame: Frame, name: str, column: Column, valued: npt.NDArray[np.bool_]
) -> None:
    bad = np.flatnonzero(valued & ~np.isfinite(column.number))
    if bad.size == 0:
        return
    examples = [
        frame.row_error(int(i), name, str(column.text[int(i)]), _("not a number; read as missing"))
        for i in bad[:MAX_EXAMPLES]
    ]
    more = bad.size - len(examples)
    if more:
        examples.append(_("and %(count)d more in %(column)s") % {"count": more, "column": name})
    frame.notes.extend(examples)


def feature_levels(
    frame: Frame, kinds: dict[str, FeatureKind], spec: TrainingSpec
) -> dict[str, list[str]]:
    """Each categorical feature's levels, most frequent first; a level's code is its index."""
    levels = {}
    for name, kind in list(kinds.items()):
        if kind is not FeatureKind.CATEGORICAL:
            continue
        counts = pc.value_counts(frame.columns[name].text.drop_null())
        pairs = sorted(
            zip(
                counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
            ),
            key=lambda pair: (-pair[1], pair[0]),
        )
        if len(pairs) > MAX_LEVELS and name not in spec.categorical:
            del kinds[name]
            frame.notes.append(
                _(
                    "%(column)s has %(count)d distinct values, too many for a category; left out"
                    " (name it in categorical to keep its %(max)d most frequent)"
                )
                % {"column": name, "count": len(pairs), "max": MAX_LEVELS}
            )
            continue
        levels[name] = [str(value) for value, _count in pairs[:MAX_LEVELS]]
    return levels


def matrix(
    frame: Frame, features: Sequence[str], levels: dict[str, list[str]]
) -> npt.NDArray[np.float32]:
    columns = []
    for name in features:
        column = frame.columns[name]
        if name in levels:
            codes = pc.index_in(column.text, value_set=pa.array(levels[name], pa.string()))
            unseen = int((present(column.text) & ~present(codes)).sum())
            if unseen:
                frame.notes.append(
                    _(
                        "%(column)s: %(count)d rows hold values not among its levels;"
                        " read as missing"
                    )
                    % {"column": name, "count": unseen}
                )
            values = codes.to_numpy(zero_copy_only=False).astype(np.float64)  # null → nan
        else:
            values = column.number
        columns.append(values.astype(np.float32))
    if not columns:
        return np.empty((frame.rows, 0), np.float32)
    return np.column_stack(columns)


def target_labels(
    frame: Frame, spec: TrainingSpec
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
    """Per row, 1 for a positive target and 0 for another value; and whether it has one."""
    text = frame.roles[Role.TARGET]
    known = present(text)
    column = spec.target_label
    if not known.any():
        raise TrainingError(
            _("%(file)s: the target column %(column)s has no values")
            % {"file": frame.label, "column": column}
        )
    lowered = pc.utf8_lower(text)
    positive = pc.is_in(lowered, value_set=pa.array(sorted(spec.positive))).fill_null(False)
    labels = np.asarray(positive.to_numpy(zero_copy_only=False), dtype=np.int8)
    if spec.negative is not None:
        negative = pc.is_in(lowered, value_set=pa.array(sorted(spec.negative))).fill_null(False)
        neither = known & (labels == 0) & ~negative.to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(neither)
        if rows.size:
            reason = _("neither a positive %(positive)s nor a negative %(negative)s value") % {
                "positive": sorted(spec.positive),
                "negative": sorted(spec.negative),
            }
            errors = [
                frame.row_error(int(i), column, str(text[int(i)]), reason)
                for i in rows[:MAX_EXAMPLES]
            ]
            raise TrainingError("; ".join(errors))
    blank = int((~known).sum())
    if blank:
        first = frame.row_number(int(np.flatnonzero(~known)[0]))
        frame.notes.append(
            _("%(count)d rows have no target (first: row %(row)d); not trained on, but scored")
            % {"count": blank, "row": first}
        )
    _check_classes(frame, labels[known], column, pc.filter(text, pa.array(known)), spec)
    return labels, known


def _check_classes(
    frame: Frame,
    labels: npt.NDArray[np.int8],
    column: str,
    text: pa.ChunkedArray,
    spec: TrainingSpec,
) -> None:
    least = max(MIN_CLASS_ROWS, spec.split.folds)
    positives, negatives = int(labels.sum()), int((labels == 0).sum())
    if positives >= least and negatives >= least:
        return
    counts = pc.value_counts(text)
    held = ", ".join(
        f"{value} ({count})"
        for value, count in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        )
    )
    if positives == 0:
        message = _(
            "%(file)s: no row's %(column)s is a positive value %(positive)s; it holds %(held)s"
        )
    elif negatives == 0:
        message = _("%(file)s: every row's %(column)s is positive; there is only one class")
    else:
        message = _(
            "%(file)s: %(column)s has %(positives)d positive and %(negatives)d other rows;"
            " at least %(min)d of each are needed"
        )
    raise TrainingError(
        message
        % {
            "file": frame.label,
            "column": column,
            "positive": sorted(spec.positive),
            "held": held,
            "positives": positives,
            "negatives": negatives,
            "min": least,
        }
    )


@dataclass(frozen=True)
class Split:
    fitting: npt.NDArray[np.bool_]  # cross-validated to choose the model, then refitted on
    test: npt.NDArray[np.bool_]  # held out to test the chosen model once; often none
    how: dict[str, Any]


def split_rows(
    frame: Frame, spec: TrainingSpec, labels: npt.NDArray[np.int8], known: npt.NDArray[np.bool_]
) -> Split:
    """The rows to cross-validate and refit on, and those held out to test, if any."""
    split = spec.split
    how: dict[str, Any] = {"method": str(split.method), "folds": split.folds, "seed": split.seed}
    if split.method is SplitMethod.RANDOM:
        test = np.zeros(frame.rows, dtype=bool)
        if split.share is not None:
            # Stratified, so a rare target is as common in both parts.
            rng = np.random.default_rng(split.seed)
            for value in (0, 1):
                rows = np.flatnonzero(known & (labels == value))
                take = min(rows.size - 1, max(1, round(split.share * rows.size)))
                test[rng.permutation(rows)[:take]] = True
            how["validation_share"] = split.share
        parts = Split(fitting=known & ~test, test=test, how=how)
    else:
        parts = _time_split(frame, spec, labels, known, how)
    positives = int(labels[parts.fitting].sum())
    negatives = int(parts.fitting.sum()) - positives
    if min(positives, negatives) < split.folds:
        raise TrainingError(
            _(
                "%(file)s: %(positives)d positive and %(negatives)d other rows are left to"
                " cross-validate; %(folds)d folds need at least %(folds)d of each"
            )
            % {
                "file": frame.label,
                "positives": positives,
                "negatives": negatives,
                "folds": split.folds,
            }
        )
    return parts


def _time_split(
    frame: Frame,
    spec: TrainingSpec,
    labels: npt.NDArray[np.int8],
    known: npt.NDArray[np.bool_],
    how: dict[str, Any],
) -> Split:
    """The latest rows test: rows at or after validation_from, or the latest share."""
    split = spec.split
    column = rule_label(spec.roles[Role.TIME])
    keys, cutoff, dated = _time_keys(
        frame.roles[Role.TIME], present(frame.roles[Role.TIME]), split.validation_from
    )
    if (~dated & known).any():
        frame.notes.append(
            _("%(count)d rows have no usable %(column)s; left out of training and test")
            % {"count": int((~dated & known).sum()), "column": column}
        )
    usable = known & dated
    if cutoff is None:
        # The latest rows test; rows of one time stay together, on the test side.
        share = TIME_TEST_SHARE if split.share is None else split.share
        ordered = np.sort(keys[usable])
        cutoff = ordered[min(ordered.size - 1, int(ordered.size * (1 - share)))]
    later = np.zeros(frame.rows, dtype=bool)
    later[usable] = keys[usable] >= cutoff
    test, fitting = usable & later, usable & ~later
    cutoff_text = _time_text(cutoff)
    for part, chosen in ((_("training"), fitting), (_("test"), test)):
        part_labels = labels[chosen]
        if part_labels.sum() == 0 or (part_labels == 0).sum() == 0:
            raise TrainingError(
                _(
                    "%(file)s: the %(part)s rows (split by %(column)s at %(cutoff)s) do not hold"
                    " both classes: %(positives)d positive of %(rows)d"
                )
                % {
                    "file": frame.label,
                    "part": part,
                    "column": column,
                    "cutoff": cutoff_text,
                    "positives": int(part_labels.sum()),
                    "rows": int(chosen.sum()),
                }
            )
    return Split(
        fitting=fitting, test=test, how=how | {"time": column, "validation_from": cutoff_text}
    )


def _time_keys(
    time: pa.ChunkedArray, valued: npt.NDArray[np.bool_], start: str | None
) -> tuple[npt.NDArray[Any], Any, npt.NDArray[np.bool_]]:
    """Sort keys of the time column and of `start`, and which rows have one. Numbers where the
    column is numeric by the features' rule (a month index, a year), its other values then
    unusable; else the text itself (ISO dates and months sort as text)."""
    text = np.asarray(time.to_numpy(zero_copy_only=False), dtype=object)
    numbers = np.full(text.size, np.nan)
    for i in np.flatnonzero(valued):
        numbers[i] = _number(text[i])
    parsed = np.isfinite(numbers)
    start_number = None if start is None else _number(start)
    numeric = parsed.sum() >= NUMERIC_SHARE * valued.sum()
    if numeric and (start_number is None or np.isfinite(start_number)):
        return numbers, start_number, parsed
    keys = np.array(["" if v is None else str(v) for v in text], dtype=object)
    return keys, start, valued


def _number(text: str) -> float:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return float("nan")


def _time_text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)
