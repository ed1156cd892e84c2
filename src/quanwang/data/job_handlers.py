"""Job handlers of the data app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import JobKind
from quanwang.core.jobs import RESULT_CODE_LABELS, JobContext, register
from quanwang.data.importer import REJECT_LABELS, Stage, import_file
from quanwang.data.services import mapping_spec

STAGES = {
    Stage.READING: _("Reading"),
    Stage.VALIDATING: _("Validating"),
    Stage.WRITING: _("Writing"),
}


RESULT_CODE_LABELS["by_reason"] = {str(code): label for code, label in REJECT_LABELS.items()}


@register(JobKind.IMPORT_TABLE)
def import_table(
    ctx: JobContext,
    *,
    table: str,
    path: str,
    filename: str,
    encoding: str | None = None,
    mapping: str | None = None,
) -> dict[str, Any]:
    """Import one file into a canonical warehouse table; bad rows are quarantined."""
    spec = mapping_spec(actor=ctx.job.created_by, name=mapping) if mapping else None

    def report(stage: Stage, done: int, total: int | None) -> None:
        ctx.progress(done=done, total=total, stage=str(STAGES.get(stage, stage)))

    result = import_file(
        table_name=table, path=Path(path), mapping=spec, encoding=encoding, progress=report
    )
    return result.as_result() | {
        "quarantine_file": Path(result.quarantine_file).name if result.quarantine_file else "",
        "file": filename,
    }
