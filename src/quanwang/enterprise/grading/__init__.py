"""The enterprise grading part (see quanwang.enterprise)."""
