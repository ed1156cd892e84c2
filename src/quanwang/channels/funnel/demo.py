"""The demo operator's funnel (built by `quanwang demo`, after the campaigns): the funnel of
every store and grid, worked out once and kept, so the first page opens at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quanwang.channels.funnel.services.kept import build_funnel


def build_demo(*, say: Callable[[str], Any]) -> None:
    build_funnel(say=lambda message: say(f"funnel: {message}"))
