"""Console navigation entries of the visits part."""

from quanwang.core.navigation import NavItem

ITEMS: list[NavItem] = []
