"""The synthetic operator: exact schema, keys, references, realism figures and ground truth.

One 20k-subscriber × 6-month operator is generated per module run; the realism bounds are the
published operator figures the generator is calibrated to, with room for sampling noise.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from quanwang.data.arrow import table_schema
from quanwang.data.generator import GeneratorConfig, generate, msisdn_hash, wechat_openids
from quanwang.data.schema import TABLES

SUBSCRIBERS, MONTHS, SEED = 20_000, 6, 20240101


class Sql:
    """Queries over the generated Parquet files through DuckDB."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def __call__(self, query: str) -> Any:
        """The one row a query returns: its single value, or the tuple of its values."""
        rows = self.con.sql(query).fetchall()
        assert len(rows) == 1
        return rows[0][0] if len(rows[0]) == 1 else rows[0]

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        return self.con.sql(query).fetchall()

    def values(self, query: str) -> set[Any]:
        return {row[0] for row in self.rows(query)}

    def count(self, table: str, where: str) -> int:
        return int(self(f"SELECT count(*) FROM {table} WHERE {where}"))


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("operator")
    generate(GeneratorConfig(subscribers=SUBSCRIBERS, months=MONTHS, seed=SEED), out)
    return out


@pytest.fixture(scope="module")
def sql(operator: Path) -> Sql:
    con = duckdb.connect()
    for name in TABLES:
        con.sql(f"CREATE VIEW {name} AS SELECT * FROM '{operator / name}.parquet'")
    for name in ("churn_hazard", "treatment_effects"):
        con.sql(f"CREATE VIEW {name} AS SELECT * FROM '{operator}/ground_truth/{name}.parquet'")
    con.sql(f"CREATE VIEW staff AS SELECT * FROM '{operator}/extra/staff.parquet'")
    con.sql(
        "CREATE VIEW mobile AS SELECT s.*, p.plan_type, p.is_5g FROM subscribers s "
        "JOIN plans p USING (plan_id) WHERE p.plan_type IN ('prepaid', 'postpaid', 'bundle')"
    )
    con.sql(
        "CREATE VIEW onnet AS SELECT c.*, a.grid_id AS grid_a, b.grid_id AS grid_b, "
        "a.family_id AS family_a, b.family_id AS family_b FROM contacts c "
        "JOIN subscribers a USING (subscriber_id) "
        "JOIN subscribers b ON sha256(b.msisdn) = c.peer_hash WHERE c.peer_operator = '本网'"
    )
    return Sql(con)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.*"))}


# -- determinism --------------------------------------------------------------------------


def test_the_same_seed_writes_byte_identical_files(tmp_path: Path) -> None:
    # Given one configuration
    config = GeneratorConfig(subscribers=1500, months=2, seed=7)

    # When it is generated twice
    generate(config, tmp_path / "a")
    generate(config, tmp_path / "b")

    # Then every file is the same, byte for byte
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_another_seed_writes_other_data(tmp_path: Path) -> None:
    # Given two seeds
    # When each is generated
    generate(GeneratorConfig(subscribers=1500, months=2, seed=7), tmp_path / "a")
    generate(GeneratorConfig(subscribers=1500, months=2, seed=8), tmp_path / "b")

    # Then the subscribers differ
    a = (tmp_path / "a" / "subscribers.parquet").read_bytes()
    assert a != (tmp_path / "b" / "subscribers.parquet").read_bytes()


# -- the schema contract ------------------------------------------------------------------


def test_every_table_has_exactly_the_schemas_columns_and_types(operator: Path) -> None:
    # Given a generated operator
    for name in TABLES:
        # When a table's Parquet schema is read
        schema = pq.read_schema(operator / f"{name}.parquet")

        # Then its columns, their order and their types are the canonical table's
        expected = table_schema(name)
        assert schema.names == expected.names, name
        assert [f.type for f in schema] == [f.type for f in expected], name


def test_every_table_has_rows_and_required_columns_are_filled(sql: Sql) -> None:
    # Given every canonical table
    for name, table in TABLES.items():
        # Then it has rows, and no nulls where the schema requires a value
        assert sql(f"SELECT count(*) FROM {name}") > 0, name
        for column in table.columns:
            if column.required:
                assert sql.count(name, f"{column.name} IS NULL") == 0, f"{name}.{column.name}"


def test_values_respect_the_schemas_choices_and_minimums(sql: Sql) -> None:
    # Given every column with choices or a minimum
    for name, table in TABLES.items():
        for column in table.columns:
            # Then no value breaks them
            if column.choices:
                allowed = ", ".join(f"'{choice}'" for choice in column.choices)
                bad = sql.count(name, f"{column.name} NOT IN ({allowed})")
                assert bad == 0, f"{name}.{column.name}"
            if column.minimum is not None:
                bad = sql.count(name, f"{column.name} < {column.minimum}")
                assert bad == 0, f"{name}.{column.name}"


def test_keys_are_unique(sql: Sql) -> None:
    # Given each table's key
    for name, table in TABLES.items():
        key = ", ".join(table.key)

        # Then no two rows share it
        rows = sql(f"SELECT count(*) FROM {name}")
        assert sql(f"SELECT count(*) FROM (SELECT DISTINCT {key} FROM {name})") == rows, name


def test_every_reference_resolves(sql: Sql) -> None:
    # Given every column that the schema says references another table
    for name, table in TABLES.items():
        for column in table.columns:
            if column.references is None:
                continue
            target, target_column = column.references

            # Then each of its values exists there
            missing = sql.count(
                name,
                f"{column.name} IS NOT NULL AND {column.name} NOT IN "
                f"(SELECT {target_column} FROM {target})",
            )
            assert missing == 0, f"{name}.{column.name} → {target}.{target_column}"


def test_the_org_tree_runs_from_group_to_grids(sql: Sql) -> None:
    # Given the org units
    levels = dict(sql.rows("SELECT level, count(*) FROM org_units GROUP BY 1"))

    # Then there is one group over cities, counties and one grid unit per grid
    assert levels["group"] == 1
    assert levels["city"] >= 1
    assert levels["county"] >= 1
    assert levels["grid"] == sql("SELECT count(*) FROM grids")
    assert sql.count("org_units", "parent_code NOT IN (SELECT code FROM org_units)") == 0


def test_grid_org_units_are_the_grids_under_their_county(sql: Sql) -> None:
    # Given the grids and the org units of level grid
    # Then each grid's code is an org unit whose parent is the grid's county
    mismatched = sql(
        "SELECT count(*) FROM grids g LEFT JOIN org_units o ON o.code = g.grid_id "
        "WHERE o.level IS DISTINCT FROM 'grid' OR o.parent_code IS DISTINCT FROM g.county_code"
    )
    assert mismatched == 0
    assert sql.values("SELECT DISTINCT grid_type FROM grids") >= {"沿街", "园区"}


def test_staff_fill_the_org_tree_and_manage_the_grids(sql: Sql) -> None:
    # Given the staff file
    # Then every org unit has staff, and each grid's manager is its 网格长
    assert sql.count("org_units", "code NOT IN (SELECT org_unit_code FROM staff)") == 0
    unmanaged = sql(
        "SELECT count(*) FROM grids g LEFT JOIN staff s "
        "ON s.employee_no = g.manager_employee_no AND s.org_unit_code = g.grid_id "
        "AND s.title = '网格长' WHERE s.employee_no IS NULL"
    )
    assert unmanaged == 0


def test_places_lie_around_guangzhou(sql: Sql) -> None:
    # Given grids and stores, then they lie around 23.13N 113.26E
    for table, lat, lon in (("grids", "centroid_lat", "centroid_lon"), ("stores", "lat", "lon")):
        far = sql.count(table, f"abs({lat} - 23.13) > 0.9 OR abs({lon} - 113.26) > 0.95")
        assert far == 0, table


def test_grid_boundaries_are_closed_wkt_polygons(sql: Sql) -> None:
    # Given each grid's boundary
    for (wkt,) in sql.rows("SELECT boundary_wkt FROM grids"):
        # Then it is a closed polygon
        assert wkt.startswith("POLYGON((")
        points = wkt.removeprefix("POLYGON((").removesuffix("))").split(", ")
        assert len(points) >= 4
        assert points[0] == points[-1]


# -- people -------------------------------------------------------------------------------


def test_msisdns_are_distinct_11_digit_mobile_numbers(sql: Sql) -> None:
    numbers, distinct = sql("SELECT count(*), count(DISTINCT msisdn) FROM subscribers")
    assert numbers == distinct
    assert sql.count("subscribers", "NOT regexp_full_match(msisdn, '1[3589][0-9]{9}')") == 0


def test_names_are_chinese_and_birth_dates_plausible(sql: Sql) -> None:
    names = sql.values("SELECT name FROM subscribers")
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", name) for name in names)
    youngest_at_joining, oldest_at_start = sql(
        "SELECT min(date_diff('year', birth_date, join_date)), "
        "max(date_diff('year', birth_date, DATE '2024-01-01')) FROM subscribers"
    )
    assert youngest_at_joining >= 15
    assert oldest_at_start <= 95


def test_consent_is_mostly_given_and_few_ask_not_to_be_disturbed(sql: Sql) -> None:
    sms, call, dnd = sql(
        "SELECT avg(consent_sms::INT), avg(consent_call::INT), avg(do_not_disturb::INT) "
        "FROM subscribers"
    )
    assert sms > 0.85
    assert call > 0.75
    assert 0.02 <= dnd <= 0.04
    assert sql.count("subscribers", "do_not_disturb AND consent_call") == 0


def test_the_plan_catalogue_has_every_kind_of_plan(sql: Sql) -> None:
    types = sql.values("SELECT DISTINCT plan_type FROM plans")
    assert types == {"prepaid", "postpaid", "broadband", "iptv", "bundle"}
    assert sql.values("SELECT DISTINCT is_5g FROM plans") == {True, False}


# -- realism figures ----------------------------------------------------------------------


def test_arpu_is_lognormal_like_operator_figures(sql: Sql) -> None:
    # Given monthly ARPU (published: mean ≈ ¥48, median ≈ ¥38, p95 ≈ ¥130)
    mean, median, p95 = sql(
        "SELECT avg(arpu), median(arpu), quantile_cont(arpu, 0.95) FROM monthly_usage"
    )

    # Then it is right-skewed around those figures
    assert 45 <= mean <= 51
    assert 35.5 <= median <= 40.5
    assert 110 <= p95 <= 145


def test_data_and_voice_use_match_operator_figures(sql: Sql) -> None:
    # Given DOU and MOU (published: DOU mean ≈ 16 GB, median ≈ 10 GB; MOU mean ≈ 220 min)
    dou_mean, dou_median, mou_mean = sql(
        "SELECT avg(dou_gb), median(dou_gb), avg(mou) FROM monthly_usage"
    )
    assert 14.5 <= dou_mean <= 17.5
    assert 9.0 <= dou_median <= 11.0
    assert 200 <= mou_mean <= 240


def test_about_55_percent_use_the_5g_network(sql: Sql) -> None:
    assert 0.50 <= sql("SELECT avg(used_5g_network::INT) FROM monthly_usage") <= 0.60


def test_about_80_percent_of_mobile_subscribers_are_on_5g_plans(sql: Sql) -> None:
    assert 0.76 <= sql("SELECT avg(is_5g::INT) FROM mobile") <= 0.84


def test_15_to_25_percent_also_hold_a_competitors_sim(sql: Sql) -> None:
    assert 0.15 <= sql("SELECT avg((dual_sim_role <> 'single')::INT) FROM mobile") <= 0.25


def test_off_net_minutes_are_25_to_40_percent_of_all_minutes(sql: Sql) -> None:
    assert 0.25 <= sql("SELECT sum(offnet_minutes) / sum(mou) FROM monthly_usage") <= 0.40
    assert sql.count("monthly_usage", "abs(onnet_minutes + offnet_minutes - mou) > 0.11") == 0


def test_broadband_reaches_35_to_45_percent_of_households_mostly_bundled(sql: Sql) -> None:
    # Given each household (family_id) and whether it has broadband, bundled or not
    penetration, bundled = sql(
        "SELECT avg(broadband), sum(bundle) / sum(broadband) FROM (SELECT family_id, "
        "max((p.plan_type IN ('broadband', 'bundle'))::INT) AS broadband, "
        "max((p.plan_type = 'bundle')::INT) AS bundle "
        "FROM subscribers JOIN plans p USING (plan_id) GROUP BY family_id)"
    )

    # Then 35-45% of households have it, about 70% of them as 融合 bundles
    assert 0.35 <= penetration <= 0.45
    assert 0.65 <= bundled <= 0.75


def test_monthly_churn_is_between_1_and_1_8_percent(sql: Sql) -> None:
    # Given each month's subscribers at risk and those who left that month
    rates = sql.rows(
        "SELECT h.month, count(*) FILTER (WHERE strftime(s.churn_date, '%Y-%m') = h.month) "
        "/ count(*) FROM churn_hazard h JOIN subscribers s USING (subscriber_id) GROUP BY 1",
    )

    # Then every month's churn is within the published range
    assert len(rates) == MONTHS
    for month, rate in rates:
        assert 0.010 <= rate <= 0.018, month


def test_joiners_keep_the_base_about_level(sql: Sql) -> None:
    # Given the subscribers with usage in the first and the last month
    first, last = sql(
        "SELECT count(*) FILTER (WHERE month = first_month), "
        "count(*) FILTER (WHERE month = last_month) FROM monthly_usage, "
        "(SELECT min(month) AS first_month, max(month) AS last_month FROM monthly_usage)"
    )

    # Then people joined during the run and the base stayed within 5%
    assert sql.count("subscribers", "join_date >= DATE '2024-01-01'") > 0.05 * SUBSCRIBERS
    assert abs(last - first) / first < 0.05


# -- churn --------------------------------------------------------------------------------


def test_churned_subscribers_have_a_status_date_and_reason(sql: Sql) -> None:
    inconsistent = sql.count(
        "subscribers",
        "(status = 'churned') <> (churn_date IS NOT NULL) "
        "OR (status = 'churned') <> (churn_reason IS NOT NULL)",
    )
    assert inconsistent == 0
    reasons = sql.values("SELECT DISTINCT churn_reason FROM subscribers")
    assert {"资费原因", "网络质量", "竞争对手策反", "服务投诉", "搬迁"} <= reasons


def test_no_usage_or_calls_after_churn(sql: Sql) -> None:
    for table in ("monthly_usage", "contacts"):
        later = sql(
            f"SELECT count(*) FROM {table} t JOIN subscribers s USING (subscriber_id) "
            "WHERE t.month > strftime(s.churn_date, '%Y-%m')"
        )
        assert later == 0, table


def test_the_churn_drawn_matches_the_true_hazard(sql: Sql) -> None:
    # Given the true monthly hazards and the churn that was drawn
    expected, seen = sql(
        "SELECT sum(hazard), count(*) FILTER (WHERE strftime(s.churn_date, '%Y-%m') = h.month) "
        "FROM churn_hazard h JOIN subscribers s USING (subscriber_id)"
    )

    # Then the number who left is what the hazards expect
    assert abs(seen - expected) < 4 * expected**0.5 + 0.1 * expected


def test_the_true_hazard_is_higher_when_a_contract_is_about_to_end(sql: Sql) -> None:
    # Given subscriber-months with a contract in force, ending within 92 days or later
    expiring, in_force = sql(
        "SELECT avg(hazard) FILTER (WHERE days BETWEEN 0 AND 92), "
        "avg(hazard) FILTER (WHERE days > 92) FROM (SELECT h.hazard, "
        "s.contract_end_date - strptime(h.month || '-01', '%Y-%m-%d')::DATE AS days "
        "FROM churn_hazard h JOIN subscribers s USING (subscriber_id))"
    )

    # Then the hazard is much higher for those about to come out of contract
    assert expiring > 1.5 * in_force


def test_the_true_hazard_rises_after_a_call_contact_churns(sql: Sql) -> None:
    # Given subscriber-months whose on-net contacts left in the month before
    exposed, others = sql(
        "WITH left_contact AS (SELECT DISTINCT c.subscriber_id, "
        "strftime(strptime(c.month, '%Y-%m') + INTERVAL 1 MONTH, '%Y-%m') AS m FROM contacts c "
        "JOIN subscribers p ON sha256(p.msisdn) = c.peer_hash "
        "AND strftime(p.churn_date, '%Y-%m') = c.month WHERE c.peer_operator = '本网') "
        "SELECT avg(hazard) FILTER (WHERE l.m IS NOT NULL), avg(hazard) FILTER (WHERE l.m IS NULL) "
        "FROM churn_hazard h LEFT JOIN left_contact l ON l.subscriber_id = h.subscriber_id "
        "AND l.m = h.month"
    )

    # Then their true hazard is much higher (contagion)
    assert exposed > 2 * others


def test_family_members_leave_together(sql: Sql) -> None:
    # Given households with several members and the months people left
    together = sql(
        "WITH f AS (SELECT family_id, strftime(churn_date, '%Y-%m') AS m, count(*) AS n "
        "FROM subscribers WHERE churn_date IS NOT NULL GROUP BY 1, 2), "
        "sizes AS (SELECT family_id, count(*) AS size FROM subscribers GROUP BY 1) "
        "SELECT sum(n * (n - 1)) / sum(n * (size - 1)) FROM f JOIN sizes USING (family_id) "
        "WHERE size > 1"
    )

    # Then P(another member leaves that month | one leaves) is far above monthly churn
    assert together > 0.05


# -- the call graph -----------------------------------------------------------------------


def test_on_net_peers_are_hashes_of_subscribers_numbers(sql: Sql) -> None:
    # Given the call edges to 本网 peers
    # Then every peer hash is the SHA-256 of a subscriber's MSISDN
    unmatched = sql.count(
        "contacts",
        "peer_operator = '本网' AND peer_hash NOT IN (SELECT sha256(msisdn) FROM subscribers)",
    )
    assert unmatched == 0
    number = sql("SELECT min(msisdn) FROM subscribers")
    assert msisdn_hash(number) == sql(f"SELECT sha256('{number}')")
    assert re.fullmatch(r"[0-9a-f]{64}", sql("SELECT min(peer_hash) FROM contacts"))


def test_some_off_net_numbers_talk_to_several_of_our_subscribers(sql: Sql) -> None:
    # Given off-net peers and how many of our subscribers each talks to
    shared, total = sql(
        "SELECT count(*) FILTER (WHERE n >= 2), count(*) FROM (SELECT peer_hash, "
        "count(DISTINCT subscriber_id) AS n FROM contacts WHERE peer_operator <> '本网' GROUP BY 1)"
    )

    # Then a good share reach two or more (the win-over targets), on every competitor
    assert shared / total > 0.05
    assert sql.values("SELECT DISTINCT peer_operator FROM contacts") == {
        "本网",
        "移动",
        "联通",
        "电信",
        "广电",
    }


def test_the_call_graph_has_homophily(sql: Sql) -> None:
    # Given on-net edges and the chance two random subscribers share a grid
    same_grid, same_family = sql(
        "SELECT avg((grid_a = grid_b)::INT), avg((family_a = family_b)::INT) FROM onnet"
    )
    by_chance = sql(
        "SELECT sum(n * n) / (sum(n) * sum(n)) FROM "
        "(SELECT count(*) AS n FROM subscribers GROUP BY grid_id)"
    )

    # Then far more edges stay within a grid or a family than chance would give
    assert same_grid > 5 * by_chance
    assert same_family > 0.3


def test_about_two_and_a_half_call_edges_per_subscriber_month(sql: Sql) -> None:
    edges = sql("SELECT count(*) FROM contacts") / sql("SELECT count(*) FROM monthly_usage")
    assert 2.2 <= edges <= 2.8


# -- other activity -----------------------------------------------------------------------


def test_recharges_are_prepaid_top_ups_of_usual_amounts(sql: Sql) -> None:
    postpaid = sql(
        "SELECT count(*) FROM recharges r JOIN subscribers s USING (subscriber_id) "
        "WHERE s.payment_type <> 'prepaid'"
    )
    assert postpaid == 0
    amounts = sql.values("SELECT DISTINCT amount FROM recharges")
    assert {30.0, 50.0, 100.0} <= amounts <= {10.0, 20.0, 30.0, 50.0, 100.0, 200.0}


def test_complaints_have_levels_and_categories(sql: Sql) -> None:
    assert sql.values("SELECT DISTINCT level FROM complaints") == {"普通", "重要", "重大"}
    assert {"网络", "资费", "服务", "营销"} <= sql.values(
        "SELECT DISTINCT category FROM complaints"
    )


def test_store_sales_cover_every_store_every_month(sql: Sql) -> None:
    stores = sql("SELECT count(*) FROM stores")
    assert sql("SELECT count(DISTINCT month) FROM store_sales") == MONTHS
    assert sql("SELECT count(DISTINCT store_id) FROM store_sales") == stores


# -- campaign ground truth ----------------------------------------------------------------


def test_treatment_effects_cover_the_campaigns_for_current_subscribers(sql: Sql) -> None:
    # Given the campaign ground truth
    campaigns = sql.values("SELECT DISTINCT campaign_type FROM treatment_effects")

    # Then it covers the four core campaigns, for subscribers who are still with us
    assert {"维系", "升档", "5G迁转", "融合"} <= campaigns
    stale = sql(
        "SELECT count(*) FROM treatment_effects t JOIN subscribers s USING (subscriber_id) "
        "WHERE t.campaign_type <> '赢回' AND s.status = 'churned'"
    )
    assert stale == 0
    out_of_range = sql.count(
        "treatment_effects",
        "p_accept_contacted NOT BETWEEN 0 AND 1 OR p_accept_not_contacted NOT BETWEEN 0 AND 1",
    )
    assert out_of_range == 0


def test_a_sleeping_dogs_segment_is_more_likely_to_churn_when_contacted(sql: Sql) -> None:
    # Given the retention (维系) ground truth
    worse, better = sql(
        "SELECT avg((churn_hazard_contacted > churn_hazard_not_contacted)::INT), "
        "avg((churn_hazard_contacted < churn_hazard_not_contacted)::INT) "
        "FROM treatment_effects WHERE campaign_type = '维系'"
    )

    # Then contact helps most, but a real segment churns more when contacted
    assert worse > 0.03
    assert better > 0.5


# -- files --------------------------------------------------------------------------------


def test_the_manifest_is_written_last_with_row_counts(operator: Path) -> None:
    # Given the manifest
    manifest = json.loads((operator / "manifest.json").read_text(encoding="utf-8"))

    # Then it records the parameters, each table's rows, and was written after the data
    assert manifest["parameters"] == {
        "subscribers": SUBSCRIBERS,
        "months": MONTHS,
        "seed": SEED,
        "start_month": "2024-01",
    }
    assert manifest["generator_version"]
    for name in TABLES:
        assert manifest["tables"][name] == pq.read_metadata(operator / f"{name}.parquet").num_rows
    written = max(p.stat().st_mtime_ns for p in operator.rglob("*.parquet"))
    assert (operator / "manifest.json").stat().st_mtime_ns >= written


def test_the_generate_command_writes_the_tables_and_the_manifest(tmp_path: Path) -> None:
    # When the management command runs
    call_command(
        "generate",
        subscribers=300,
        months=2,
        seed=5,
        out=tmp_path,
        start_month="2023-11",
        verbosity=0,
    )

    # Then every table, the ground truth and the manifest are there, for the months asked
    for name in TABLES:
        assert (tmp_path / f"{name}.parquet").is_file(), name
    assert (tmp_path / "ground_truth" / "churn_hazard.parquet").is_file()
    assert (tmp_path / "ground_truth" / "treatment_effects.parquet").is_file()
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["start_month"] == "2023-11"
    months = pq.read_table(tmp_path / "monthly_usage.parquet", columns=["month"]).column(0)
    assert set(months.to_pylist()) == {"2023-11", "2023-12"}


# -- WeChat openids -------------------------------------------------------------------------


def test_every_mobile_line_with_wechat_consent_has_an_openid_like_string(sql: Sql) -> None:
    # Given the generated subscribers
    # When their openids are read
    consented, with_openid = sql(
        "SELECT count(*), count(wechat_openid) FROM mobile WHERE consent_wechat"
    )
    openids, distinct = sql(
        "SELECT count(wechat_openid), count(DISTINCT wechat_openid) FROM subscribers"
    )

    # Then every consenting mobile line follows the account, each openid unique and well shaped
    assert consented > 0
    assert with_openid == consented
    assert openids == distinct
    assert (
        sql.count("subscribers", "NOT regexp_full_match(wechat_openid, 'o[A-Za-z0-9_-]{27}')") == 0
    )


def test_a_share_of_the_lines_without_wechat_consent_follow_and_broadband_lines_do_not(
    sql: Sql,
) -> None:
    # Given the mobile lines without WeChat consent, and the broadband lines
    # When the followers among them are counted
    share = sql("SELECT avg((wechat_openid IS NOT NULL)::INT) FROM mobile WHERE NOT consent_wechat")
    broadband = sql(
        "SELECT count(s.wechat_openid) FROM subscribers s JOIN plans p USING (plan_id) "
        "WHERE p.plan_type = 'broadband'"
    )

    # Then about 30% of the former follow, none of the latter
    assert 0.2 <= share <= 0.4
    assert broadband == 0


def test_openids_are_derived_from_the_seed_and_the_subscriber(sql: Sql) -> None:
    # Given some generated followers
    rows = sql.rows(
        "SELECT subscriber_id, wechat_openid FROM subscribers "
        "WHERE wechat_openid IS NOT NULL ORDER BY subscriber_id LIMIT 50"
    )
    ids = pa.array([r[0] for r in rows], pa.string())

    # When their openids are derived again from the seed, and from another seed
    again = wechat_openids(ids, seed=SEED).to_pylist()
    other = wechat_openids(ids, seed=SEED + 1).to_pylist()

    # Then the same seed gives the same openids, another seed other ones
    assert again == [r[1] for r in rows]
    assert set(other).isdisjoint(again)


# -- account managers -----------------------------------------------------------------------


def test_every_enterprise_has_an_account_manager_of_its_county(sql: Sql) -> None:
    # Given the generated enterprises, their grids and the staff
    # When each enterprise's account manager is looked up among the staff
    unserved = sql.count("enterprises", "account_manager_employee_no IS NULL")
    mismatched = sql(
        "SELECT count(*) FROM enterprises e JOIN grids g USING (grid_id) "
        "LEFT JOIN staff s ON s.employee_no = e.account_manager_employee_no "
        "WHERE s.org_unit_code IS DISTINCT FROM g.county_code "
        "OR s.title IS DISTINCT FROM '政企客户经理'"
    )

    # Then every enterprise has one, a 政企客户经理 of its grid's county
    assert unserved == 0
    assert mismatched == 0


def test_a_countys_account_managers_share_its_enterprises_evenly(sql: Sql) -> None:
    # Given the enterprises of each county
    # When they are counted by account manager
    spreads = sql.rows(
        "SELECT county_code, max(n) - min(n), count(*) FROM ("
        "  SELECT g.county_code, e.account_manager_employee_no, count(*) AS n "
        "  FROM enterprises e JOIN grids g USING (grid_id) GROUP BY 1, 2) GROUP BY 1"
    )

    # Then both managers of every county serve as many accounts, give or take one
    assert spreads
    assert all(spread <= 1 for _county, spread, _managers in spreads)
    assert {managers for _county, _spread, managers in spreads} == {2}
