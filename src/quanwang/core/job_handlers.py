"""Job handlers of the core app."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.core.choices import ORG_LEVEL_DEPTH, Action, JobKind, OrgLevel
from quanwang.core.errors import ServiceError
from quanwang.core.jobs import JobContext, quarantine_path, register
from quanwang.core.models import OrgUnit
from quanwang.core.services.orgs import OrgRow, parse_level, upsert_org_rows
from quanwang.core.tabular import RowError, read_csv, write_errors
from quanwang.core.uploads import release_upload

ORG_COLUMNS = ("code", "name", "name_en", "level", "parent_code")
REQUIRED_ORG_COLUMNS = ("code", "name", "level")
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_LENGTHS = {"name": 100, "name_en": 100}
ORG_COLUMN_LABELS = {
    "code": gettext_lazy("Code"),
    "name": gettext_lazy("Name"),
    "name_en": gettext_lazy("English name"),
    "level": gettext_lazy("Level"),
    "parent_code": gettext_lazy("Parent code"),
}


def _validate_org_rows(
    *, path: Path, filename: str, encoding: str | None, ctx: JobContext, actor: Any
) -> tuple[list[OrgRow], list[RowError], int]:
    errors: list[RowError] = []
    rejected_codes: set[str] = set()
    candidates: dict[str, OrgRow] = {}
    rows = list(read_csv(path, encoding=encoding))
    ctx.progress(done=0, total=len(rows), stage=_("Validating"))

    def reject(row: int, field: str, value: str, reason: str, code: str = "") -> None:
        errors.append(RowError(filename, row, field, value, reason))
        rejected_codes.add(code)

    for done, (number, raw) in enumerate(rows, start=1):
        missing = [c for c in REQUIRED_ORG_COLUMNS if c not in raw]
        if missing:
            reject(1, missing[0], "", _("The header has no column %(c)s.") % {"c": missing[0]})
            break
        bad = False
        for column in REQUIRED_ORG_COLUMNS:
            if not raw.get(column):
                reject(number, column, "", _("Required."))
                bad = True
        for column, limit in MAX_LENGTHS.items():
            if len(raw.get(column, "")) > limit:
                reject(number, column, raw[column][:50], _("Longer than %(n)d.") % {"n": limit})
                bad = True
        code = raw.get("code", "")
        if code and not CODE_RE.match(code):
            reject(number, "code", code, _("Use letters, digits, '-' and '_' (≤32)."))
            bad = True
        if code in candidates:
            first = candidates[code].row_number
            reject(number, "code", code, _("Duplicate of row %(row)d.") % {"row": first})
            bad = True
        level: OrgLevel | None = None
        if raw.get("level"):
            try:
                level = parse_level(raw["level"])
            except ServiceError as exc:
                reject(number, "level", raw["level"], exc.message)
                bad = True
        parent_code = raw.get("parent_code", "")
        if level is not None and level is not OrgLevel.GROUP and not parent_code:
            reject(number, "parent_code", "", _("Required below the group level."))
            bad = True
        if bad:
            rejected_codes.add(code)
        elif level is not None:
            candidates[code] = OrgRow(
                row_number=number,
                code=code,
                name=raw["name"],
                name_en=raw.get("name_en", ""),
                level=level,
                parent_code=parent_code,
            )
        ctx.progress(done=done)

    # Parents: in this file or already in the tree, one level up, and within the actor's scope.
    existing = {
        u.code: u
        for u in OrgUnit.objects.filter(code__in=[r.parent_code for r in candidates.values()])
    }
    allowed = (
        None
        if actor is None
        else set(
            OrgUnit.objects.restrict(actor, Action.ADD)
            .filter(code__in=list(existing))
            .values_list("code", flat=True)
        )
    )
    accepted: dict[str, OrgRow] = {}
    for row in sorted(candidates.values(), key=lambda r: ORG_LEVEL_DEPTH[r.level]):
        if not row.parent_code:
            if actor is not None and not getattr(actor, "is_superuser", False):
                reject(
                    row.row_number, "parent_code", "", _("You may not add a root unit."), row.code
                )
                continue
            accepted[row.code] = row
            continue
        parent_level: str | None = None
        if row.parent_code in accepted:
            parent_level = accepted[row.parent_code].level
        elif row.parent_code in existing and (allowed is None or row.parent_code in allowed):
            parent_level = existing[row.parent_code].level
        if parent_level is None:
            reason = (
                _("Its parent row was rejected.")
                if row.parent_code in rejected_codes
                else _("Unknown parent, or outside your scope.")
            )
            reject(row.row_number, "parent_code", row.parent_code, reason, row.code)
            continue
        if ORG_LEVEL_DEPTH[row.level] <= ORG_LEVEL_DEPTH[OrgLevel(parent_level)]:
            reject(row.row_number, "level", row.level, _("Not below its parent's level."), row.code)
            continue
        accepted[row.code] = row
    return list(accepted.values()), errors, len(rows)


@register(JobKind.IMPORT_ORG_UNITS)
def import_org_units(
    ctx: JobContext, *, path: str, filename: str, encoding: str | None = None
) -> dict[str, Any]:
    """Load an org tree CSV (code, name, name_en, level, parent_code). Bad rows are set aside."""
    source = Path(path)
    try:
        good, errors, rows_read = _validate_org_rows(
            path=source, filename=filename, encoding=encoding, ctx=ctx, actor=ctx.job.created_by
        )
    finally:
        # The upload holds staff's names and numbers: gone once it is read (core.uploads).
        release_upload(source)
    ctx.progress(stage=_("Writing"))
    counts = upsert_org_rows(rows=good)
    result: dict[str, Any] = {
        "file": filename,
        "rows_read": rows_read,
        "loaded": len(good),
        "quarantined": len({e.row for e in errors}),
        **counts,
        "errors": [str(e) for e in errors[:50]],
    }
    if errors:
        quarantine = quarantine_path(f"job-{ctx.job.pk}-org_units.csv")
        write_errors(quarantine, errors)
        result["quarantine_file"] = quarantine.name
        for error in errors[:20]:
            # The page names the column by its label; the rejected-rows file keeps the code.
            shown = ORG_COLUMN_LABELS.get(error.field)
            ctx.message(str(replace(error, field=str(shown)) if shown else error))
    return result
