"""Binary classifiers on any table: a file or a warehouse table, described by a training spec.

The canonical churn model (churn.py) knows the wide table. This one knows nothing in advance:
a JSON spec, in the style of the import mappings, names the target column and its positive
values, the id, and optionally the features, their kinds, derived columns and the split:

    {"id": "customerID",
     "target": {"from": "Churn", "positive": ["Yes"]},
     "exclude": ["gender"],
     "categorical": ["SeniorCitizen"],
     "columns": {"charge_per_month": {"expr": "TRY_CAST(TotalCharges AS DOUBLE) / tenure"}},
     "split": {"validation_share": 0.25, "seed": 7}}

Reading goes through DuckDB: the file's text columns (data.sources), an optional saved import
mapping, then the spec's rules (checked by data.mapping), blanks and "NA" as missing, and every
column parsed as a number as well. Features are numeric when nearly all their values are
numbers, else categorical. LightGBM trains on the training part; the validation part calibrates
(Platt) and measures, with the helpers of churn.py; the model is saved in a registry of its
own name under var/insight/models/<name>/.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.core.tabular import RowError, private_file, write_arrow_csv
from quanwang.data.mapping import MappingError, compile_mapping
from quanwang.data.schema import TABLES, Table
from quanwang.data.sources import SourceError, malformed_lines, open_source
from quanwang.data.warehouse import Warehouse, quote, sql_literal
from quanwang.insight.churn import (
    CHURN_MODEL_NAME,
    LGBM_PARAMS,
    ModelError,
    Registry,
    calibrate,
    gain_importance,
    settings_threads,
    sigmoid,
)
from quanwang.insight.training_spec import (
    Role,
    SplitMethod,
    TrainingError,
    TrainingSpec,
    parse_spec,
    rule_label,
    rule_references,
    rules_table,
)

Array = npt.NDArray[np.float64]
# Read as missing, in any case: what exports write for "no value".
NULL_TOKENS = ("", "na", "n/a", "#n/a", "nan", "null", "none", "-", "\\n")
# A column is numeric when this share of its non-blank values are numbers; the others are then
# read as missing and reported (a stray "N/A" should not turn tenure into a category).
NUMERIC_SHARE = 0.95
MAX_LEVELS = 100  # an inferred category with more levels is an identifier or free text
MAX_EXAMPLES = 5
PARALLEL_ROWS = 100_000
MIN_CLASS_ROWS = 2  # of each class, so both parts of the split hold both
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
SCORE_SUFFIXES = (".csv", ".parquet")


class InputKind(StrEnum):
    FILE = "file"
    TABLE = "table"


class FeatureKind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


# ---------------------------------------------------------------------------------------------
# What to read


@dataclass(frozen=True)
class TrainingInput:
    kind: InputKind
    location: str  # a file path, or a warehouse table's name
    encoding: str | None = None

    @property
    def label(self) -> str:
        return Path(self.location).name if self.kind is InputKind.FILE else self.location


def training_input(*, text: str, encoding: str | None = None) -> TrainingInput:
    """A file when `text` names one (or has a file's suffix), else a warehouse table."""
    path = Path(text)
    if path.exists() or path.suffix:
        return TrainingInput(kind=InputKind.FILE, location=text, encoding=encoding)
    if text in TABLES:
        return TrainingInput(kind=InputKind.TABLE, location=text)
    raise TrainingError(
        _("%(name)s is neither a file (.csv, .xlsx, .parquet) nor a warehouse table (%(tables)s)")
        % {"name": text, "tables": ", ".join(TABLES)}
    )


@dataclass(frozen=True)
class ImportedMapping:
    """A saved import mapping: the canonical table it maps onto, and its rules."""

    name: str
    table: Table
    spec: dict[str, Any]


def load_mapping(*, actor: Any, name: str) -> ImportedMapping:
    """The mapping saved under `name`, as `actor` may see it."""
    from quanwang.data.services import find_mapping

    try:
        # Names are unique per org unit: the one the actor's own unit holds wins.
        mapping = find_mapping(actor=actor, name=name)
    except ServiceError as exc:
        raise TrainingError(exc.message) from exc
    return ImportedMapping(name=name, table=TABLES[mapping.table], spec=dict(mapping.spec))


# ---------------------------------------------------------------------------------------------
# Reading a table into columns


@dataclass
class _Column:
    text: pa.ChunkedArray  # trimmed text; null where blank or a null token
    number: Array  # the text as a number; nan where it is not one


@dataclass
class _Frame:
    label: str
    rows: int
    row_number: Callable[[int], int]  # a row's index → its row in the file (header = 1)
    roles: dict[Role, pa.ChunkedArray]
    columns: dict[str, _Column]
    notes: list[str]

    def row_error(self, index: int, column: str, value: str, reason: str) -> str:
        row = self.row_number(index)
        return str(RowError(file=self.label, row=row, field=column, value=value, reason=reason))


def _compile(rules: dict[str, dict[str, Any]], columns: list[str], label: str) -> dict[str, str]:
    """SQL over `raw` for each rule, by the import mappings' compiler."""
    try:
        compiled = compile_mapping(
            table=rules_table(rules), source_columns=columns, spec={"columns": rules}
        )
    except MappingError as exc:
        raise TrainingError(
            _("%(file)s: %(error)s (its columns: %(columns)s)")
            % {"file": label, "error": exc, "columns": ", ".join(columns)}
        ) from exc
    return {name: compiled.sources[name].sql for name in rules}


def _clean(sql: str) -> str:
    text = f"trim(CAST({sql} AS VARCHAR))"
    tokens = ", ".join(sql_literal(t) for t in NULL_TOKENS)
    return f"CASE WHEN lower({text}) IN ({tokens}) THEN NULL ELSE {text} END"


def _open(
    data: TrainingInput, con: duckdb.DuckDBPyConnection, work_dir: Path
) -> tuple[str, list[str], bool]:
    """SQL for the input's rows as text columns, its column names, and whether it is a CSV."""
    if data.kind is InputKind.TABLE:
        relation = Warehouse().relation(data.location)
        names = [str(n) for n in con.sql(f"SELECT * FROM {relation} LIMIT 0").columns]
        # Text, as files are: rules and expressions read every input alike.
        casts = ", ".join(f"CAST({quote(n)} AS VARCHAR) AS {quote(n)}" for n in names)
        return f"(SELECT {casts} FROM {relation})", names, False
    try:
        source = open_source(path=Path(data.location), encoding=data.encoding, work_dir=work_dir)
    except SourceError as exc:
        raise TrainingError(str(exc)) from exc
    # An XLSX is converted to a CSV with the same rows, so its rows count alike.
    return source.relation, source.columns, source.is_csv


def _mapped(
    relation: str, columns: list[str], mapping: ImportedMapping | None, label: str
) -> tuple[str, list[str], dict[str, set[str]]]:
    """The mapping's columns under their canonical names, the file's others under their own; and
    for each canonical column, the file's columns it is read from."""
    if mapping is None:
        return relation, columns, {}
    try:
        compiled = compile_mapping(table=mapping.table, source_columns=columns, spec=mapping.spec)
    except MappingError as exc:
        raise TrainingError(
            _("%(file)s: mapping %(name)s: %(error)s")
            % {"file": label, "name": mapping.name, "error": exc}
        ) from exc
    rules = mapping.spec.get("columns", {})
    lineage = {
        name: rule_references(rules[name]) if name in rules else {source.origin}
        for name, source in compiled.sources.items()
    }
    # A renamed column is there under its new name; one an expression reads stays as well
    # (tenure, say, that a join date was computed from).
    renamed = {
        source.origin
        for name, source in compiled.sources.items()
        if name not in rules or "from" in rules[name]
    }
    passed = [c for c in columns if c not in compiled.sources and c not in renamed]
    selects = [f"{source.sql} AS {quote(name)}" for name, source in compiled.sources.items()]
    selects += [f"raw.{quote(c)}" for c in passed]
    relation = f"(SELECT {', '.join(selects)} FROM {relation} AS raw)"
    return relation, [*compiled.sources, *passed], lineage


def _choose_features(
    spec: TrainingSpec, columns: list[str], lineage: dict[str, set[str]], label: str
) -> list[str]:
    available = [*columns, *(n for n in spec.columns if n not in columns)]

    def read_from(names: set[str]) -> set[str]:
        # Through the mapping too: a target mapped from Churn is read from Churn.
        return names.union(*(lineage.get(n, set()) for n in names))

    target_sources = read_from(rule_references(spec.roles[Role.TARGET]))
    unknown = sorted(
        (set(spec.features or ()) | spec.exclude | spec.categorical | spec.numeric) - set(available)
    )
    if unknown:
        raise TrainingError(
            _("%(file)s: the spec names columns it does not have: %(names)s (it has: %(columns)s)")
            % {"file": label, "names": ", ".join(unknown), "columns": ", ".join(available)}
        )
    if spec.features is not None:
        leaking = sorted(read_from(set(spec.features)) & target_sources)
        if leaking:
            raise TrainingError(
                _("%(names)s: the target is read from it, so it cannot be a feature")
                % {"names": ", ".join(leaking)}
            )
        return list(spec.features)
    # By default every other column, but never one the target, id or time is read from, nor a
    # derived column that reads the target (it would predict the target by the target).
    roles_read = read_from(set().union(*(rule_references(rule) for rule in spec.roles.values())))
    chosen = []
    for name in available:
        rule = spec.columns.get(name)
        reads = read_from(rule_references(rule)) if rule is not None else read_from({name})
        if rule is None and name in roles_read:
            continue
        if name not in spec.exclude and not reads & target_sources:
            chosen.append(name)
    return chosen


def _read(
    *,
    data: TrainingInput,
    spec: TrainingSpec,
    mapping: ImportedMapping | None,
    features: Sequence[str] | None,
    roles: Sequence[Role],
) -> tuple[_Frame, list[str]]:
    """Read the input: the roles asked for, and the features (chosen by the spec if None)."""
    con = duckdb.connect()
    with tempfile.TemporaryDirectory(prefix="quanwang-train-") as work:
        relation, columns, is_csv = _open(data, con, Path(work))
        relation, columns, lineage = _mapped(relation, columns, mapping, data.label)
        if features is None:
            wanted = _choose_features(spec, columns, lineage, data.label)
        else:
            wanted = list(features)
        missing = [f for f in wanted if f not in columns and f not in spec.columns]
        if missing:
            raise ModelError(
                _("%(file)s lacks features the model was trained on: %(names)s")
                % {"file": data.label, "names": ", ".join(missing)}
            )
        role_rules = {str(r): spec.roles[r] for r in roles if r in spec.roles}
        role_sql = _compile(role_rules, columns, data.label)
        derived = {n: r for n, r in spec.columns.items() if n in wanted}
        derived_sql = _compile(derived, columns, data.label)
        selects = [f"{_clean(sql)} AS {quote('r_' + role)}" for role, sql in role_sql.items()]
        for i, name in enumerate(wanted):
            sql = derived_sql.get(name, f"raw.{quote(name)}")
            selects.append(f"{_clean(sql)} AS t{i}")
        numbers = [
            f"TRY_CAST(replace(t{i}, ',', '') AS DOUBLE) AS n{i}" for i in range(len(wanted))
        ]
        query = f"SELECT {', '.join(selects)} FROM {relation} AS raw"
        query = f"SELECT *{''.join(', ' + n for n in numbers)} FROM ({query})"
        try:
            table = con.sql(query).to_arrow_table()
        except duckdb.Error as exc:
            raise TrainingError(
                _("%(file)s: cannot read it with this spec: %(error)s")
                % {"file": data.label, "error": str(exc).splitlines()[0]}
            ) from exc
        rejected = [line for line, _message in malformed_lines(con)] if is_csv else []
    if table.num_rows == 0:
        raise TrainingError(_("%(file)s: there are no data rows") % {"file": data.label})
    frame = _Frame(
        label=data.label,
        rows=table.num_rows,
        row_number=_row_numbers(rejected, header=is_csv),
        roles={Role(role): table.column("r_" + role) for role in role_sql},
        columns={},
        notes=[],
    )
    if rejected:
        frame.notes.append(
            _("%(file)s: %(count)d rows could not be read and were left out (rows %(rows)s)")
            % {
                "file": data.label,
                "count": len(rejected),
                "rows": ", ".join(map(str, rejected[:MAX_EXAMPLES])),
            }
        )
    for i, name in enumerate(wanted):
        number = table.column(f"n{i}").to_numpy(zero_copy_only=False).astype(np.float64)
        number[np.isinf(number)] = np.nan
        frame.columns[name] = _Column(text=table.column(f"t{i}"), number=number)
    return frame, list(wanted)


def _row_numbers(rejected: list[int], *, header: bool) -> Callable[[int], int]:
    """Data row index → the row as the user counts it: in the file (header = row 1), skipping
    the rows the CSV reader left out; or the record's position in a Parquet file or table."""

    def number(index: int) -> int:
        if not header:
            return index + 1
        row = index + 2
        for line in rejected:  # sorted
            if line > row:
                break
            row += 1
        return row

    return number


# ---------------------------------------------------------------------------------------------
# Features, target and split


def _present(column: pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False), dtype=bool)


def _infer_kinds(frame: _Frame, spec: TrainingSpec) -> dict[str, FeatureKind]:
    """Numeric or categorical, per feature; features with no values are left out."""
    kinds = {}
    for name, column in frame.columns.items():
        present = _present(column.text)
        count = int(present.sum())
        if count == 0:
            frame.notes.append(_("%(column)s has no values; left out") % {"column": name})
            continue
        numbers = int(np.isfinite(column.number).sum())
        if name in spec.categorical:
            kinds[name] = FeatureKind.CATEGORICAL
        elif name in spec.numeric or numbers >= NUMERIC_SHARE * count:
            kinds[name] = FeatureKind.NUMERIC
            _note_non_numbers(frame, name, column, present)
        else:
            kinds[name] = FeatureKind.CATEGORICAL
    return kinds


def _note_non_numbers(
    frame: _Frame, name: str, column: _Column, present: npt.NDArray[np.bool_]
) -> None:
    bad = np.flatnonzero(present & ~np.isfinite(column.number))
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


def _levels(
    frame: _Frame, kinds: dict[str, FeatureKind], spec: TrainingSpec
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


def _matrix(
    frame: _Frame, features: Sequence[str], levels: dict[str, list[str]]
) -> npt.NDArray[np.float32]:
    columns = []
    for name in features:
        column = frame.columns[name]
        if name in levels:
            codes = pc.index_in(column.text, value_set=pa.array(levels[name], pa.string()))
            unseen = int((_present(column.text) & ~_present(codes)).sum())
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


def _labels(
    frame: _Frame, spec: TrainingSpec
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
    """Per row, 1 for a positive target and 0 for another value; and whether it has one."""
    text = frame.roles[Role.TARGET]
    known = _present(text)
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
    frame: _Frame,
    labels: npt.NDArray[np.int8],
    column: str,
    text: pa.ChunkedArray,
    spec: TrainingSpec,
) -> None:
    positives, negatives = int(labels.sum()), int((labels == 0).sum())
    if positives >= MIN_CLASS_ROWS and negatives >= MIN_CLASS_ROWS:
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
            "min": MIN_CLASS_ROWS,
        }
    )


def _split(
    frame: _Frame, spec: TrainingSpec, labels: npt.NDArray[np.int8], known: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], dict[str, Any]]:
    """Training and validation rows, and how they were chosen."""
    split = spec.split
    if split.method is SplitMethod.RANDOM:
        # Stratified, so a rare target is as common in both parts.
        rng = np.random.default_rng(split.seed)
        validation = np.zeros(frame.rows, dtype=bool)
        for value in (0, 1):
            rows = np.flatnonzero(known & (labels == value))
            take = min(rows.size - 1, max(1, round(split.share * rows.size)))
            validation[rng.permutation(rows)[:take]] = True
        return (
            known & ~validation,
            validation,
            {"method": str(split.method), "validation_share": split.share, "seed": split.seed},
        )
    column = rule_label(spec.roles[Role.TIME])
    keys, cutoff, dated = _time_keys(
        frame.roles[Role.TIME], _present(frame.roles[Role.TIME]), split.validation_from
    )
    if (~dated & known).any():
        frame.notes.append(
            _("%(count)d rows have no usable %(column)s; left out of training and validation")
            % {"count": int((~dated & known).sum()), "column": column}
        )
    usable = known & dated
    if cutoff is None:
        # The latest rows validate; rows of one time stay together, on the validation side.
        ordered = np.sort(keys[usable])
        cutoff = ordered[min(ordered.size - 1, int(ordered.size * (1 - split.share)))]
    later = np.zeros(frame.rows, dtype=bool)
    later[usable] = keys[usable] >= cutoff
    validation, training = usable & later, usable & ~later
    cutoff_text = _time_text(cutoff)
    for part, chosen in ((_("training"), training), (_("validation"), validation)):
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
    how = {"method": str(split.method), "time": column, "validation_from": cutoff_text}
    return training, validation, how


def _time_keys(
    time: pa.ChunkedArray, present: npt.NDArray[np.bool_], start: str | None
) -> tuple[npt.NDArray[Any], Any, npt.NDArray[np.bool_]]:
    """Sort keys of the time column and of `start`, and which rows have one. Numbers where the
    column is numeric by the features' rule (a month index, a year), its other values then
    unusable; else the text itself (ISO dates and months sort as text)."""
    text = np.asarray(time.to_numpy(zero_copy_only=False), dtype=object)
    numbers = np.full(text.size, np.nan)
    for i in np.flatnonzero(present):
        numbers[i] = _number(text[i])
    parsed = np.isfinite(numbers)
    start_number = None if start is None else _number(start)
    numeric = parsed.sum() >= NUMERIC_SHARE * present.sum()
    if numeric and (start_number is None or np.isfinite(start_number)):
        return numbers, start_number, parsed
    keys = np.array(["" if v is None else str(v) for v in text], dtype=object)
    return keys, start, present


def _number(text: str) -> float:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return float("nan")


def _time_text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------------------------------------
# The model


@dataclass
class TabularModel:
    model_id: str
    name: str
    source: str  # what it was trained on: a file's name or a warehouse table
    mapping: str | None  # the import mapping the input was read through
    spec: dict[str, Any]
    features: list[str]
    levels: dict[str, list[str]]  # categorical features' levels; a level's code is its index
    calibration: tuple[float, float]
    metrics: dict[str, Any]
    top_features: list[tuple[str, float]]  # % of gain, largest first
    notes: list[str]
    created: str
    path: Path = field(default=Path())
    _booster: Any = field(default=None, repr=False)

    @property
    def booster(self) -> Any:
        if self._booster is None:
            import lightgbm

            self._booster = lightgbm.Booster(model_file=str(self.path / "model.txt"))
        return self._booster

    def probabilities(self, matrix: npt.NDArray[Any]) -> Array:
        raw = self.booster.predict(matrix, raw_score=True, num_threads=_threads(len(matrix)))
        a, b = self.calibration
        return sigmoid(a * np.asarray(raw, dtype=np.float64) + b)


def _load_model(data: dict[str, Any], path: Path) -> TabularModel:
    data["calibration"] = tuple(data["calibration"])
    data["top_features"] = [tuple(pair) for pair in data["top_features"]]
    return TabularModel(**data, path=path)


def check_name(name: str) -> str:
    """A model name is a directory under var/insight/models; churn is the canonical model's."""
    if not NAME_PATTERN.fullmatch(name) or name == CHURN_MODEL_NAME:
        raise TrainingError(
            _(
                "%(name)s cannot name a model: use lower-case letters, digits, '-', '_' or '.',"
                " and not %(reserved)s"
            )
            % {"name": name, "reserved": CHURN_MODEL_NAME}
        )
    return name


def model_registry(name: str) -> Registry[TabularModel]:
    return Registry(name=check_name(name), load=_load_model)


def find_model(*, name: str, model_id: str | None = None) -> TabularModel:
    """The model `model_id` of this name, or its newest."""
    models = model_registry(name).list()
    chosen = [m for m in models if model_id in (None, m.model_id)]
    if not chosen:
        raise TrainingError(
            _("No model %(id)s is registered under %(name)s.")
            % {"id": model_id or "", "name": name}
        )
    return chosen[0]


@dataclass(frozen=True)
class Scores:
    id_column: str
    ids: pa.Array
    probabilities: Array


@dataclass(frozen=True)
class Trained:
    model: TabularModel
    scores: Scores  # every row of the input, those without a target too


def _threads(rows: int) -> int:
    # Below this, threads cost more than they save: 200 rounds on 1,500 rows took 0.12 s on one
    # thread and 1.5 s on two of a busy two-core machine.
    return 1 if rows < PARALLEL_ROWS else settings_threads()


def _params(training_rows: int, seed: int) -> dict[str, Any]:
    # churn.py's settings, with leaves sized for tables of thousands of rows, not millions.
    leaf = int(np.clip(training_rows // 100, 5, 100))
    return LGBM_PARAMS | {
        "num_leaves": 15,
        "min_data_in_leaf": leaf,
        "min_data_per_group": leaf,
        "seed": seed,
        "num_threads": _threads(training_rows),
    }


def train_model(
    *,
    data: TrainingInput,
    spec: TrainingSpec,
    name: str,
    mapping: ImportedMapping | None = None,
) -> Trained:
    """Train, calibrate, measure and register a model; score every row of the input."""
    import lightgbm

    check_name(name)
    roles = [Role.TARGET, Role.ID, Role.TIME]
    frame, wanted = _read(data=data, spec=spec, mapping=mapping, features=None, roles=roles)
    kinds = _infer_kinds(frame, spec)
    levels = _levels(frame, kinds, spec)
    features = [f for f in wanted if f in kinds]
    if not features:
        raise TrainingError(_("%(file)s: no column is left to learn from") % {"file": data.label})
    labels, known = _labels(frame, spec)
    training, validation, how = _split(frame, spec, labels, known)
    matrix = _matrix(frame, features, levels)
    categorical = [f for f in features if f in levels]
    booster = lightgbm.train(
        _params(int(training.sum()), spec.split.seed),
        lightgbm.Dataset(
            matrix[training],
            label=labels[training],
            feature_name=[f"f{i}" for i in range(len(features))],  # any text may name a column
            categorical_feature=[f"f{features.index(f)}" for f in categorical] or "auto",
            free_raw_data=True,
        ),
        num_boost_round=spec.rounds,
    )
    y_val = labels[validation]
    raw = np.asarray(
        booster.predict(matrix[validation], raw_score=True, num_threads=_threads(len(y_val))),
        dtype=np.float64,
    )
    calibration, metrics = calibrate(raw, y_val)
    metrics |= {
        "training_rows": int(training.sum()),
        "validation_rows": int(validation.sum()),
        "validation_positive_rate": float(y_val.mean()),
        "split": how,
        "kinds": {
            f: str(FeatureKind.CATEGORICAL if f in levels else FeatureKind.NUMERIC)
            for f in features
        },
    }
    now = datetime.now(UTC)
    model = TabularModel(
        model_id=now.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6],
        name=name,
        source=data.label,
        mapping=None if mapping is None else mapping.name,
        spec=spec.raw,
        features=features,
        levels=levels,
        calibration=calibration,
        metrics=metrics,
        top_features=gain_importance(booster, features),
        notes=frame.notes,
        created=now.isoformat(),
    )
    model._booster = booster
    model_registry(name).save(model, booster)
    return Trained(model=model, scores=_scores(frame, spec, model.probabilities(matrix)))


def _scores(frame: _Frame, spec: TrainingSpec, probabilities: Array) -> Scores:
    if Role.ID in frame.roles:
        ids = frame.roles[Role.ID].combine_chunks()
        return Scores(rule_label(spec.roles[Role.ID]), ids, probabilities)
    rows = pa.array([frame.row_number(i) for i in range(frame.rows)], pa.int64())
    return Scores("row", rows, probabilities)


def score_model(
    *, model: TabularModel, data: TrainingInput, mapping: ImportedMapping | None = None
) -> tuple[Scores, list[str]]:
    """The model's probability for every row of `data`, and notes on values it could not read."""
    spec = parse_spec(model.spec)
    frame, _features = _read(
        data=data, spec=spec, mapping=mapping, features=model.features, roles=[Role.ID]
    )
    for name in model.features:
        if name not in model.levels:
            _note_non_numbers(frame, name, frame.columns[name], _present(frame.columns[name].text))
    matrix = _matrix(frame, model.features, model.levels)
    return _scores(frame, spec, model.probabilities(matrix)), frame.notes


def check_score_path(path: Path) -> Path:
    if path.suffix.lower() not in SCORE_SUFFIXES:
        raise TrainingError(
            _("%(path)s: scores are written as .csv or .parquet") % {"path": path.name}
        )
    return path


def write_scores(*, scores: Scores, path: Path) -> int:
    """Write id and probability per row, as CSV (UTF-8) or Parquet by the file's suffix."""
    check_score_path(path)
    table = pa.table({scores.id_column: scores.ids, "probability": scores.probabilities})
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        with private_file(path) as handle:
            pq.write_table(table, handle)
    else:
        # A CSV of scores is opened in a spreadsheet: ids are neutralised like every export.
        write_arrow_csv(table, path)
    return table.num_rows
