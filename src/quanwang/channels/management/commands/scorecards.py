"""`quanwang scorecards`: build and print grid scorecards (channels.scorecards.cli)."""

from quanwang.channels.scorecards.cli import Command  # noqa: F401
