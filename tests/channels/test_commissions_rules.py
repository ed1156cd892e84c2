"""Commission rule sets: overlaps and gaps refused with their product, store type and dates;
versions that supersede; no rule change under approved statements."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from quanwang.channels.choices import StoreType
from quanwang.channels.commissions.choices import RuleSetStatus
from quanwang.channels.commissions.services import coverage
from quanwang.channels.commissions.services import rules as services
from quanwang.channels.commissions.services.rules import RuleSetRefused, RuleTerms
from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from tests import factories
from tests.channels.test_commissions_world import FIXED_50, World, day

D = Decimal


def _draft(world: World, *terms: RuleTerms, start: str = "2024-01-01", end: str | None = None):  # type: ignore[no-untyped-def]
    rule_set = services.create_rule_set(
        actor=world.admin,
        name="标准酬金",
        valid_from=day(start),
        valid_until=day(end) if end else None,
    )
    for term in terms:
        services.add_rule(actor=world.admin, rule_set_id=rule_set.pk, terms=term)
    return rule_set


def test_two_rules_for_one_sale_are_refused_naming_the_overlap(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given a rule for 号卡 at every store type and one for 号卡 at partner stores from March
    world = World(tree, tmp_path)
    draft = _draft(
        world,
        FIXED_50,
        RuleTerms(
            product="号卡",
            store_type=StoreType.PARTNER,
            valid_from=day("2024-03-01"),
            valid_until=day("2024-03-31"),
            fixed_amount=D("60"),
        ),
        end="2024-12-31",
    )
    # when it is published
    with pytest.raises(RuleSetRefused) as refused:
        services.publish_rule_set(actor=world.admin, rule_set_id=draft.pk)
    # then the overlap is named: product, store type, dates; the set stays a draft
    (problem,) = refused.value.problems
    assert "号卡" in problem
    assert str(StoreType.PARTNER.label) in problem
    assert "2024-03-01" in problem
    assert "2024-03-31" in problem
    draft.refresh_from_db()
    assert draft.status == RuleSetStatus.DRAFT


def test_a_product_left_without_rule_for_some_days_is_refused_naming_the_gap(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given 号卡 covered to March and again from mid-April
    world = World(tree, tmp_path)
    draft = _draft(
        world,
        RuleTerms(product="号卡", valid_until=day("2024-03-31"), fixed_amount=D("50")),
        RuleTerms(product="号卡", valid_from=day("2024-04-15"), fixed_amount=D("55")),
    )
    # when it is published
    with translation.override("en"), pytest.raises(RuleSetRefused) as refused:
        services.publish_rule_set(actor=world.admin, rule_set_id=draft.pk)
    # then the gap is named with its days, for every store type at once
    (problem,) = refused.value.problems
    assert "号卡" in problem
    assert "2024-04-01" in problem
    assert "2024-04-14" in problem
    assert "every store type" in problem


def test_a_gap_for_one_store_type_names_that_type(tree: factories.Tree, tmp_path: Path) -> None:
    # given 号卡 covered all year at agents but only from July at partner stores
    world = World(tree, tmp_path)
    draft = _draft(
        world,
        RuleTerms(product="号卡", store_type=StoreType.AGENT, fixed_amount=D("40")),
        RuleTerms(
            product="号卡",
            store_type=StoreType.PARTNER,
            valid_from=day("2024-07-01"),
            fixed_amount=D("50"),
        ),
        end="2024-12-31",
    )
    problems = services.check_rule_set(draft)
    assert len(problems) == 1
    assert str(StoreType.PARTNER.label) in problems[0]
    assert "2024-06-30" in problems[0]


def test_a_product_sold_with_no_rule_is_a_gap(tree: factories.Tree, tmp_path: Path) -> None:
    # given 终端 sold at an agent store in June, and a rule set for 号卡 only
    world = World(tree, tmp_path)
    world.sale("T1", "2024-06-03", store="S2", product="终端")
    world.sale("T2", "2024-06-09", store="S2", product="终端")
    world.put()
    draft = _draft(world, FIXED_50)
    # when it is checked
    problems = services.check_rule_set(draft)
    # then the unruled sales are named by product, store type and days
    (problem,) = problems
    assert "终端" in problem
    assert str(StoreType.AGENT.label) in problem
    assert "2024-06-03" in problem
    assert "2024-06-09" in problem
    assert "2" in problem


def test_a_new_version_supersedes_the_old_from_its_first_day(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given version 1 paying 50, and version 2 paying 70 from July
    world = World(tree, tmp_path)
    first = world.rules(FIXED_50)
    second = services.new_version(actor=world.admin, rule_set_id=first.pk)
    second.valid_from = day("2024-07-01")
    second.save()
    rule = second.rules.get()
    rule.fixed_amount = D("70")
    rule.save()
    services.publish_rule_set(actor=world.admin, rule_set_id=second.pk)
    world.sale("A1", "2024-06-30")
    world.sale("A2", "2024-07-01")
    world.put()
    # when June and July are computed
    world.close("2024-06")
    world.close("2024-07")
    # then each sale is paid by the version in force on its day, and the lines say which
    first.refresh_from_db()
    assert first.superseded_on == day("2024-07-01")
    assert second.version == 2
    (june,) = world.lines("2024-06")
    (july,) = world.lines("2024-07")
    assert (june["amount"], june["rule_version"]) == (D("50.00"), 1)
    assert (july["amount"], july["rule_version"]) == (D("70.00"), 2)


def test_rules_may_not_change_under_approved_statements(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given June approved under version 1
    world = World(tree, tmp_path)
    first = world.rules(FIXED_50)
    world.sale("A1", "2024-06-03")
    world.put()
    world.close("2024-06")
    # when version 2 would start in June
    second = services.new_version(actor=world.admin, rule_set_id=first.pk)
    second.valid_from = day("2024-06-15")
    second.save()
    # then it is refused, naming the first day it may start
    with pytest.raises(RuleSetRefused) as refused:
        services.publish_rule_set(actor=world.admin, rule_set_id=second.pk)
    assert any("2024-07-01" in p for p in refused.value.problems)


def test_another_rule_set_over_the_same_days_is_refused(
    tree: factories.Tree, tmp_path: Path
) -> None:
    world = World(tree, tmp_path)
    world.rules(FIXED_50, end="2024-12-31")
    other = services.create_rule_set(
        actor=world.admin, name="暑期酬金", valid_from=day("2024-07-01"), valid_until=None
    )
    services.add_rule(actor=world.admin, rule_set_id=other.pk, terms=FIXED_50)
    problems = services.check_rule_set(other)
    assert len(problems) == 1
    assert "标准酬金 v1" in problems[0]
    assert "2024-07-01" in problems[0]
    assert "2024-12-31" in problems[0]


def test_a_published_rule_set_is_never_edited(tree: factories.Tree, tmp_path: Path) -> None:
    world = World(tree, tmp_path)
    published = world.rules(FIXED_50)
    with translation.override("en"), pytest.raises(ServiceError, match="new version"):
        services.add_rule(actor=world.admin, rule_set_id=published.pk, terms=FIXED_50)
    with translation.override("en"), pytest.raises(ServiceError, match="new version"):
        services.delete_rule(
            actor=world.admin, rule_set_id=published.pk, rule_id=published.rules.get().pk
        )


def test_bad_terms_name_the_field(tree: factories.Tree, tmp_path: Path) -> None:
    world = World(tree, tmp_path)
    draft = _draft(world)
    cases = {
        "upfront_share": RuleTerms(product="号卡", fixed_amount=D(10), upfront_share=D("0.5")),
        "revenue_months": RuleTerms(product="号卡", revenue_share=D("0.1")),
        "fixed_amount": RuleTerms(product="号卡", fixed_amount=D(-1)),
        "valid_from": RuleTerms(product="号卡", valid_from=day("2023-12-31")),
        "product": RuleTerms(product=" "),
    }
    for field, terms in cases.items():
        with pytest.raises(ServiceError) as refused:
            services.add_rule(actor=world.admin, rule_set_id=draft.pk, terms=terms)
        assert refused.value.field in (field, "deferred_months"), field


def test_only_the_province_writes_rules_and_everyone_below_reads_them(
    tree: factories.Tree, tmp_path: Path
) -> None:
    world = World(tree, tmp_path)
    published = world.rules(FIXED_50)
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    with pytest.raises(NotFound):
        services.create_rule_set(actor=marketer, name="市酬金", valid_from=day("2024-01-01"))
    with pytest.raises(NotFound):
        services.new_version(actor=marketer, rule_set_id=published.pk)
    assert list(services.visible_rule_sets(user=marketer)) == [published]
    partner = factories.user(role=Role.CHANNEL_PARTNER, at=tree.grid_a)
    assert list(services.visible_rule_sets(user=partner)) == []


dates = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2024, 12, 31))


@given(
    spans=st.lists(st.tuples(dates, st.one_of(st.none(), dates)), max_size=5),
    start=dates,
    end=st.one_of(st.none(), dates),
)
def test_uncovered_days_and_the_spans_together_cover_the_range_exactly(
    spans: list[tuple[dt.date, dt.date | None]], start: dt.date, end: dt.date | None
) -> None:
    spans = [(a, b) for a, b in spans if b is None or b >= a]
    if end is not None and end < start:
        return
    holes = coverage.uncovered(spans, start=start, end=end)
    horizon = end or dt.date(2025, 3, 1)
    probe = start
    while probe <= horizon:
        in_span = any(a <= probe and (b is None or probe <= b) for a, b in spans)
        in_hole = any(a <= probe and (b is None or probe <= b) for a, b in holes)
        assert in_span != in_hole, probe
        probe += dt.timedelta(days=1)
