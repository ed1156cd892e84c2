"""The demo operator's enterprise customers: the account file, key persons and care moments,
managers' visits, a pipeline, then the grades, in the order each needs the one before (the
switching cost counts the care and the visits received). Built before the demo's snapshot, so
the wide table carries the members' account grade, risk and switching cost for the segment
builder (data.management.commands.demo)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quanwang.enterprise.accounts import demo as accounts
from quanwang.enterprise.grading import demo as grading
from quanwang.enterprise.persons import demo as persons
from quanwang.enterprise.pipeline import demo as pipeline
from quanwang.enterprise.work import demo as work


def build_enterprise_demo(*, say: Callable[[str], Any]) -> None:
    for part in (accounts, persons, work, pipeline, grading):
        part.build_demo(say=say)
