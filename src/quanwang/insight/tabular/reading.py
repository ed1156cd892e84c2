"""Reading a training input into columns: a file or a warehouse table, through an optional saved
import mapping, then the spec's rules (checked by data.mapping). Blanks and "NA" read as
missing, and every column is parsed as a number as well."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.core.tabular import RowError
from quanwang.data.mapping import MappingError, compile_mapping
from quanwang.data.schema import TABLES, Table
from quanwang.data.sources import SourceError, malformed_lines, open_source
from quanwang.data.warehouse import Warehouse, quote, sql_literal
from quanwang.insight.churn import ModelError
from quanwang.insight.training_spec import (
    Role,
    TrainingError,
    TrainingSpec,
    rule_references,
    rules_table,
)

Array = npt.NDArray[np.float64]
# Read as missing, in any case: what exports write for "no value".
NULL_TOKENS = ("", "na", "n/a", "#n/a", "nan", "null", "none", "-", "\\n")
MAX_EXAMPLES = 5


class InputKind(StrEnum):
    FILE = "file"
    TABLE = "table"


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
class Column:
    text: pa.ChunkedArray  # trimmed text; null where blank or a null token
    number: Array  # the text as a number; nan where it is not one


@dataclass
class Frame:
    label: str
    rows: int
    row_number: Callable[[int], int]  # a row's index → its row in the file (header = 1)
    roles: dict[Role, pa.ChunkedArray]
    columns: dict[str, Column]
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


def read(
    *,
    data: TrainingInput,
    spec: TrainingSpec,
    mapping: ImportedMapping | None,
    features: Sequence[str] | None,
    roles: Sequence[Role],
) -> tuple[Frame, list[str]]:
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
    frame = Frame(
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
        frame.columns[name] = Column(text=table.column(f"t{i}"), number=number)
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
