"""The `quanwang` command as an operator runs it: a real process, real environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from quanwang.core.models import OrgUnit, RoleAssignment
from quanwang.core.services.demo import LOGINS


def _quanwang(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update({"QUANWANG_VAR_DIR": str(tmp_path / "var"), **env})
    return subprocess.run(
        [sys.executable, "-m", "quanwang.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "url",
    ["postgres://nobody@127.0.0.1:1/nothing", "sqlite:////nonexistent-dir/x/db.sqlite3"],
)
def test_a_database_url_pointing_at_nothing_exits_with_one_line(url: str, tmp_path: Path) -> None:
    result = _quanwang("migrate", tmp_path=tmp_path, DATABASE_URL=url)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "DATABASE_URL" in result.stderr or "数据库" in result.stderr


def test_a_database_url_of_an_unknown_kind_exits_with_one_line(tmp_path: Path) -> None:
    result = _quanwang("migrate", tmp_path=tmp_path, DATABASE_URL="oracle-ish://x/y")

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "DATABASE_URL" in result.stderr


def test_help_is_chinese_by_default_and_english_on_request(tmp_path: Path) -> None:
    chinese = _quanwang("--help", tmp_path=tmp_path, LANG="C.UTF-8")
    english = _quanwang("--help", "--lang", "en", tmp_path=tmp_path)

    assert "用法" in chinese.stdout
    assert "Usage" in english.stdout
    assert "serve" in chinese.stdout
    assert "serve" in english.stdout


def test_a_command_help_follows_the_language(tmp_path: Path) -> None:
    result = _quanwang("import", "--help", "--lang", "en", tmp_path=tmp_path)

    assert result.returncode == 0
    assert "org-units" in result.stdout


def test_the_secret_key_is_generated_into_var_once(tmp_path: Path) -> None:
    _quanwang("--help", tmp_path=tmp_path)
    first = (tmp_path / "var" / "secret_key").read_text()
    _quanwang("--help", tmp_path=tmp_path)

    assert len(first) >= 50
    assert (tmp_path / "var" / "secret_key").read_text() == first


def test_the_demo_builds_an_org_tree_and_one_login_per_role(db: None) -> None:
    call_command("demo", "--placeholder", verbosity=0)
    call_command("demo", "--placeholder", verbosity=0)

    assert OrgUnit.objects.filter(level="grid").count() == 5
    assert RoleAssignment.objects.count() == len(LOGINS)
    assert {a.role for a in RoleAssignment.objects.all()} == {login.role for login in LOGINS}


def test_the_committed_openapi_schema_matches_the_code(db: None) -> None:
    committed = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"

    call_command("openapi", "--check", "--output", str(committed))
