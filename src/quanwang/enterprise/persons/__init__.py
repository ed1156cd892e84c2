"""The enterprise persons part (see quanwang.enterprise)."""
