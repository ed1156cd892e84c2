"""The enterprise pipeline part (see quanwang.enterprise)."""
