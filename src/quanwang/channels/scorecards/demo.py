"""The demo operator's scorecards (built by `quanwang demo`, after the campaigns and the other
channel parts, whose figures they read)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _

from quanwang.channels.scorecards.services.kept import build_scorecards


def build_demo(*, say: Callable[[str], Any]) -> None:
    result = build_scorecards()
    say(_("Grid scorecards: %(grids)d grids over %(months)d months (%(seconds).1f s)") % result)
