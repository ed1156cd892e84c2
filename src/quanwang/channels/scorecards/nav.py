"""Console navigation entries of the scorecards part."""

from quanwang.core.navigation import NavItem

ITEMS: list[NavItem] = []
