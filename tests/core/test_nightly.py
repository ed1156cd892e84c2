"""The nightly pipeline's steps after the snapshot (core.nightly): every registered step runs
in order on the snapshot; one that fails is reported and does not stop the others."""

from __future__ import annotations

from typing import Any

import pytest

from quanwang.core import nightly


@pytest.fixture
def no_steps(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    steps: dict[str, Any] = {}
    monkeypatch.setattr(nightly, "_STEPS", steps)
    return steps


def test_the_steps_run_in_registration_order_on_the_snapshot(no_steps: dict[str, Any]) -> None:
    # given two registered steps
    seen: list[tuple[str, Any]] = []
    nightly.after_snapshot("first", "一")(lambda snap: seen.append(("first", snap)) or {"n": 1})
    nightly.after_snapshot("second", "二")(lambda snap: seen.append(("second", snap)) or None)

    # when the pipeline runs them on a snapshot
    announced: list[str] = []
    report = nightly.run_after_snapshot("snap", progress=lambda step: announced.append(step.name))

    # then each ran once, in order, with its figures and time reported
    assert seen == [("first", "snap"), ("second", "snap")]
    assert announced == ["first", "second"]
    assert report["first"]["n"] == 1
    assert set(report["second"]) == {"seconds"}


def test_a_failing_step_is_reported_and_the_next_still_runs(no_steps: dict[str, Any]) -> None:
    # given a step that fails before one that works
    def broken(_snapshot: Any) -> dict[str, Any]:
        raise ValueError("bad input")

    nightly.after_snapshot("broken", "坏")(broken)
    nightly.after_snapshot("fine", "好")(lambda _snap: {"rows": 3})

    # when they run
    report = nightly.run_after_snapshot("snap")

    # then the failure is named and the later step's figures are there
    assert report["broken"]["failed"] == "ValueError"
    assert report["fine"]["rows"] == 3


def test_registering_a_name_again_replaces_the_step(no_steps: dict[str, Any]) -> None:
    nightly.after_snapshot("step", "旧")(lambda _snap: {"v": "old"})
    nightly.after_snapshot("step", "新")(lambda _snap: {"v": "new"})

    assert [s.label for s in nightly.steps()] == ["新"]
    assert nightly.run_after_snapshot("snap")["step"]["v"] == "new"


def test_the_steps_before_the_snapshot_get_the_engine_and_a_failure_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a step before the snapshot that works and one that fails
    monkeypatch.setattr(nightly, "_BEFORE", {})
    seen: list[str] = []
    nightly.before_snapshot("place", "定位")(lambda engine: seen.append(engine) or {"run": "r1"})

    def broken(_engine: str) -> dict[str, Any]:
        raise OSError("disk full")

    nightly.before_snapshot("broken", "坏")(broken)

    # when the pipeline runs them for a Spark snapshot
    report = nightly.run_before_snapshot(engine="spark")

    # then the engine was passed, the figures kept, and the failure named
    assert seen == ["spark"]
    assert report["place"]["run"] == "r1"
    assert report["broken"]["failed"] == "OSError"


def test_the_grid_assignment_comes_before_the_snapshot_and_before_the_store_file_sync() -> None:
    # given the registered hooks of the installed apps
    from quanwang.data import after_import

    # then the grid assignment prepares the snapshot rather than following it
    assert "geo" in [step.name for step in nightly.steps_before()]
    assert "geo" not in [step.name for step in nightly.steps()]
    # and a stores import places the stores before the store file reads them
    hooks = list(after_import._HOOKS["stores"])
    assert hooks.index("grid_assignment") < hooks.index("store_file")
