"""Console navigation entries of the geo part."""

from quanwang.core.navigation import NavItem

ITEMS: list[NavItem] = []
