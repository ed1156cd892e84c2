"""Job handlers of the data app."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.core.choices import JobKind
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.jobs import (
    RESULT_CODE_LABELS,
    RESULT_FORMATTERS,
    RESULT_LABELS,
    USER_FACING_ERRORS,
    JobContext,
    register,
)
from quanwang.core.services.scope import choose_scope
from quanwang.core.uploads import is_upload, release_upload, sweep_uploads
from quanwang.data.after_import import run_after_import
from quanwang.data.import_scope import import_scope
from quanwang.data.importer import REJECT_LABELS, ImportFailed, Stage, import_file
from quanwang.data.labels import label
from quanwang.data.mapping import MappingError
from quanwang.data.schema import TABLES
from quanwang.data.services import find_mapping
from quanwang.data.sources import ReadOptions, SourceError

STAGES = {
    Stage.READING: gettext_lazy("Reading"),
    Stage.VALIDATING: gettext_lazy("Validating"),
    Stage.WRITING: gettext_lazy("Writing"),
}


RESULT_CODE_LABELS["by_reason"] = {str(code): label for code, label in REJECT_LABELS.items()}
RESULT_LABELS["updated_columns"] = gettext_lazy("Columns updated")


def _table_shown(value: Any, _result: Mapping[str, Any]) -> str:
    table = TABLES.get(str(value))
    return label(table) if table is not None else str(value)


def _columns_shown(value: Any, result: Mapping[str, Any]) -> str:
    """The table's columns by their labels (the file's own column names are shown as they
    are: `unused_columns`)."""
    table = TABLES.get(str(result.get("table", "")))
    names = value if isinstance(value, list) else []
    if table is None:
        return ", ".join(map(str, names))
    return "、".join(label(table.by_name[n]) if n in table.by_name else str(n) for n in names)


RESULT_FORMATTERS["table"] = _table_shown
RESULT_FORMATTERS["updated_columns"] = _columns_shown

# Their messages are translated and name the file, row or column at fault: the job page shows them.
USER_FACING_ERRORS.extend([ImportFailed, SourceError, MappingError])


def _importer(ctx: JobContext, actor_id: int | None, scope_id: int | None) -> Any:
    """The user the rows are checked against: the job's creator, in the scope they had chosen.
    A job started by a user who no longer exists does not run (as the system it would reach
    every row)."""
    actor: Any = ctx.job.created_by
    if actor_id is not None and actor is None:
        raise ServiceError(_("The user who started this import no longer exists."))
    if actor is not None and scope_id is not None:
        try:
            choose_scope(user=actor, assignment_id=scope_id)
        except NotFound as exc:
            # The role it was started in is gone: all the user's other roles are not its scope.
            raise ServiceError(_("The role this import was started in no longer exists.")) from exc
    return actor


@register(JobKind.IMPORT_TABLE)
def import_table(
    ctx: JobContext,
    *,
    table: str,
    path: str,
    filename: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    mapping: str | None = None,
    mapping_id: int | None = None,
    allow_empty: bool = False,
    confirm_replace: bool = False,
    actor_id: int | None = None,
    scope_id: int | None = None,
) -> dict[str, Any]:
    """Import one file into a canonical warehouse table; bad rows, and rows outside the
    importer's scope, are quarantined. The upload is released however the job ends."""
    source = Path(path)
    try:
        actor = _importer(ctx, actor_id, scope_id)
        # Checked again now: roles may have changed since the job was queued or first run.
        scope = import_scope(user=actor, table=TABLES[table])
        spec = None
        if mapping_id is not None or mapping:
            spec = dict(find_mapping(actor=actor, name=mapping, pk=mapping_id).spec)
        if is_upload(source) and not source.exists():
            raise ImportFailed(
                _("%(file)s: the uploaded file was deleted when its import ended; upload it again.")
                % {"file": filename}
            )

        def report(stage: Stage, done: int, total: int | None) -> None:
            ctx.progress(done=done, total=total, stage=str(STAGES.get(stage, stage)))

        result = import_file(
            table_name=table,
            path=source,
            mapping=spec,
            options=ReadOptions.from_params(
                encoding=encoding, delimiter=delimiter, sheet=sheet, header_row=header_row
            ),
            allow_empty=allow_empty,
            confirm_replace=confirm_replace,
            progress=report,
            scope=scope,
            file_name=filename,
        )
    finally:
        release_upload(source)
        sweep_uploads()
    # What other apps keep in step with this table (data.after_import): the store file…
    return (
        result.as_result()
        | {"quarantine_file": Path(result.quarantine_file).name if result.quarantine_file else ""}
        | run_after_import(table)
    )
