"""Statement lines from the facts: activation, deferred, revenue share, clawback, tiers, and
refunds and reversals that net out exactly once."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from quanwang.channels.commissions.services.rules import RuleTerms, TierTerms
from tests import factories
from tests.channels.test_commissions_world import FIXED_50, World, day

D = Decimal


def _sum_by_sale(world: World, months: list[str], store: str = "S1") -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for month in months:
        for sale_id, _kind, _due, amount in world.paying(month, store):
            totals[sale_id] += amount
    return dict(totals)


def test_a_sale_pays_its_fixed_amount_in_its_month(tree: factories.Tree, tmp_path: Path) -> None:
    # given a rule paying 50 a 号卡 and one sale in June
    world = World(tree, tmp_path)
    world.rules(FIXED_50)
    world.sale("A1", "2024-06-03", subscriber="U1")
    world.put()
    # when June is computed
    world.run("2024-06")
    # then the store's statement pays 50 on activation, traced to the sale and the rule
    statement = world.statement("2024-06")
    assert statement is not None
    assert statement.total == D("50.00")
    (line,) = world.lines("2024-06")
    assert (line["sale_id"], line["kind"], line["amount"]) == ("A1", "upfront", D("50.00"))
    assert line["rule_set"] == "标准酬金"
    assert line["rule_version"] == 1
    assert line["due_amount"] == D("50.00")
    assert line["paid_before"] == D("0.00")


def test_the_deferred_part_waits_for_the_line_to_stay_and_early_churn_is_clawed_back(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given 100 a sale, 60% on activation and 40% after 3 months if still active, clawed
    # back on churn within 2 months; three January lines: one stays, one churns in February,
    # one churns in April (too late for clawback, too early for the deferred part)
    world = World(tree, tmp_path)
    world.rules(
        RuleTerms(
            product="号卡",
            fixed_amount=D("100"),
            upfront_share=D("0.6"),
            deferred_months=3,
            clawback_months=2,
        )
    )
    world.sale("A1", "2024-01-10", subscriber="U1")
    world.sale("A2", "2024-01-12", subscriber="U2")
    world.sale("A3", "2024-01-15", subscriber="U3")
    world.churn["U2"] = day("2024-02-20")
    world.churn["U3"] = day("2024-04-10")
    world.put()
    months = ["2024-01", "2024-02", "2024-03", "2024-04"]
    # when each month is computed and approved in turn
    for month in months:
        world.close(month)
    # then January pays 60 each, February takes A2's 60 back, April pays A1's deferred 40
    assert sorted(world.paying("2024-01")) == [
        ("A1", "upfront", "2024-01", D("60.00")),
        ("A2", "upfront", "2024-01", D("60.00")),
        ("A3", "upfront", "2024-01", D("60.00")),
    ]
    assert world.paying("2024-02") == [("A2", "clawback", "2024-02", D("-60.00"))]
    assert world.statement("2024-03") is None
    assert world.paying("2024-04") == [("A1", "deferred", "2024-04", D("40.00"))]
    assert _sum_by_sale(world, months) == {"A1": D("100"), "A2": D("0"), "A3": D("60")}


def test_a_share_of_the_first_months_revenue_is_paid_month_by_month(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given 10% of the first 3 months' revenue of a 5G plan sold in January
    world = World(tree, tmp_path)
    world.rules(RuleTerms(product="5G套餐", revenue_share=D("0.1"), revenue_months=3))
    world.sale("B1", "2024-01-20", product="5G套餐", subscriber="U5")
    world.usage.update(
        {
            ("U5", "2024-01"): 100.0,
            ("U5", "2024-02"): 120.0,
            ("U5", "2024-03"): 80.55,
            ("U5", "2024-04"): 90.0,
        }
    )
    world.put()
    # when January to April are closed
    for month in ["2024-01", "2024-02", "2024-03", "2024-04"]:
        world.close(month)
    # then each of the first three months pays its share, rounded to the fen, and April none
    assert world.paying("2024-01") == [("B1", "revenue_share", "2024-01", D("10.00"))]
    assert world.paying("2024-02") == [("B1", "revenue_share", "2024-02", D("12.00"))]
    assert world.paying("2024-03") == [("B1", "revenue_share", "2024-03", D("8.06"))]
    assert world.statement("2024-04") is None
    (line,) = world.lines("2024-03")
    assert line["arpu"] == D("80.55")
    assert line["revenue_share"] == D("0.1000")


def test_a_volume_tier_pays_every_sale_of_the_month_and_voided_sales_do_not_count(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given 50 a sale, 70 from the third sale of the month; S1 sells three in June, S2 three
    # with one refunded in June
    world = World(tree, tmp_path)
    world.rules(
        RuleTerms(
            product="号卡",
            fixed_amount=D("50"),
            tiers=(TierTerms(min_volume=3, fixed_amount=D("70")),),
        )
    )
    for n in range(3):
        world.sale(f"A{n}", f"2024-06-0{n + 1}")
        world.sale(f"B{n}", f"2024-06-0{n + 1}", store="S2")
    world.refund("R1", "2024-06-20", "B0")
    world.put()
    # when June is computed
    world.run("2024-06")
    # then S1 reached the tier (3 × 70) and S2 did not (2 × 50, the refunded sale earns none)
    s1, s2 = world.statement("2024-06", "S1"), world.statement("2024-06", "S2")
    assert s1 is not None
    assert s1.total == D("210.00")
    assert s2 is not None
    assert s2.total == D("100.00")
    assert {line["tier_from"] for line in world.lines("2024-06", "S1")} == {3}
    assert {line["volume"] for line in world.lines("2024-06", "S2")} == {2}


def test_refunds_and_reversals_net_out_the_sale_exactly_once(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given May sales paid in May's approved statement, then in June: a refund (A1), a
    # reversal and a refund of the reversed sale (A2), two refunds of one sale (A3), and a
    # refund in July of a sale refunded in June (A4); plus a sale refunded in its own month
    world = World(tree, tmp_path)
    world.rules(FIXED_50)
    for sale_id in ("A1", "A2", "A3", "A4"):
        world.sale(sale_id, "2024-05-10")
    world.sale("A5", "2024-06-02")
    world.put()
    world.close("2024-05")
    world.refund("R1", "2024-06-05", "A1")
    world.refund("X2", "2024-06-06", "A2", kind="冲正")
    world.refund("R2", "2024-06-07", "A2")
    world.refund("R3a", "2024-06-08", "A3")
    world.refund("R3b", "2024-06-09", "A3")
    world.refund("R4a", "2024-06-10", "A4")
    world.refund("R4b", "2024-07-03", "A4")
    world.refund("R5", "2024-06-04", "A5")
    world.refund("RR", "2024-06-11", "R1")  # names a refund, not a sale
    world.put()
    # when June and July are closed
    world.close("2024-06")
    world.close("2024-07")
    # then June takes each May sale's 50 back once, A5 earns nothing, and July moves no money
    june = world.paying("2024-06")
    assert sorted(june) == [
        ("A1", "reversal", "2024-06", D("-50.00")),
        ("A2", "reversal", "2024-06", D("-50.00")),
        ("A3", "reversal", "2024-06", D("-50.00")),
        ("A4", "reversal", "2024-06", D("-50.00")),
    ]
    reversal = next(line for line in world.lines("2024-06") if line["sale_id"] == "A2")
    assert (reversal["cancel_id"], reversal["cancel_kind"]) == ("X2", "冲正")
    assert world.paying("2024-07") == []
    # and the refunds that changed nothing are listed, not lost
    notes = {(line["kind"], line["cancel_id"]) for line in world.lines("2024-06")}
    assert {
        ("duplicate_cancel", "R2"),
        ("duplicate_cancel", "R3b"),
        ("unknown_original", "RR"),
    } <= notes
    assert ("duplicate_cancel", "R4b") in {
        (line["kind"], line["cancel_id"]) for line in world.lines("2024-07")
    }
    totals = _sum_by_sale(world, ["2024-05", "2024-06", "2024-07"])
    assert totals == {"A1": 0, "A2": 0, "A3": 0, "A4": 0}


def test_a_clawed_back_sale_that_is_then_refunded_is_not_taken_back_twice(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given a sale paid in May, its line churned in June (clawed back), refunded in July
    world = World(tree, tmp_path)
    world.rules(RuleTerms(product="号卡", fixed_amount=D("50"), clawback_months=3))
    world.sale("A1", "2024-05-10", subscriber="U1")
    world.churn["U1"] = day("2024-06-15")
    world.refund("R1", "2024-07-01", "A1")
    world.put()
    # when May to July are closed
    for month in ("2024-05", "2024-06", "2024-07"):
        world.close(month)
    # then the clawback took the 50 back and the refund takes nothing more
    assert world.paying("2024-06") == [("A1", "clawback", "2024-06", D("-50.00"))]
    assert world.paying("2024-07") == []
    assert _sum_by_sale(world, ["2024-05", "2024-06", "2024-07"]) == {"A1": 0}


def test_a_sale_no_rule_covers_is_listed_without_commission(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given a rule for 号卡 only, and a 终端 sold in June (a rule set published before it)
    world = World(tree, tmp_path)
    world.rules(FIXED_50)
    world.sale("T1", "2024-06-03", product="终端")
    world.put()
    # when June is computed
    result = world.run("2024-06")
    # then the statement lists the sale as earning nothing, and the run counts it
    (line,) = world.lines("2024-06")
    assert (line["kind"], line["amount"]) == ("no_rule", D("0.00"))
    assert result["unmatched_sales"] == 1
