"""The funnel's nightly step: the funnel of every store and grid for the current data."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from quanwang.channels.funnel.services.kept import build_funnel
from quanwang.core import nightly


@nightly.after_snapshot("funnel", gettext_lazy("Omni-channel funnel"))
def nightly_funnel(snapshot: Any) -> dict[str, Any]:
    # The funnel reads the warehouse's store traffic, not the snapshot.
    return build_funnel()
