"""Running the pipeline's Ibis expressions on an engine: DuckDB (embedded) or Spark.

The definitions in `features` and `scores` never import an engine; this module connects,
registers the canonical tables from Parquet, and writes results back to Parquet.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
from django.conf import settings
from django.utils.translation import gettext as _

from quanwang.data.warehouse import quote, sql_literal
from quanwang.insight.choices import Engine

SPARK_INSTALL = "pip install 'quanwang[spark]'"


class EngineUnavailable(Exception):
    """The engine cannot start here; the message says how to install or reach it."""


def connect(engine: Engine) -> Any:
    if engine is Engine.DUCKDB:
        return ibis.duckdb.connect(
            memory_limit=settings.QUANWANG_PIPELINE_MEMORY,
            temp_directory=str(Path(settings.VAR_DIR) / "pipeline-spill"),
        )
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineUnavailable(
            _(
                "Spark is not installed: install the extra with `%(command)s` (it needs Java 17 "
                "or newer), or use the DuckDB engine"
            )
            % {"command": SPARK_INSTALL}
        ) from exc
    master = os.environ.get("QUANWANG_SPARK_MASTER", "local[2]")
    partitions = os.environ.get("QUANWANG_SPARK_PARTITIONS", "8")
    driver_memory = os.environ.get("QUANWANG_SPARK_DRIVER_MEMORY", "4g")
    try:
        session = (
            SparkSession.builder.master(master)
            .appName("quanwang-insight")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", partitions)
            .config("spark.driver.memory", driver_memory)
            .getOrCreate()
        )
    except Exception as exc:  # a missing or too old Java surfaces here, as many kinds of error
        raise EngineUnavailable(
            _("Spark could not start (%(master)s): %(detail)s")
            % {"master": master, "detail": (str(exc).splitlines() or [""])[0]}
        ) from exc
    return ibis.pyspark.connect(session)


def register(con: Any, files: Mapping[str, Path]) -> dict[str, ir.Table]:
    """The canonical tables as Ibis tables of `con`, read from their Parquet files."""
    return {name: con.read_parquet(str(path), table_name=name) for name, path in files.items()}


def write_parquet(con: Any, engine: Engine, expr: ir.Table, directory: Path) -> None:
    """Write `expr` as Parquet files under `directory` (one or more part files)."""
    directory.mkdir(parents=True, exist_ok=True)
    if engine is Engine.DUCKDB:
        con.to_parquet(expr, str(directory / "part-0.parquet"), compression="zstd")
    else:
        # Spark writes a folder of parts itself; it must not exist yet.
        directory.rmdir()
        con.to_parquet(expr, str(directory), mode="overwrite")


def to_arrow_sorted(con: Any, engine: Engine, expr: ir.Table, *, key: str, scratch: Path) -> Any:
    """`expr` as one Arrow table ordered by `key`: straight from DuckDB; through Parquet parts
    from Spark (its rows would otherwise cross to the driver one by one)."""
    if engine is Engine.DUCKDB:
        sql = ibis.to_sql(expr, dialect="duckdb")
        return con.con.sql(f"SELECT * FROM ({sql}) ORDER BY {quote(key)}").to_arrow_table()
    write_parquet(con, engine, expr, scratch)
    parts = sql_literal(str(scratch / "*.parquet"))
    ordered = f"SELECT * FROM read_parquet({parts}) ORDER BY {quote(key)}"
    table = duckdb.connect().sql(ordered).to_arrow_table()
    shutil.rmtree(scratch)
    return table


def materialise(con: Any, engine: Engine, tables: Mapping[str, ir.Table]) -> dict[str, ir.Table]:
    """Compute each expression once and hand back tables that read the result: a temporary
    table on DuckDB, a cached DataFrame on Spark."""
    done = {}
    for name, expr in tables.items():
        if engine is Engine.DUCKDB:
            # Plain SQL: ibis's create_table(temp=True, overwrite=True) emits a DROP statement
            # without the table's name with this sqlglot.
            sql = ibis.to_sql(expr, dialect="duckdb")
            con.raw_sql(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {sql}')
            done[name] = con.table(name)
        else:
            done[name] = expr.cache()
    return done
