"""Load modes: an upsert changes only what the file carries, a replace never empties or guts a
table by accident, reasons count rows, and rejected rows live and die with their version."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.utils import translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from quanwang.data.import_scope import RowScope
from quanwang.data.importer import ImportFailed, import_file
from quanwang.data.warehouse import Warehouse

PLANS = (
    "plan_id,name,plan_type,monthly_fee,data_gb,voice_minutes,is_5g\n"
    "P1,5G畅享129,postpaid,129,30,500,是\n"
    "P2,4G日租卡,prepaid,19,5,100,否\n"
    "P3,宽带融合,bundle,199,60,1000,是\n"
    "P4,老年卡,prepaid,8,1,100,否\n"
)
PLAN_HEADER = PLANS.splitlines()[0] + "\n"
FULL_SUBSCRIBERS = (
    "subscriber_id,msisdn,segment,payment_type,join_date,status,plan_id,consent_sms,"
    "do_not_disturb,name,grid_id\n"
    "S1,13800000001,个人,postpaid,2020-01-05,active,P1,否,是,张三,\n"
    "S2,13800000002,个人,prepaid,2021-01-05,active,P2,是,否,李四,\n"
)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _table(table: str, store: Warehouse | None = None) -> dict[str, dict[str, Any]]:
    relation = (store or Warehouse()).relation(table)
    result = duckdb.sql(f"SELECT * FROM {relation}")
    names = result.columns
    return {row[0]: dict(zip(names, row, strict=True)) for row in result.fetchall()}


def _quarantine(report: Any) -> list[dict[str, str]]:
    with open(report.quarantine_file, encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def subscribers(db: None, tmp_path: Path) -> None:
    import_file(table_name="plans", path=_write(tmp_path, "plans.csv", PLANS))
    import_file(table_name="subscribers", path=_write(tmp_path, "s.csv", FULL_SUBSCRIBERS))


def test_an_upsert_without_the_consent_columns_keeps_each_stored_customers_flags(
    subscribers: None, tmp_path: Path
) -> None:
    # Given S1 stored as opted out of SMS and do-not-disturb
    before = _table("subscribers")
    assert (before["S1"]["consent_sms"], before["S1"]["do_not_disturb"]) == (False, True)

    # When a newer extract carrying only the status is upserted
    newer = "subscriber_id,status\nS1,suspended\nS2,churned\n"
    report = import_file(table_name="subscribers", path=_write(tmp_path, "n.csv", newer))

    # Then the status changed and every other column kept its stored value
    after = _table("subscribers")
    assert (after["S1"]["status"], after["S2"]["status"]) == ("suspended", "churned")
    for key in ("S1", "S2"):
        assert {k: v for k, v in after[key].items() if k != "status"} == {
            k: v for k, v in before[key].items() if k != "status"
        }
    assert report.updated_columns == ["subscriber_id", "status"]
    assert (report.loaded, report.quarantined) == (2, 0)


def test_a_new_row_lacking_a_required_column_is_quarantined_and_an_optional_one_is_null(
    subscribers: None, tmp_path: Path
) -> None:
    # Given an extract without the msisdn (required) nor the name (optional)
    text = (
        "subscriber_id,segment,payment_type,join_date,status,plan_id\n"
        "S1,家庭,postpaid,2020-01-05,active,P1\n"  # stored: keeps its msisdn and name
        "S9,个人,prepaid,2024-01-05,active,P2\n"  # new: has no msisdn
    )

    # When it is upserted
    report = import_file(table_name="subscribers", path=_write(tmp_path, "n.csv", text))

    # Then S1 changed in what the file carries only, and S9 is quarantined as required
    rows = _table("subscribers")
    assert (rows["S1"]["segment"], rows["S1"]["msisdn"], rows["S1"]["name"]) == (
        "家庭",
        "13800000001",
        "张三",
    )
    assert "S9" not in rows
    assert [(r["row"], r["column"], r["reason_code"]) for r in _quarantine(report)] == [
        ("3", "msisdn", "required")
    ]
    assert (report.loaded, report.quarantined, report.rows_read) == (1, 1, 2)


def test_a_new_row_gets_null_in_the_optional_columns_the_file_lacks(
    subscribers: None, tmp_path: Path
) -> None:
    text = (
        "subscriber_id,msisdn,segment,payment_type,join_date,status,plan_id\n"
        "S9,13800000009,个人,prepaid,2024-01-05,active,P2\n"
    )

    import_file(table_name="subscribers", path=_write(tmp_path, "n.csv", text))

    new = _table("subscribers")["S9"]
    assert (new["consent_sms"], new["do_not_disturb"], new["name"]) == (None, None, None)


def test_a_first_load_lacking_a_required_column_is_still_refused(db: None, tmp_path: Path) -> None:
    import_file(table_name="plans", path=_write(tmp_path, "plans.csv", PLANS))

    with pytest.raises(ImportFailed, match="msisdn"):
        import_file(
            table_name="subscribers",
            path=_write(tmp_path, "s.csv", "subscriber_id,status\nS1,active\n"),
        )


def test_an_upsert_lacking_a_key_column_is_refused(subscribers: None, tmp_path: Path) -> None:
    usage = "subscriber_id,month,arpu\nS1,2024-01,10\n"
    import_file(table_name="monthly_usage", path=_write(tmp_path, "u.csv", usage))

    with pytest.raises(ImportFailed, match="month"):
        import_file(
            table_name="monthly_usage",
            path=_write(tmp_path, "u2.csv", "subscriber_id,arpu\nS1,20\n"),
        )


def test_a_scoped_upsert_without_the_grid_column_keeps_stored_rows_where_they_are(
    db: None, tmp_path: Path
) -> None:
    # Given subscribers in grids GA and GB, and an importer whose scope is GA
    import_file(table_name="plans", path=_write(tmp_path, "plans.csv", PLANS))
    grids = "grid_id,name,grid_type,county_code\nGA,甲,沿街,C1\nGB,乙,沿街,C2\n"
    import_file(table_name="grids", path=_write(tmp_path, "g.csv", grids))
    stored = FULL_SUBSCRIBERS.replace("张三,\n", "张三,GA\n").replace("李四,\n", "李四,GB\n")
    import_file(table_name="subscribers", path=_write(tmp_path, "s.csv", stored))

    # When they upsert a consent extract that has no grid column
    report = import_file(
        table_name="subscribers",
        path=_write(tmp_path, "c.csv", "subscriber_id,consent_sms\nS1,是\nS2,否\n"),
        scope=RowScope(grids=frozenset({"GA"})),
    )

    # Then their own subscriber loads, in its grid, and the other district's does not
    rows = _table("subscribers")
    assert (rows["S1"]["consent_sms"], rows["S1"]["grid_id"]) == (True, "GA")
    assert rows["S2"]["consent_sms"] is True
    assert {r["reason_code"] for r in _quarantine(report)} == {"scope"}
    assert (report.loaded, report.quarantined) == (1, 1)


def test_reasons_count_rows_once_per_reason_and_quarantined_counts_rows(
    subscribers: None, tmp_path: Path
) -> None:
    # Given a row with two bad dates, a row with a bad date and an unknown plan, a good row
    text = (
        "subscriber_id,msisdn,segment,payment_type,join_date,status,plan_id,birth_date\n"
        "S5,13800000005,个人,prepaid,昨天,active,P1,前天\n"
        "S6,13800000006,个人,prepaid,昨天,active,PX,\n"
        "S7,13800000007,个人,prepaid,2021-01-05,active,P1,\n"
    )

    report = import_file(table_name="subscribers", path=_write(tmp_path, "r.csv", text))

    # Then each row counts once under each distinct reason it has
    assert report.by_reason == {"type": 2, "reference": 1}
    assert (report.quarantined, report.loaded, report.rows_read) == (2, 1, 3)
    assert len(_quarantine(report)) == 4  # the file still names every bad value


def test_a_header_only_file_does_not_empty_a_replaced_table(db: None, tmp_path: Path) -> None:
    import_file(table_name="plans", path=_write(tmp_path, "plans.csv", PLANS))
    before = _table("plans")

    with translation.override("en"), pytest.raises(ImportFailed, match=r"--allow-empty") as info:
        import_file(table_name="plans", path=_write(tmp_path, "empty.csv", PLAN_HEADER))

    assert "4 rows" in str(info.value)
    assert _table("plans") == before


def test_a_file_whose_every_row_is_rejected_does_not_empty_a_replaced_table(
    db: None, tmp_path: Path
) -> None:
    import_file(table_name="plans", path=_write(tmp_path, "plans.csv", PLANS))
    before = _table("plans")
    bad = PLAN_HEADER + "P1,坏,prepaid,-5,1,1,否\nP2,坏,prepaid,abc,1,1,否\n"

    with translation.override("en"), pytest.raises(ImportFailed, match=r"row 2") as info:
        import_file(table_name="plans", path=_write(tmp_path, "bad.csv", bad))

    assert "every row was rejected (2" in str(info.value)
    assert _table("plans") == before


def test_allow_empty_empties_a_replaced_table(db: None, tmp_path: Path) -> None:
    import_file(table_name="plans", path=_write(tmp_path, "plans.csv", PLANS))

    report = import_file(
        table_name="plans", path=_write(tmp_path, "empty.csv", PLAN_HEADER), allow_empty=True
    )

    assert report.loaded == 0
    assert _table("plans") == {}


def test_a_replace_dropping_most_rows_asks_for_confirmation(db: None, tmp_path: Path) -> None:
    # Given four plans stored
    import_file(table_name="plans", path=_write(tmp_path, "plans.csv", PLANS))
    before = _table("plans")
    one = PLAN_HEADER + PLANS.splitlines()[1] + "\n"

    # When a file with one of them replaces the table, unconfirmed
    with translation.override("en"), pytest.raises(ImportFailed) as info:
        import_file(table_name="plans", path=_write(tmp_path, "one.csv", one))

    # Then it is refused, saying how many rows would go and how to confirm
    assert "remove 3 of the 4 rows" in str(info.value)
    assert "--yes" in str(info.value)
    assert _table("plans") == before

    # And confirmed, it replaces the table
    import_file(table_name="plans", path=_write(tmp_path, "one.csv", one), confirm_replace=True)
    assert set(_table("plans")) == {"P1"}


def test_a_replace_dropping_half_the_rows_needs_no_confirmation(db: None, tmp_path: Path) -> None:
    import_file(table_name="plans", path=_write(tmp_path, "plans.csv", PLANS))
    half = PLAN_HEADER + "".join(line + "\n" for line in PLANS.splitlines()[1:3])

    import_file(table_name="plans", path=_write(tmp_path, "half.csv", half))

    assert set(_table("plans")) == {"P1", "P2"}


def test_rejected_rows_files_are_pruned_with_their_versions(
    db: None, tmp_path: Path, settings: Any
) -> None:
    # Given a warehouse keeping two versions, and four imports each with a rejected row
    settings.QUANWANG_WAREHOUSE_KEEP = 2
    for fee in (1, 2, 3, 4):
        text = PLANS + f"P{fee + 4},坏{fee},prepaid,-{fee},1,1,否\n"
        import_file(table_name="plans", path=_write(tmp_path, f"p{fee}.csv", text))

    # Then only the kept versions' rejected rows are left
    versions = {p.name for p in (Path(settings.VAR_DIR) / "warehouse" / "plans").iterdir()}
    kept = {p.name for p in (Path(settings.VAR_DIR) / "quarantine").glob("plans-*.csv")}
    assert kept == {f"plans-{v}.csv" for v in versions if v.startswith("v")}
    assert len(kept) == 2


def test_rejected_rows_of_a_version_never_committed_go_at_the_next_commit(
    db: None, tmp_path: Path
) -> None:
    # Given rejected rows an import killed before its commit left, and a half-written one
    import_file(table_name="plans", path=_write(tmp_path, "plans.csv", PLANS))
    quarantine = Path(Warehouse().quarantine_dir or "")
    quarantine.mkdir(exist_ok=True)
    orphan = quarantine / "plans-v20000101T000000000000-deadbeef.csv"
    orphan.write_text("file,row\n", encoding="utf-8")
    partial = quarantine / ".plans-v20000101T000000000000-deadbeef.csv.x1.part"
    partial.write_text("file,", encoding="utf-8")

    # When the next import commits
    report = import_file(
        table_name="plans", path=_write(tmp_path, "p.csv", PLANS + "P9,坏,prepaid,-1,1,1,否\n")
    )

    # Then both are gone and its own rejected rows are there
    assert not orphan.exists()
    assert not partial.exists()
    assert Path(report.quarantine_file).is_file()


def _import_killed_at_commit(tmp_path: Path, var_dir: Path, *, after: bool) -> None:
    """Run a plans import in a process that kills itself just before or after its commit."""
    source = _write(tmp_path, "p.csv", PLANS + "P8,坏,prepaid,-1,1,1,否\nP9,坏,prepaid,x,1,1,否\n")
    script = (
        "import os, signal, pathlib, django; django.setup()\n"
        "from quanwang.data import warehouse\n"
        "original = warehouse.Warehouse.commit\n"
        "def commit(self, **kw):\n"
        f"    if not {after}: os.kill(os.getpid(), signal.SIGKILL)\n"
        "    version = original(self, **kw)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "warehouse.Warehouse.commit = commit\n"
        "from quanwang.data.importer import import_file\n"
        f"import_file(table_name='plans', path=pathlib.Path({str(source)!r}))\n"
    )
    env = {
        **os.environ,
        "QUANWANG_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "quanwang.settings",
    }
    process = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert process.returncode == -signal.SIGKILL, process.stderr


def test_an_import_killed_just_after_its_commit_leaves_its_whole_rejected_rows_file(
    db: None, tmp_path: Path, settings: Any
) -> None:
    # Given plans stored
    import_file(table_name="plans", path=_write(tmp_path, "plans.csv", PLANS))

    # When an import with two bad rows is killed the moment its version is committed
    _import_killed_at_commit(tmp_path, Path(settings.VAR_DIR), after=True)

    # Then the new version is current and its rejected rows are all on disk
    current = Warehouse().current_file("plans")
    assert current is not None
    version = current.parent.name
    target = Path(settings.VAR_DIR) / "quarantine" / f"plans-{version}.csv"
    with target.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["row"], r["reason_code"]) for r in rows] == [("6", "range"), ("7", "type")]


def test_an_import_killed_just_before_its_commit_changes_nothing(
    db: None, tmp_path: Path, settings: Any
) -> None:
    import_file(table_name="plans", path=_write(tmp_path, "plans.csv", PLANS))
    before = Warehouse().current_file("plans")

    _import_killed_at_commit(tmp_path, Path(settings.VAR_DIR), after=False)

    assert Warehouse().current_file("plans") == before
    [orphan] = (Path(settings.VAR_DIR) / "quarantine").glob("plans-*.csv")
    assert len(orphan.read_text(encoding="utf-8-sig").splitlines()) == 3  # whole, yet no version
    # Its rejected rows belong to no version: the next commit removes them.
    import_file(table_name="plans", path=_write(tmp_path, "plans.csv", PLANS))
    assert list((Path(settings.VAR_DIR) / "quarantine").glob("plans-*.csv")) == []


OPTIONAL = ("name", "gender", "consent_sms", "do_not_disturb", "churn_reason")
VALUES = {
    "name": st.sampled_from(["王五", "赵六", ""]),
    "gender": st.sampled_from(["男", "女", ""]),
    "consent_sms": st.sampled_from(["是", "否", ""]),
    "do_not_disturb": st.sampled_from(["是", "否", ""]),
    "churn_reason": st.sampled_from(["资费", "", "信号"]),
}


@st.composite
def _extracts(draw: Any) -> tuple[list[str], list[dict[str, str]]]:
    carried = draw(st.lists(st.sampled_from(OPTIONAL), unique=True))
    keys = draw(st.lists(st.sampled_from(["S1", "S2", "S3"]), unique=True, min_size=1))
    rows = [{"subscriber_id": k, **{c: draw(VALUES[c]) for c in carried}} for k in keys]
    return carried, rows


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(extract=_extracts())
def test_an_upsert_changes_exactly_the_columns_the_file_carries(
    extract: tuple[list[str], list[dict[str, str]]], tmp_path: Path
) -> None:
    # Given S1 and S2 stored in a warehouse of their own
    carried, rows = extract
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    store = Warehouse(folder / "warehouse")
    import_file(table_name="plans", path=_write(folder, "p.csv", PLANS), warehouse=store)
    import_file(
        table_name="subscribers", path=_write(folder, "s.csv", FULL_SUBSCRIBERS), warehouse=store
    )
    before = _table("subscribers", store)

    # When an extract of some optional columns is upserted (S3 is new)
    header = ["subscriber_id", *carried]
    text = ",".join(header) + "\n" + "".join(",".join(r[c] for c in header) + "\n" for r in rows)
    report = import_file(
        table_name="subscribers", path=_write(folder, "x.csv", text), warehouse=store
    )

    # Then stored rows changed in the carried columns only, to the file's values; a new row
    # (lacking the required msisdn) is quarantined; every row is loaded or quarantined
    after = _table("subscribers", store)
    in_file = {r["subscriber_id"]: r for r in rows}
    for key, row in before.items():
        for column, value in row.items():
            if key in in_file and column in carried:
                assert after[key][column] == _typed(in_file[key][column]), (key, column)
            else:
                assert after[key][column] == value, (key, column)
    assert "S3" not in after
    assert report.quarantined == int("S3" in in_file)
    assert report.loaded + report.quarantined == report.rows_read == len(rows)
    assert report.updated_columns == [c for c in _table_columns() if c in header]


def _typed(text: str) -> Any:
    return {"": None, "是": True, "否": False}.get(text, text)


def _table_columns() -> list[str]:
    from quanwang.data.schema import TABLES

    return [c.name for c in TABLES["subscribers"].columns]
