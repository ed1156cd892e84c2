"""Errors raised by core services; views and API handlers turn them into responses."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class ServiceError(Exception):
    """A rule refused the request. `field` names the input at fault, when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """The record does not exist for this user (outside their scope looks the same)."""

    def __init__(self) -> None:
        super().__init__(str(_("Not found.")))


class JobCancelled(Exception):
    """Raised inside a job when a cancel was requested."""
