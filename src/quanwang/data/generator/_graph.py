"""The call graph: who talks to whom, fixed at the start; each month a share of the ties is used."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quanwang.data.generator import _vocab as vocab
from quanwang.data.generator._arrow import Arr
from quanwang.data.generator._population import Population

# By tie kind: family, enterprise, grid (neighbours), random, off-net private, off-net shared.
TIE_ACTIVE = np.array([0.58, 0.36, 0.35, 0.35, 0.57, 0.6])
TIE_CALLS = np.array([10.0, 5.0, 3.0, 2.0, 3.0, 4.0])
OFFNET_TIES_PER_SHARE = 5.0  # expected off-net ties = this × the subscriber's off-net share
SHARED_OFFNET = 0.3  # share of off-net ties that go to a number several of ours talk to
SHARED_FANOUT = 4.0  # our subscribers per shared off-net number, on average


@dataclass
class Ties:
    a: Arr  # on-net ties, a < b, row indices
    b: Arr
    kind: Arr
    off_owner: Arr  # off-net ties: our subscriber ...
    off_peer: Arr  # ... and the competitor number (index into the competitor pool)
    off_kind: Arr
    n_competitor: int
    competitor_operator: Arr  # 1..4, index into OPERATORS


def _pairs_within(order: Arr, group: Arr, offsets: tuple[int, ...]) -> tuple[Arr, Arr]:
    """Pairs (order[j], order[j + d]) whose group is the same, for each offset d."""
    left, right = [], []
    g = group[order]
    for d in offsets:
        same = g[:-d] == g[d:]
        left.append(order[:-d][same])
        right.append(order[d:][same])
    return np.concatenate(left), np.concatenate(right)


def build_ties(rng: np.random.Generator, pop: Population) -> Ties:
    mobile = np.flatnonzero(pop.is_mobile)
    n = len(mobile)
    shuffle = rng.random(pop.capacity)
    parts_a, parts_b, parts_kind = [], [], []

    def add(a: Arr, b: Arr, kind: int) -> None:
        keep = a != b
        parts_a.append(a[keep])
        parts_b.append(b[keep])
        parts_kind.append(np.full(int(keep.sum()), kind, dtype=np.int8))

    by_family = mobile[np.lexsort((shuffle[mobile], pop.family[mobile]))]
    add(*_pairs_within(by_family, pop.family, (1, 2, 3, 4)), 0)
    members = mobile[pop.enterprise[mobile] >= 0]
    by_enterprise = members[np.lexsort((shuffle[members], pop.enterprise[members]))]
    add(*_pairs_within(by_enterprise, pop.enterprise, (1, 2)), 1)
    by_grid = mobile[np.lexsort((shuffle[mobile], pop.grid[mobile]))]
    for offset, chance in ((1, 0.5), (2, 0.25)):
        a, b = _pairs_within(by_grid, pop.grid, (offset,))
        near = rng.random(len(a)) < chance
        add(a[near], b[near], 2)
    k = int(0.15 * n)
    add(mobile[rng.integers(0, n, k)], mobile[rng.integers(0, n, k)], 3)

    a = np.concatenate(parts_a)
    b = np.concatenate(parts_b)
    kind = np.concatenate(parts_kind)
    low, high = np.minimum(a, b), np.maximum(a, b)
    _, first = np.unique(low * pop.capacity + high, return_index=True)
    a, b, kind = low[first], high[first], kind[first]

    # Off-net ties: private numbers, and numbers in a grid-local pool that several of our
    # subscribers talk to (a competitor's user with many of ours in their circle).
    count = rng.poisson(OFFNET_TIES_PER_SHARE * pop.offnet[mobile])
    owner = np.repeat(mobile, count)
    shared = rng.random(len(owner)) < SHARED_OFFNET
    grid = pop.grid[owner]
    n_grids = int(pop.grid.max()) + 1
    pool = np.maximum(
        1, np.ceil(np.bincount(grid[shared], minlength=n_grids) / SHARED_FANOUT)
    ).astype(np.int64)
    pool_start = np.cumsum(pool) - pool
    n_shared = int(pool.sum())
    peer = np.empty(len(owner), dtype=np.int64)
    picks = (rng.random(int(shared.sum())) * pool[grid[shared]]).astype(np.int64)
    peer[shared] = pool_start[grid[shared]] + picks
    n_private = int((~shared).sum())
    peer[~shared] = n_shared + np.arange(n_private)
    n_competitor = n_shared + n_private
    _, first = np.unique(owner * n_competitor + peer, return_index=True)
    share = np.array(vocab.COMPETITOR_SHARE[1:])
    operator = 1 + rng.choice(4, size=n_competitor, p=share / share.sum())
    return Ties(
        a=a.astype(np.int64),
        b=b.astype(np.int64),
        kind=kind,
        off_owner=owner[first].astype(np.int64),
        off_peer=peer[first],
        off_kind=np.where(shared[first], 5, 4).astype(np.int8),
        n_competitor=n_competitor,
        competitor_operator=operator.astype(np.int8),
    )
