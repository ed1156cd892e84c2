"""Console navigation entries of the commissions part."""

from quanwang.core.navigation import NavItem

ITEMS: list[NavItem] = []
