"""The demo operator's scorecards (built by `quanwang demo`, after the campaigns)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def build_demo(*, say: Callable[[str], Any]) -> None:
    return None
