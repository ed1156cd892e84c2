"""The province's grading rule sets (versioned, validated) and coverage targets, the coverage
view, and the re-grade job and command."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from quanwang.channels.choices import GradingCriterion, StoreGrade
from quanwang.channels.models import GradingRuleSet, GradingRun, Store, StoreGrading
from quanwang.channels.stores import job_handlers  # noqa: F401 (registers the job's handler)
from quanwang.channels.stores.coverage import coverage
from quanwang.channels.stores.grading import DEFAULT_RULES, Rules
from quanwang.channels.stores.jobs import start_regrade
from quanwang.channels.stores.rules import (
    current_rule_set,
    problems,
    save_rule_set,
    set_coverage_target,
)
from quanwang.core.choices import JobStatus, Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Job
from tests import factories
from tests.channels.test_stores_grading import _city
from tests.channels.test_stores_pages import make_store

C = GradingCriterion
CJK = re.compile(r"[\u4e00-\u9fff]")


def rules(**changes: Any) -> Rules:
    weights = dict(DEFAULT_RULES.weights) | changes.pop("weights", {})
    fields = {"key_min": 70, "anchor_min": 40} | changes
    return Rules(weights=weights, **fields)


def test_weights_must_add_up_to_100(db: None) -> None:
    found = problems(rules(weights={C.SALES: 50}))
    assert [p.field for p in found] == ["weight_sales"]
    assert "110" in found[0].message


def test_cutoffs_must_be_ordered(db: None) -> None:
    found = problems(rules(key_min=40, anchor_min=40))
    assert [p.field for p in found] == ["anchor_min"]


def test_other_bad_rules_each_name_their_field(db: None) -> None:
    bad = rules(location_points={"沿街": 120, "海上": 10}, location_default=-1, growth_months=0)
    assert {p.field for p in problems(bad)} == {
        "location_points",
        "location_default",
        "growth_months",
    }


def test_rule_errors_read_in_chinese(db: None) -> None:
    # given a Chinese-speaking user, when the rules do not hold together
    with translation.override("zh-hans"):
        found = problems(rules(weights={C.SALES: 10}, key_min=30, anchor_min=50))
        texts = [p.message for p in found]
    # then every message is in Chinese, with no English word
    assert len(texts) == 2
    for text in texts:
        assert CJK.search(text), text
        assert not re.search(r"[A-Za-z]{3,}", text), text


def test_saving_makes_the_next_version_and_keeps_the_old(tree: factories.Tree) -> None:
    # given the defaults in force (version 1)
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    first = current_rule_set()
    # when the province saves new weights
    saved = save_rule_set(
        actor=admin, rules=rules(weights={C.SALES: 30, C.GROWTH: 20}), note="重增长"
    )
    # then it is version 2, in force, and version 1 is unchanged
    assert (first.version, saved.version) == (1, 2)
    assert current_rule_set() == saved
    assert GradingRuleSet.objects.get(version=1).weight_sales == 40
    assert saved.created_by == admin


def test_invalid_rules_are_refused_and_nothing_is_saved(tree: factories.Tree) -> None:
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    with pytest.raises(ServiceError) as caught:
        save_rule_set(actor=admin, rules=rules(key_min=20))
    assert caught.value.field == "anchor_min"
    assert not GradingRuleSet.objects.exists()


def test_only_the_province_sets_rules(tree: factories.Tree) -> None:
    city = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    with pytest.raises(NotFound):
        save_rule_set(actor=city, rules=rules())
    with pytest.raises(NotFound):
        set_coverage_target(actor=city, grid_type="沿街", key_min=1, anchor_min=1, small_min=1)
    with pytest.raises(NotFound):
        start_regrade(actor=city, month="2024-06")


def test_rules_page_shows_errors_next_to_the_form(tree: factories.Tree, login: Any) -> None:
    # given the province admin on the rules page
    client = login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))
    assert client.get(reverse("channels:stores-rules")).status_code == 200
    form = {
        "sales_measure": "revenue",
        "weight_sales": 40,
        "weight_footfall": 20,
        "weight_conversion": 15,
        "weight_location": 15,
        "weight_growth": 20,
        "key_min": 70,
        "anchor_min": 40,
        "growth_months": 3,
        "location_default": 30,
        **{f"location_{i}": 50 for i in range(5)},
    }
    # when the weights add up to 110
    answer = client.post(reverse("channels:stores-rules-save"), form)
    # then the page is shown again with the error, and nothing saved
    assert answer.status_code == 200
    assert "110" in answer.content.decode()
    assert not GradingRuleSet.objects.filter(version__gt=1).exists()
    # and with the weights fixed it saves version 2
    answer = client.post(reverse("channels:stores-rules-save"), form | {"weight_growth": 10})
    assert answer.status_code == 302
    assert GradingRuleSet.objects.filter(version=2, location_points__沿街=50).exists()


def test_coverage_counts_grades_against_targets_by_county(tree: factories.Tree) -> None:
    # given grid A (沿街: ≥1 key, ≥2 anchor, ≥5 small) with 1 key and 3 anchor stores, and
    # grid B (校园: ≥0 key, ≥1 anchor, ≥2 small) with 2 small stores
    for i, grade in enumerate(["重点店", "钉子店", "钉子店", "钉子店"]):
        make_store(tree.grid_a, f"A{i}", grade=grade)
    make_store(tree.grid_a, "A-OLD", grade="芝麻店", active=False)
    for i in range(2):
        make_store(tree.grid_b, f"B{i}", grade="芝麻店")
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    grid_types = {tree.grid_a.code: "沿街", tree.grid_b.code: "校园"}
    # when the province reads the coverage
    counties = coverage(user=admin, warehouse=_warehouse_with(grid_types))
    by_grid = {g.unit.code: g for c in counties for g in c.grids}
    # then grid A is 5 small stores short (an extra anchor does not make up for them); the
    # inactive store does not count
    a = by_grid[tree.grid_a.code]
    assert [(n.have, n.want, n.short) for n in a.counts] == [(1, 1, 0), (3, 2, 0), (0, 5, 5)]
    assert a.short == 5
    # and grid B is 1 anchor store short
    assert by_grid[tree.grid_b.code].short == 1
    # and each county rolls up its grids
    rolled = {c.unit.code if c.unit else None: c.short for c in counties}
    assert rolled == {tree.county_a.code: 5, tree.county_b.code: 1}
    # and a county manager of county A sees county A only
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    mine = coverage(user=county, warehouse=_warehouse_with(grid_types))
    assert [c.unit for c in mine] == [tree.county_a]


def _warehouse_with(grid_types: dict[str, str]) -> Any:
    import tempfile

    from quanwang.data.importer import import_file
    from quanwang.data.warehouse import Warehouse

    directory = Path(tempfile.mkdtemp())
    store = Warehouse(root=directory / "warehouse")
    lines = "".join(f"{g},{g},{t},C\n" for g, t in grid_types.items())
    path = directory / "grids.csv"
    path.write_text("grid_id,name,grid_type,county_code\n" + lines, encoding="utf-8")
    import_file(table_name="grids", path=path, warehouse=store)
    return store


def test_coverage_page_highlights_shortfalls(
    tree: factories.Tree, login: Any, tmp_path: Path
) -> None:
    from tests.channels.test_stores_sync import grids_csv, load

    # given grid A (沿街) with one key store and nothing else
    load(tmp_path, grids=grids_csv(tree))
    make_store(tree.grid_a, "A0", grade="重点店")
    client = login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))
    # when the province opens the coverage view
    html = client.get(reverse("channels:stores-coverage")).content.decode()
    # then grid A's row is marked short, with 2 anchor and 5 small stores missing
    assert 'class="short"' in html
    assert tree.grid_a.name in html
    assert "0 / 2 ▼2" in html
    assert "0 / 5 ▼5" in html


def test_coverage_target_change(tree: factories.Tree, login: Any) -> None:
    client = login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))
    answer = client.post(
        reverse("channels:stores-coverage-target"),
        {"grid_type": "农村", "key_min": 0, "anchor_min": 2, "small_min": 9},
    )
    assert answer.status_code == 302
    from quanwang.channels.models import CoverageTarget

    assert CoverageTarget.objects.get(grid_type="农村").small_min == 9


def test_regrade_job_and_its_double_click(tree: factories.Tree, tmp_path: Path) -> None:
    from quanwang.core.jobs import execute_job

    # given stores with sales, and the province admin
    _city(tree, tmp_path)
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    # when the button is pressed twice before the worker runs
    first = start_regrade(actor=admin, month="2024-06", background=False)
    second = start_regrade(actor=admin, month="2024-06", background=False)
    # then one job is queued for the month, and run it grades every store
    assert first.pk == second.pk
    execute_job(job_id=first.pk)
    job = Job.objects.get(pk=first.pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.result or {})["stores_graded"] == 6
    assert GradingRun.objects.get(month="2024-06").ran_by == admin


def test_regrade_command(tree: factories.Tree, tmp_path: Path, capsys: Any) -> None:
    _city(tree, tmp_path)
    call_command("regrade-stores", "--month", "2024-06")
    assert StoreGrading.objects.filter(month="2024-06").count() == 6
    assert Store.objects.filter(grade=StoreGrade.KEY).exists()
    call_command("regrade-stores")  # the newest month by default, a re-run
    assert StoreGrading.objects.count() == 6


def test_nightly_step_syncs_and_grades_the_snapshots_month(
    tree: factories.Tree, tmp_path: Path
) -> None:
    from types import SimpleNamespace

    from quanwang.core import nightly

    # given stores with sales up to June, and the nightly step registered
    _city(tree, tmp_path)
    step = {s.name: s for s in nightly.steps()}["stores"]
    # when the pipeline builds May's snapshot, then July's (no sales yet)
    may = step.run(SimpleNamespace(month="2024-05"))
    july = step.run(SimpleNamespace(month="2024-07"))
    # then May is graded for May's snapshot, and June (the newest) for July's
    assert may is not None
    assert july is not None
    assert (may["month"], july["month"]) == ("2024-05", "2024-06")
    assert StoreGrading.objects.filter(month="2024-05").count() == 6


def test_regrade_button_starts_the_job_for_the_province_only(
    tree: factories.Tree, tmp_path: Path, login: Any
) -> None:
    from quanwang.core.choices import JobKind

    _city(tree, tmp_path)
    # a county manager may read the rules page but has no button, and a post is refused
    county = login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))
    page = county.get(reverse("channels:stores-rules")).content.decode()
    assert reverse("channels:stores-regrade") not in page
    refused = county.post(reverse("channels:stores-regrade"), {"month": "2024-06"})
    assert refused.status_code == 404
    # the province admin's click starts the job and shows its page
    admin = login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))
    answer = admin.post(reverse("channels:stores-regrade"), {"month": "2024-06"})
    job = Job.objects.get(kind=JobKind.REGRADE_STORES)
    assert answer.status_code == 302
    assert answer.url == reverse("core:job-detail", args=[job.pk])
    assert job.params == {"month": "2024-06"}
