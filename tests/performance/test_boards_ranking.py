"""The ranking rule of the boards: competition ranking, direction, unranked last, 龙榜/虎榜."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from quanwang.performance.boards import ranking
from quanwang.performance.choices import Direction


def test_ties_share_a_rank_and_the_next_rank_skips() -> None:
    # given two entries with equal scores
    scores = [("a", 10.0), ("b", 8.0), ("c", 8.0), ("d", 5.0)]
    # when ranked
    ranked = ranking.rank(scores)
    # then 1, 2, 2, 4
    assert [(r.key, r.rank) for r in ranked] == [("a", 1), ("b", 2), ("c", 2), ("d", 4)]


def test_lower_is_better_ranks_the_smallest_first() -> None:
    # given a churn rate (lower is better)
    scores = [("a", 0.05), ("b", 0.01), ("c", 0.03)]
    # when ranked by its direction
    ranked = ranking.rank(scores, direction=Direction.LOWER)
    # then the smallest is first
    assert [r.key for r in ranked] == ["b", "c", "a"]


def test_no_value_is_last_and_unranked() -> None:
    # given one entry without a figure
    ranked = ranking.rank([("a", None), ("b", 1.0), ("c", float("nan"))])
    # then it is listed last with no rank
    assert [(r.key, r.rank) for r in ranked] == [("b", 1), ("a", None), ("c", None)]
    assert ranking.ranked_count(ranked) == 1


def test_top_and_bottom_show_every_tie_at_the_edge() -> None:
    # given a tie on the 2nd place and one on the last place
    ranked = ranking.rank([("a", 9.0), ("b", 7.0), ("c", 7.0), ("d", 1.0), ("e", 1.0), ("f", None)])
    # when the top 2 and the bottom 1 are taken
    best = ranking.top(ranked, 2)
    worst = ranking.bottom(ranked, 1)
    # then the ties come along, the bottom worst first, and the unranked stays off both
    assert [r.key for r in best] == ["a", "b", "c"]
    assert sorted(r.key for r in worst) == ["d", "e"]
    assert "f" not in {r.key for r in best + worst}


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.integers(min_value=-50, max_value=50).map(float)),
        min_size=0,
        max_size=25,
    ),
    st.sampled_from(list(Direction)),
)
def test_ranking_invariants(values: list[float | None], direction: Direction) -> None:
    # given any scores
    scores = [(f"k{i:02d}", v) for i, v in enumerate(values)]
    # when ranked
    ranked = ranking.rank(scores, direction=direction)
    valued = [r for r in ranked if r.rank is not None]
    # then every key is listed once, the valued first
    assert sorted(r.key for r in ranked) == sorted(k for k, _ in scores)
    assert all(r.rank is None for r in ranked[len(valued) :])
    # and a rank is 1 + the number of strictly better scores (competition ranking)
    for r in valued:
        assert r.score is not None
        better = sum(
            1
            for o in valued
            if o.score is not None
            and (o.score > r.score if direction is Direction.HIGHER else o.score < r.score)
        )
        assert r.rank == better + 1
