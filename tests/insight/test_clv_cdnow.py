"""The prepaid CLV input path reproduces the textbook: Fader & Hardie's CDNOW sample, given as
a raw purchase log, gives their published BG/NBD and Gamma-Gamma parameters; and the CLV
figure discounts as docs/insight.md says."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanwang.insight.choices import Engine
from quanwang.insight.clv import (
    BGNBD,
    SBG,
    ClvFits,
    FitError,
    GammaGamma,
    TimeUnit,
    customer_clv,
    fit_bgnbd,
    fit_prepaid,
    recharge_inputs,
    transaction_summary,
)
from quanwang.insight.engines import connect, register
from quanwang.insight.months import Month
from tests import factories
from tests.insight.conftest import subscriber

pytestmark = pytest.mark.warehouse_only

CDNOW = Path(__file__).parent / "fixtures" / "cdnow_sample.txt.gz"
CALIBRATION = Month(1997, 9)  # 1997-01-01 … 1997-09-30, 39 weeks

# Fader, Hardie & Lee (2005), "Counting your customers the easy way", and Fader & Hardie
# (2013), "The Gamma-Gamma model of monetary value", both on this sample.
BGNBD_PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GAMMA_GAMMA_PUBLISHED = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def _cdnow_files(tmp_path: Path) -> dict[str, Any]:
    """The CDNOW log as the warehouse would hold it: each purchase a recharge, each customer
    a prepaid subscriber."""
    recharges, customers = [], set()
    with gzip.open(CDNOW, "rt", encoding="ascii") as log:
        for number, line in enumerate(log):
            _master, customer, day, _cds, dollars = line.split()
            customers.add(customer)
            recharges.append(
                {
                    "recharge_id": str(number),
                    "subscriber_id": customer,
                    "recharge_date": dt.datetime.strptime(day, "%Y%m%d").date(),
                    "amount": float(dollars),
                }
            )
    subscribers = [subscriber(c, payment_type="prepaid") for c in sorted(customers)]
    return factories.canonical_files(tmp_path, subscribers=subscribers, recharges=recharges)


def test_the_cdnow_log_through_the_pipelines_input_path_gives_the_published_parameters(
    tmp_path: Path,
) -> None:
    # Given the CDNOW sample's purchases as a raw log in the warehouse's shape
    tables = register(connect(Engine.DUCKDB), _cdnow_files(tmp_path))

    # When the pipeline's input path summarises the months to September 1997 and fits
    inputs = recharge_inputs(tables["recharges"], tables["subscribers"], CALIBRATION)
    summary = inputs.order_by("subscriber_id").to_pyarrow()
    bgnbd, gamma_gamma = fit_prepaid(summary)

    # Then the summary is Fader & Hardie's (2,357 customers, 2,457 repeat purchases on
    # distinct days, 946 customers with one) and so are the fits, within 1%
    x = np.asarray(summary["x"])
    assert (summary.num_rows, x.sum(), (x > 0).sum()) == (2_357, 2_457, 946)
    assert np.asarray(summary["age"]).max() == pytest.approx(272 / 7)  # 1 Jan – 30 Sep
    assert bgnbd is not None
    assert gamma_gamma is not None
    for name, published in BGNBD_PUBLISHED.items():
        assert getattr(bgnbd, name) == pytest.approx(published, rel=0.01), bgnbd
    for name, published in GAMMA_GAMMA_PUBLISHED.items():
        assert getattr(gamma_gamma, name) == pytest.approx(published, rel=0.01), gamma_gamma


def _summarise(rows: list[tuple[str, dt.date, float]], unit: TimeUnit) -> dict[str, Any]:
    log = ibis.memtable(
        pa.table(
            {
                "customer": [r[0] for r in rows],
                "day": pa.array([r[1] for r in rows], pa.date32()),
                "amount": [r[2] for r in rows],
            }
        )
    )
    summary = transaction_summary(
        log,
        start=dt.date(2024, 1, 1),
        end=dt.date(2024, 1, 31),
        unit=unit,
        customer="customer",
        day="day",
        amount="amount",
    ).to_pyarrow()
    return {row["customer"]: row for row in summary.to_pylist()}


def test_same_day_purchases_are_one_and_the_first_is_left_out_of_the_mean() -> None:
    # Given A buying twice on 1 January (10 + 5), then 20 on the 8th and 40 on the 15th;
    # B twice on one day; C on 5 February, after the period
    day = dt.date
    rows = [
        ("A", day(2024, 1, 1), 10.0),
        ("A", day(2024, 1, 1), 5.0),
        ("A", day(2024, 1, 8), 20.0),
        ("A", day(2024, 1, 15), 40.0),
        ("B", day(2024, 1, 3), 7.0),
        ("B", day(2024, 1, 3), 8.0),
        ("C", day(2024, 2, 5), 9.0),
    ]

    # When the log of January is summarised in weeks and in days
    weeks, days = _summarise(rows, TimeUnit.WEEK), _summarise(rows, TimeUnit.DAY)

    # Then A made 2 repeat purchases averaging 30, 2 weeks after the first, 30 days before
    # the end; B none; C is not in January
    assert weeks["A"] | {"customer": None} == {
        "customer": None, "x": 2.0, "t_x": 2.0, "age": 30 / 7, "mean_repeat_spend": 30.0,
    }  # fmt: skip
    assert (days["A"]["t_x"], days["A"]["age"]) == (14.0, 30.0)
    assert (weeks["B"]["x"], weeks["B"]["t_x"], weeks["B"]["mean_repeat_spend"]) == (0, 0, 0)
    assert set(weeks) == {"A", "B"}


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C"]),
            st.integers(0, 30),
            st.integers(1, 500).map(float),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_a_summary_accounts_for_every_day_and_every_yuan(
    purchases: list[tuple[str, int, float]],
) -> None:
    # Given any purchases in January
    rows = [(c, dt.date(2024, 1, 1) + dt.timedelta(days=d), v) for c, d, v in purchases]

    # When summarised in days
    summary = _summarise(rows, TimeUnit.DAY)

    # Then per customer: x + 1 distinct days, t_x ≤ T, and the first day's amount plus the
    # repeat purchases' total is everything the customer spent
    for customer, row in summary.items():
        mine = [(d, v) for c, d, v in rows if c == customer]
        days = sorted({d for d, _v in mine})
        first_day = sum(v for d, v in mine if d == days[0])
        assert row["x"] == len(days) - 1
        assert row["t_x"] == (days[-1] - days[0]).days <= row["age"] == (31 - days[0].day)
        assert first_day + row["x"] * row["mean_repeat_spend"] == pytest.approx(
            sum(v for _d, v in mine)
        )


def _clv(fits: ClvFits, *, postpaid: dict[str, float], prepaid: dict[str, Any]) -> list[float]:
    ids = [*postpaid, *prepaid]
    wide = pa.table(
        {
            "subscriber_id": ids,
            "arpu_3m": [100.0] * len(ids),
            "is_prepaid": [sid in prepaid for sid in ids],
        }
    )
    retention = pa.table(
        {
            "subscriber_id": pa.array(list(postpaid), pa.string()),
            "ended": pa.array(list(postpaid.values()), pa.float64()),
            "cohort": pa.array([2020] * len(postpaid), pa.int64()),
        }
    )
    recharges = pa.table(
        {"subscriber_id": pa.array(list(prepaid), pa.string())}
        | {
            name: pa.array([h[i] for h in prepaid.values()], pa.float64())
            for i, name in enumerate(("x", "t_x", "age", "mean_repeat_spend"))
        }
    )
    return [float(v) for v in customer_clv(fits, wide, retention, recharges)]


# Σ_{k=1..12} 1.01^-k: each month's cash at its end, the first month discounted too.
ANNUITY = sum(1.01**-k for k in range(1, 13))


def test_postpaid_clv_is_arpu_times_each_months_survival_discounted_from_the_first() -> None:
    # Given sBG(α=1, β=1), where P(still here after t months) = 1 / (1 + t), and a customer
    # with ARPU 100 one month in
    fits = ClvFits(
        sbg_by_cohort={}, sbg_pooled=SBG(alpha=1.0, beta=1.0), bgnbd=None, gamma_gamma=None
    )

    # When the CLV is computed
    [clv] = _clv(fits, postpaid={"P": 1.0}, prepaid={})

    # Then it is 100 × Σ_{k=1..12} S(1 + k) / S(1) / 1.01^k, with S(1 + k) / S(1) = 2 / (2 + k)
    # (= 100 × (2/3 / 1.01 + 2/4 / 1.01² + … + 2/14 / 1.01¹²) = ¥333.99)
    assert clv == pytest.approx(100 * sum(2 / (2 + k) / 1.01**k for k in range(1, 13)))
    assert clv == pytest.approx(333.99, abs=0.01)


def test_prepaid_clv_is_each_months_recharges_discounted_times_the_expected_amount() -> None:
    # Given BG/NBD with practically no drop-out (p ~ Beta(2, 10^7)), where a customer's
    # expected rate is (r + x) / (α + T) a week, and Gamma-Gamma(p=2, q=3, γ=10)
    fits = ClvFits(
        sbg_by_cohort={},
        sbg_pooled=SBG(alpha=1.0, beta=1.0),
        bgnbd=BGNBD(r=2.0, alpha=4.0, a=2.0, b=1e7),
        gamma_gamma=GammaGamma(p=2.0, q=3.0, gamma=10.0),
    )

    # When the CLV of a customer with no repeat in 10 weeks, and of one with 3 repeats
    # averaging ¥50, the last at the end of the 10 weeks, is computed
    new, regular = _clv(
        fits, postpaid={}, prepaid={"N": (0.0, 0.0, 10.0, 0.0), "R": (3.0, 10.0, 10.0, 50.0)}
    )

    # Then each is Σ_k (recharges in month k = 52/12 weeks) / 1.01^k × expected amount:
    # N: 2/14 a week × γp/(q−1) = ¥10; R: 5/14 a week × (γ + 3·50)·p / (3p + q − 1) = ¥40
    month = 52 / 12
    assert new == pytest.approx(2 / 14 * month * ANNUITY * 10.0, rel=1e-5)
    assert regular == pytest.approx(5 / 14 * month * ANNUITY * 40.0, rel=1e-5)


def test_recharges_without_heterogeneity_or_drop_out_fit_no_bgnbd_rather_than_noise() -> None:
    # Given 5,000 customers who all recharge at one Poisson rate (0.5 a week) and never stop,
    # whose likelihood has its maximum at infinity
    rng = np.random.default_rng(20241)
    counts = rng.poisson(0.5 * 39, 5_000)
    summary = {
        "x": counts.astype(np.float64),
        "t_x": np.array([rng.uniform(0, 39, k).max() if k else 0.0 for k in counts]),
        "age": np.full(counts.size, 39.0),
        "mean_repeat_spend": np.full(counts.size, 20.0),
    }

    # When the prepaid models are fitted
    with pytest.raises(FitError, match="ran off"):
        fit_bgnbd(x=summary["x"], t_x=summary["t_x"], age=summary["age"])
    fitted = fit_prepaid(summary)

    # Then there is no prepaid model (the snapshot has no prepaid CLV) instead of NaN or 0s
    assert fitted == (None, None)
