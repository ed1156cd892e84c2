"""The scorecards' step of the nightly pipeline (core.nightly): once the customer snapshot is
complete, the scorecards of every grid are worked out for the new data version and kept.
Registered on import (channels.job_handlers imports this module)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from quanwang.channels.scorecards.services.kept import build_scorecards
from quanwang.core import nightly


@nightly.after_snapshot("channels.scorecards", _("Grid scorecards"))
def keep_scorecards(snapshot: Any) -> dict[str, Any]:
    return build_scorecards(snapshot=snapshot)
