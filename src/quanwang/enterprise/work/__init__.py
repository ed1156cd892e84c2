"""The enterprise work part (see quanwang.enterprise)."""
