"""The enterprise accounts part (see quanwang.enterprise)."""
