"""Building blocks every API module shares: bounded pagination, text without control
characters, the error shapes, and the 422 message people read.

Input outside these bounds is refused with a 422 naming the field, before it reaches the
database: a limit or offset past 64 bits, or a NUL byte (PostgreSQL text cannot hold one),
would otherwise end as a server error.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

MAX_LIMIT = 1000
# Past this an offset only skips rows nobody pages to; well inside every database's integers.
MAX_OFFSET = 2**31 - 1
# Tab, line feed and carriage return are ordinary text; every other control character is not.
ALLOWED_CONTROLS = frozenset("\t\n\r")
CONTROL_CHARACTERS = "control_characters"


def _no_control_characters(value: str) -> str:
    for char in value:
        if char in ALLOWED_CONTROLS:
            continue
        # Cc: NUL and the other C0/C1 controls; Cs: lone surrogates, which cannot be encoded.
        if unicodedata.category(char) in {"Cc", "Cs"}:
            raise PydanticCustomError(
                CONTROL_CHARACTERS, "control characters such as NUL are not allowed"
            )
    return value


def clean_query(value: str | None, *, field: str) -> str | None:
    """A query parameter's text, refused (a 422 naming it) if it holds a control character:
    query parameters are declared as plain `str` (ninja builds their model where an
    Annotated alias of this module does not resolve), so they are checked here."""
    if value is None:
        return None
    try:
        return _no_control_characters(value)
    except PydanticCustomError as exc:
        from quanwang.core.errors import ServiceError

        raise ServiceError(
            _("Control characters such as NUL are not allowed."), field=field
        ) from exc


def checked_page(limit: int, offset: int, *, most: int = MAX_LIMIT) -> tuple[int, int]:
    """limit/offset of a handler that pages by hand (its answer holds more than the rows),
    refused (a 422 naming the field) outside what BoundedPagination accepts."""
    from quanwang.core.errors import ServiceError

    if not 1 <= limit <= most:
        raise ServiceError(_("Must be between 1 and %(most)s.") % {"most": most}, field="limit")
    if not 0 <= offset <= MAX_OFFSET:
        raise ServiceError(
            _("Must be between 0 and %(most)s.") % {"most": MAX_OFFSET}, field="offset"
        )
    return limit, offset


def checked_id(value: int | None, *, field: str) -> int | None:
    """A record id from a query parameter, refused (a 422 naming it) beyond the databases'
    64-bit keys (PostgreSQL: "bigint out of range")."""
    from quanwang.core.errors import ServiceError

    if value is not None and not 1 <= value <= 2**63 - 1:
        raise ServiceError(_("No such record."), field=field)
    return value


# A string from a client: any text, but no NUL or other control characters. Use it for every
# text field of an input schema, with Field(min_length=…, max_length=…) as usual.
CleanText = Annotated[str, AfterValidator(_no_control_characters)]


# A record's id as a client sends it: the databases' 64-bit key, so a larger number is a 422
# naming the field rather than a database error (PostgreSQL: "bigint out of range").
RecordId = Annotated[int, Field(ge=1, le=2**63 - 1)]
# An amount in fen (分) or a count kept in a 64-bit column.
BigAmount = Annotated[int, Field(ge=0, le=2**63 - 1)]
# A percentage kept in a small column (0–100).
Percent = Annotated[int, Field(ge=0, le=100)]
# A business day: wide enough for any plan, narrow enough that adding a visit interval or a
# period to it never overflows a date (9999-12-31 from a fuzzer did).
BusinessDay = Annotated[dt.date, Field(ge=dt.date(2000, 1, 1), le=dt.date(2099, 12, 31))]


class BoundedPagination(LimitOffsetPagination):
    """limit/offset pagination whose values stay within what the databases take."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_LIMIT, description="Rows per page (at most 1000).")
        offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Rows to skip.")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=MAX_LIMIT, **kwargs)


class ErrorOut(Schema):
    """Every error answer: what went wrong, in the caller's language."""

    detail: str
    field: str | None = Field(None, description="The input at fault, when there is one.")
    code: str | None = Field(None, description="A stable code, e.g. for 401: missing/invalid.")


class FieldErrorOut(Schema):
    field: str
    message: str
    type: str


class ValidationErrorOut(ErrorOut):
    errors: list[FieldErrorOut] = Field(
        default_factory=list, description="Every input at fault, with its message."
    )


def field_name(location: Sequence[Any]) -> str:
    """ninja's error location ("body", "payload", "name") or ("query", "limit") as the name the
    caller sent: "name", "limit", "items.0.code"."""
    parts = list(location)
    if parts and parts[0] in {"body", "form", "file"}:
        parts = parts[2:] if len(parts) > 2 else parts[1:]
    elif parts:
        parts = parts[1:]
    return ".".join(str(p) for p in parts)


def _limit(ctx: Mapping[str, Any], *keys: str) -> Any:
    return next((ctx[k] for k in keys if k in ctx), "")


def error_message(error: Mapping[str, Any]) -> str:
    """pydantic's error as a translated sentence; its own English text never reaches a page."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind in {"less_than_equal", "less_than"}:
        return _("Must be at most %(limit)s.") % {"limit": _limit(ctx, "le", "lt")}
    if kind in {"greater_than_equal", "greater_than"}:
        return _("Must be at least %(limit)s.") % {"limit": _limit(ctx, "ge", "gt")}
    if kind == "string_too_long":
        return _("At most %(limit)s characters.") % {"limit": ctx.get("max_length", "")}
    if kind == "string_too_short":
        return _("At least %(limit)s characters.") % {"limit": ctx.get("min_length", "")}
    if kind == "string_pattern_mismatch":
        return _("Not in the expected form (%(pattern)s).") % {"pattern": ctx.get("pattern", "")}
    if kind == CONTROL_CHARACTERS:
        return _("Control characters such as NUL are not allowed.")
    if kind.startswith("int_"):
        return _("Give a whole number.")
    if kind.startswith(("float_", "decimal_")) or kind == "finite_number":
        return _("Give a number.")
    if kind.startswith("bool_"):
        return _("Give true or false.")
    if kind.startswith("string_"):
        return _("Give a text.")
    if kind in {"enum", "literal_error"}:
        return _("Give one of: %(expected)s.") % {"expected": ctx.get("expected", "")}
    if kind.startswith("datetime_") or kind.startswith("timezone_"):
        return _("Give a date and time (ISO 8601).")
    if kind.startswith("date_"):
        return _("Give a date (YYYY-MM-DD).")
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return _("Give a JSON object.")
    if kind in {"list_type", "tuple_type", "set_type"}:
        return _("Give a list.")
    if kind == "json_invalid":
        return _("The request body is not valid JSON.")
    return _("This value is not valid.")


def validation_error_body(errors: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A 422 body: the first problem as `detail` and `field`, every problem under `errors`."""
    listed = [
        {
            "field": field_name(error.get("loc", ())),
            "message": error_message(error),
            "type": str(error.get("type", "")),
        }
        for error in errors
    ]
    if not listed:
        return {"detail": _("This value is not valid."), "field": None, "errors": []}
    first = listed[0]
    detail = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return {"detail": detail, "field": first["field"] or None, "errors": listed}


def _component(model: type[Schema]) -> dict[str, Any]:
    return model.model_json_schema(ref_template="#/components/schemas/{model}")


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """List the error answers every operation can give in the OpenAPI schema: 401 where it
    needs credentials, 400 and 422 where it reads a body, 422 where it reads parameters, 404
    where its path names a record. An operation whose body names a record (a parent's id)
    lists its 404 itself: `response={201: …, 404: ErrorOut}`."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    validation = _component(ValidationErrorOut)
    components.update(validation.pop("$defs", {}))
    components["ValidationErrorOut"] = validation
    components["ErrorOut"] = _component(ErrorOut)
    error = {"$ref": "#/components/schemas/ErrorOut"}
    invalid = {"$ref": "#/components/schemas/ValidationErrorOut"}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            answers = operation.setdefault("responses", {})
            reads_body = "requestBody" in operation
            if operation.get("security"):
                answers.setdefault(401, _answer("Missing, invalid or expired credentials", error))
            if reads_body:
                answers.setdefault(400, _answer("The body cannot be read (not JSON)", error))
            if "{" in path:
                answers.setdefault(404, _answer("No such record in your scope", error))
            if reads_body or operation.get("parameters"):
                answers.setdefault(
                    422, _answer("An input is out of range or breaks a rule", invalid)
                )
    return schema


def _answer(description: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": body}}}
