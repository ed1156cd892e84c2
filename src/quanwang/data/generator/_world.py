"""The city the operator serves: org tree, grids, staff, stores, enterprises and plans."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from quanwang.data.generator import _arrow as ax
from quanwang.data.generator import _vocab as vocab
from quanwang.data.generator._arrow import Arr


def person_names(rng: np.random.Generator, female: Arr) -> Any:
    """Synthetic Chinese names: a common surname and one or two given characters."""
    rows = len(female)
    surnames = list(vocab.SURNAMES)
    weight = 1.0 / (np.arange(len(surnames)) + 4.0)
    surname = rng.choice(len(surnames), size=rows, p=weight / weight.sum())
    male_chars, female_chars = list(vocab.MALE_GIVEN), list(vocab.FEMALE_GIVEN)
    given = [*male_chars, *female_chars, ""]
    offset = np.where(female, len(male_chars), 0)
    count = np.where(female, len(female_chars), len(male_chars))
    first = offset + (rng.random(rows) * count).astype(np.int64)
    second = offset + (rng.random(rows) * count).astype(np.int64)
    second = np.where(rng.random(rows) < 0.3, len(given) - 1, second)  # a one-character name
    return ax.join(ax.pick(surnames, surname), ax.pick(given, first), ax.pick(given, second))


def plans_table() -> Any:
    plans = vocab.PLANS
    return ax.build(
        "plans",
        {
            "plan_id": [p.plan_id for p in plans],
            "name": [p.name for p in plans],
            "plan_type": [p.plan_type for p in plans],
            "monthly_fee": [float(p.fee) for p in plans],
            "data_gb": pa.array([p.data_gb for p in plans], pa.float64()),
            "voice_minutes": pa.array([p.voice for p in plans], pa.int64()),
            "is_5g": [p.is_5g for p in plans],
        },
    )


@dataclass
class Geography:
    county_codes: list[str]
    grid_ids: list[str]
    grid_county: Arr  # index into county_codes
    grid_type: Arr  # index into GRID_TYPES
    grid_lat: Arr
    grid_lon: Arr
    grid_radius: Arr
    grid_weight: Arr  # share of the population living there
    grid_coverage: Arr  # chance a 5G phone there is on 5G in a month
    grid_network_issue: Arr  # standardised network-quality problem score, higher is worse
    org_units: Any
    grids: Any
    staff: dict[str, Any]  # columns; "mobile" is filled in once numbers are drawn


def _largest_remainder(weights: Arr, total: int, minimum: int) -> Arr:
    spare = total - minimum * len(weights)
    share = weights / weights.sum() * spare
    counts = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: spare - counts.sum()]] += 1
    return counts + minimum


def _hexagon(lat: float, lon: float, radius: float, jitter: Arr, turn: float) -> str:
    points = []
    for corner in range(6):
        angle = turn + corner * np.pi / 3
        r = radius * jitter[corner]
        # A degree of longitude is shorter than a degree of latitude at 23°N.
        x = lon + r * np.cos(angle) / np.cos(np.radians(lat))
        y = lat + r * np.sin(angle)
        points.append(f"{x:.6f} {y:.6f}")
    points.append(points[0])
    return "POLYGON((" + ", ".join(points) + "))"


def build_geography(rng: np.random.Generator, subscribers: int) -> Geography:
    districts = vocab.DISTRICTS
    n_grids = int(np.clip(round(subscribers / 2500), 2 * len(districts), 3000))
    per_county = _largest_remainder(np.array([d.population for d in districts]), n_grids, minimum=2)
    grid_county = np.repeat(np.arange(len(districts)), per_county)
    ring = np.array([d.ring for d in districts])[grid_county]
    mix = np.array(vocab.GRID_TYPE_MIX)[ring]
    grid_type = (rng.random(n_grids)[:, None] > np.cumsum(mix, axis=1)).sum(axis=1)
    grid_type = np.minimum(grid_type, len(vocab.GRID_TYPES) - 1)
    spread = np.array(vocab.RING_SPREAD)[ring] * np.where(grid_type == 4, 1.3, 1.0)
    centre_lat = np.array([d.lat for d in districts])[grid_county]
    centre_lon = np.array([d.lon for d in districts])[grid_county]
    lat = centre_lat + np.clip(rng.normal(0, 1, n_grids), -2, 2) * spread
    lon = centre_lon + np.clip(rng.normal(0, 1, n_grids), -2, 2) * spread * 1.1
    radius = np.array(vocab.RING_GRID_RADIUS)[ring] * np.where(grid_type == 4, 2.0, 1.0)
    radius = radius * rng.uniform(0.8, 1.2, n_grids)
    type_people = np.array([1.2, 0.8, 0.7, 0.6, 0.6])[grid_type]
    county_people = (
        np.array([d.population for d in districts])[grid_county] / per_county[grid_county]
    )
    weight = county_people * type_people * rng.lognormal(0.0, 0.5, n_grids)
    coverage = np.clip(
        np.array(vocab.GRID_5G_COVERAGE)[grid_type] + rng.normal(0, 0.04, n_grids), 0.3, 0.99
    )
    network_issue = rng.normal(0, 1, n_grids) + np.where(grid_type == 4, 0.8, 0.0)
    network_issue = (network_issue - network_issue.mean()) / network_issue.std()

    county_codes = [f"GD-GZ-{d.code}" for d in districts]
    within = np.arange(n_grids) - np.repeat(np.cumsum(per_county) - per_county, per_county)
    grid_ids = [f"{county_codes[c]}-{k + 1:03d}" for c, k in zip(grid_county, within, strict=True)]
    grid_names = [
        f"{districts[c].name}{vocab.GRID_TYPES[t]}网格{k + 1:02d}"
        for c, t, k in zip(grid_county, grid_type, within, strict=True)
    ]
    wkt = [
        _hexagon(lat[g], lon[g], radius[g], rng.uniform(0.85, 1.15, 6), rng.uniform(0, np.pi / 3))
        for g in range(n_grids)
    ]

    # The org tree: 集团/省 → 地市 → 区县 → 网格; each grid's org unit code is its grid_id.
    codes = ["GD", "GD-GZ", *county_codes, *grid_ids]
    names = ["广东省公司", f"{vocab.CITY}市分公司", *[f"{d.name}区分公司" for d in districts]]
    names += grid_names
    levels = ["group", "city", *["county"] * len(districts), *["grid"] * n_grids]
    parents: list[str | None] = [None, "GD", *["GD-GZ"] * len(districts)]
    parents += [county_codes[c] for c in grid_county]
    org_units = ax.build(
        "org_units", {"code": codes, "name": names, "level": levels, "parent_code": parents}
    )

    # Staff fill every org unit; a grid's first staff member is its manager (网格长).
    staff_unit: list[str] = []
    staff_title: list[str] = []
    manager_of: dict[str, int] = {}
    extra = rng.integers(1, 3, n_grids)
    fitter = rng.random(n_grids) < 0.6
    for code, level in zip(codes, levels, strict=True):
        titles = list(vocab.STAFF_TITLES[level])
        if level == "grid":
            g = len(manager_of)
            manager_of[code] = len(staff_unit)
            titles = ["网格长"] + ["网格客户经理"] * int(extra[g]) + ["装维工程师"] * int(fitter[g])
        staff_unit += [code] * len(titles)
        staff_title += titles
    n_staff = len(staff_unit)
    employee_numbers = [f"E{100001 + k}" for k in range(n_staff)]
    staff = {
        "employee_no": employee_numbers,
        "name": person_names(rng, rng.random(n_staff) < 0.45),
        "title": staff_title,
        "org_unit_code": staff_unit,
    }
    grids = ax.build(
        "grids",
        {
            "grid_id": grid_ids,
            "name": grid_names,
            "grid_type": [vocab.GRID_TYPES[t] for t in grid_type],
            "county_code": [county_codes[c] for c in grid_county],
            "manager_employee_no": [employee_numbers[manager_of[g]] for g in grid_ids],
            "centroid_lat": np.round(lat, 6),
            "centroid_lon": np.round(lon, 6),
            "boundary_wkt": wkt,
        },
    )
    return Geography(
        county_codes=county_codes,
        grid_ids=grid_ids,
        grid_county=grid_county,
        grid_type=grid_type,
        grid_lat=lat,
        grid_lon=lon,
        grid_radius=radius,
        grid_weight=weight / weight.sum(),
        grid_coverage=coverage,
        grid_network_issue=network_issue,
        org_units=org_units,
        grids=grids,
        staff=staff,
    )


def _by_weight(rng: np.random.Generator, weight: Arr, rows: int) -> Arr:
    cumulative = np.cumsum(weight)
    return np.minimum(
        np.searchsorted(cumulative, rng.random(rows) * cumulative[-1], side="right"),
        len(weight) - 1,
    )


@dataclass
class Stores:
    grid: Arr
    grade: Arr
    store_type: Arr
    table: Any
    stage: Arr = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # -1: own hall


def build_stores(rng: np.random.Generator, geo: Geography, subscribers: int) -> Stores:
    rows = max(10, subscribers // 1000)
    draw_weight = geo.grid_weight * np.array([2.0, 1.0, 1.0, 0.7, 0.5])[geo.grid_type]
    grid = _by_weight(rng, draw_weight, rows)
    store_type = rng.choice(len(vocab.STORE_TYPES), size=rows, p=vocab.STORE_TYPE_P)
    store_type[0] = 0  # the city's flagship hall: every operator has at least one own hall
    grade = np.where(
        store_type == 0,
        np.where(rng.random(rows) < 0.7, 0, 1),
        rng.choice(3, size=rows, p=(0.10, 0.35, 0.55)),
    )
    # Within half a radius each way (at most 0.5·√2 ≈ 0.71 radii off centre), so inside the
    # grid's hexagon, which holds the circle of 0.736 radii (see _channels.INSIDE_RADIUS).
    lat = geo.grid_lat[grid] + rng.uniform(-0.5, 0.5, rows) * geo.grid_radius[grid]
    lon = geo.grid_lon[grid] + rng.uniform(-0.5, 0.5, rows) * geo.grid_radius[grid] / np.cos(
        np.radians(geo.grid_lat[grid])
    )
    district = [f"{d.name}区" for d in vocab.DISTRICTS]
    number = pa.array(rng.integers(1, 400, rows)).cast(pa.string())
    name = ax.join(
        ax.pick(district, geo.grid_county[grid]),
        ax.pick(vocab.ROADS, rng.integers(0, len(vocab.ROADS), rows)),
        number,
        ax.constant("号", rows),
        ax.pick(vocab.STORE_SUFFIX, store_type),
    )
    table = ax.build(
        "stores",
        {
            "store_id": ax.digits("ST", np.arange(1, rows + 1), 6),
            "name": name,
            "store_type": ax.pick(vocab.STORE_TYPES, store_type),
            "grade": ax.pick(vocab.STORE_GRADES, grade),
            "lat": np.round(lat, 6),
            "lon": np.round(lon, 6),
            "grid_id": ax.pick(geo.grid_ids, grid),
            "owner_name": pa.nulls(rows, pa.string()),
            "contact_msisdn": pa.nulls(rows, pa.string()),
            "partner_stage": pa.nulls(rows, pa.string()),
            "opened_date": pa.nulls(rows, pa.date32()),
        },
    )
    return Stores(grid=grid, grade=grade, store_type=store_type, table=table)


@dataclass
class Enterprises:
    grid: Arr
    size: Arr
    table: Any


def build_enterprises(rng: np.random.Generator, geo: Geography, subscribers: int) -> Enterprises:
    rows = max(5, subscribers // 100)
    draw_weight = geo.grid_weight * np.array([1.0, 3.0, 0.5, 3.0, 0.3])[geo.grid_type]
    grid = _by_weight(rng, draw_weight, rows)
    industry_p = np.array([share for _, _, share in vocab.INDUSTRIES])
    industry = rng.choice(len(vocab.INDUSTRIES), size=rows, p=industry_p / industry_p.sum())
    size = np.minimum(np.round(8 + (rng.pareto(1.1, rows)) * 15), 50000).astype(np.int64)
    rank = np.argsort(np.argsort(-size, kind="stable"), kind="stable") / rows
    grade = np.where(rank < 0.1, 0, np.where(rank < 0.4, 1, 2))
    words = list(vocab.FIRM_WORDS)
    name = ax.join(
        ax.constant(vocab.CITY, rows),
        ax.pick(words, rng.integers(0, len(words), rows)),
        ax.pick(words, rng.integers(0, len(words), rows)),
        ax.pick([suffix for _, suffix, _ in vocab.INDUSTRIES], industry),
    )
    table = ax.build(
        "enterprises",
        {
            "enterprise_id": ax.digits("ENT", np.arange(1, rows + 1), 6),
            "name": name,
            "industry": ax.pick([label for label, _, _ in vocab.INDUSTRIES], industry),
            "size": size,
            "grid_id": ax.pick(geo.grid_ids, grid),
            "grade": ax.pick(("A", "B", "C"), grade),
            "account_manager_employee_no": account_managers(geo, grid=grid, size=size),
            "lat": pa.nulls(rows, pa.float64()),
            "lon": pa.nulls(rows, pa.float64()),
            # Filled by generator._accounts, from draws of its own.
            "parent_enterprise_id": pa.nulls(rows, pa.string()),
            "credit_code": pa.nulls(rows, pa.string()),
            "status": pa.nulls(rows, pa.string()),
        },
    )
    return Enterprises(grid=grid, size=size, table=table)


def account_managers(geo: Geography, *, grid: Arr, size: Arr) -> list[str | None]:
    """Each enterprise's account manager: one of the 政企客户经理 of its grid's county, dealt
    in turn over the county's enterprises from the largest down (ties by enterprise), so every
    manager has as many accounts (±1) and a like share of the large ones. No draw is made:
    the other columns are what they were before the column existed. None in a county
    without such staff."""
    by_county: dict[str, list[str]] = {}
    for number, title, unit in zip(
        geo.staff["employee_no"], geo.staff["title"], geo.staff["org_unit_code"], strict=True
    ):
        if title == vocab.ACCOUNT_MANAGER_TITLE:
            by_county.setdefault(unit, []).append(number)
    county = geo.grid_county[grid]
    order = np.lexsort((np.arange(len(grid)), -size, county))
    chosen: list[str | None] = [None] * len(grid)
    dealt: dict[int, int] = {}
    for row in order:
        managers = by_county.get(geo.county_codes[county[row]], [])
        turn = dealt.get(int(county[row]), 0)
        dealt[int(county[row])] = turn + 1
        chosen[row] = managers[turn % len(managers)] if managers else None
    return chosen
