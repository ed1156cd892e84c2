"""Console navigation entries of the stores part."""

from quanwang.core.navigation import NavItem

ITEMS: list[NavItem] = []
