"""The demo operator's channels: stores and their grades, grids on the map, a month of visits,
the funnel, a commission statement and the grid scorecards, in the order each needs the one
before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quanwang.channels.commissions import demo as commissions
from quanwang.channels.funnel import demo as funnel
from quanwang.channels.geo import demo as geo
from quanwang.channels.scorecards import demo as scorecards
from quanwang.channels.stores import demo as stores
from quanwang.channels.visits import demo as visits


def build_channels_demo(*, say: Callable[[str], Any]) -> None:
    for part in (stores, geo, visits, funnel, commissions, scorecards):
        part.build_demo(say=say)
