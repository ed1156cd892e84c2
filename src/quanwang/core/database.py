"""A one-line answer to 'can we reach the database?', for the CLI and the server."""

from __future__ import annotations

from django.db import connection
from django.db.utils import Error as DatabaseError
from django.utils.translation import gettext as _

from quanwang.config import redacted_database_url


def database_problem() -> str | None:
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return _("Cannot connect to the database %(url)s: %(reason)s") % {
            "url": redacted_database_url(),
            "reason": reason,
        }
    return None
