"""Template context every console page gets from the core app."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from quanwang.core.services.workers import jobs_waiting_without_worker


def job_worker(request: HttpRequest) -> dict[str, Any]:
    """`jobs_waiting_without_worker`: the banner of base.html when jobs wait and no worker
    runs them (0 for people who may not see jobs)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"jobs_waiting_without_worker": jobs_waiting_without_worker(user)}
