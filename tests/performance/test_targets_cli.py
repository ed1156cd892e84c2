"""`quanwang targets set|decompose|show|warn`."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from quanwang.performance.models.targets import Target
from tests.performance.targets_support import register

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("targets", *args, stdout=out)
    return out.getvalue()


def test_cli_set_decompose_show_warn(tree: Any, monkeypatch: Any) -> None:
    # given the KPIs; when a target is set, decomposed by hand, shown and warned on
    register(monkeypatch)
    _run("set", "--kpi", "t_revenue", "--period", "2024Q2", "--key", "P1", "--value", "100")
    top = Target.objects.get()
    out = _run(
        "decompose", "--target", str(top.pk), "--rule", "manual", "--manual", "CA=60", "CB=40"
    )
    # then the children are saved and listed, and show and warn answer
    assert "CA\t60" in out
    assert Target.objects.filter(parent=top).count() == 2
    assert "P1" in _run("show", "--period", "2024Q2")
    assert _run("warn")
    # and a bad input names the field
    with pytest.raises(CommandError, match="manual"):
        _run("decompose", "--target", str(top.pk), "--rule", "manual", "--manual", "CA=1")
