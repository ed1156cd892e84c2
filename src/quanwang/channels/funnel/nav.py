"""Console navigation entries of the funnel part."""

from quanwang.core.navigation import NavItem

ITEMS: list[NavItem] = []
