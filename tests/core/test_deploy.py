"""Production settings from the environment, as an operator starts the real process: HTTPS,
HSTS and secure cookies on by default off loopback, and a var folder problem in one line."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from quanwang.config import loopback_only

PRODUCTION = {
    "QUANWANG_ALLOWED_HOSTS": "quanwang.example.cn",
    "QUANWANG_SECRET_KEY": secrets.token_urlsafe(50),
}
SHOWN = (
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER",
)


def _environment(tmp_path: Path, **env: str) -> dict[str, str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
        and not k.startswith("QUANWANG_")
    }
    environment.update({"QUANWANG_VAR_DIR": str(tmp_path / "var"), **env})
    return environment


def _quanwang(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "quanwang.cli", *args],
        capture_output=True,
        text=True,
        env=_environment(tmp_path, **env),
        timeout=120,
        check=False,
    )


def _settings(tmp_path: Path, **env: str) -> dict[str, object]:
    """The security settings a fresh process computes from `env`."""
    program = (
        "import json; from quanwang import settings as s; "
        f"print(json.dumps({{name: getattr(s, name, None) for name in {list(SHOWN)!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env=_environment(tmp_path, **env),
        timeout=60,
        check=True,
    )
    return dict(json.loads(result.stdout))


def test_production_settings_pass_the_deploy_check_with_warnings_as_failures(
    tmp_path: Path,
) -> None:
    # Given a public host name and a secret key, and nothing else set
    # When the deploy check runs with warnings counted as failures
    result = _quanwang(
        "check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path, **PRODUCTION
    )

    # Then it passes
    assert result.returncode == 0, result.stderr + result.stdout


def test_off_loopback_https_hsts_and_secure_cookies_are_on_by_default(tmp_path: Path) -> None:
    shown = _settings(tmp_path, **PRODUCTION)

    assert shown["SECURE_SSL_REDIRECT"] is True
    assert shown["SECURE_HSTS_SECONDS"] == 31_536_000
    assert shown["SESSION_COOKIE_SECURE"] is True
    assert shown["CSRF_COOKIE_SECURE"] is True


def test_on_loopback_the_defaults_keep_plain_http_working(tmp_path: Path) -> None:
    # Given the defaults of `make run`: allowed hosts are loopback names only
    shown = _settings(tmp_path)

    # Then nothing redirects to HTTPS and cookies travel over plain HTTP
    assert shown["SECURE_SSL_REDIRECT"] is False
    assert shown["SECURE_HSTS_SECONDS"] == 0
    assert shown["SESSION_COOKIE_SECURE"] is False
    assert shown["CSRF_COOKIE_SECURE"] is False


def test_in_debug_the_defaults_keep_plain_http_working(tmp_path: Path) -> None:
    shown = _settings(tmp_path, QUANWANG_DEBUG="1", **PRODUCTION)

    assert (shown["SECURE_SSL_REDIRECT"], shown["SESSION_COOKIE_SECURE"]) == (False, False)


def test_each_protection_follows_its_own_variable(tmp_path: Path) -> None:
    # Given production, with each protection set explicitly
    shown = _settings(
        tmp_path,
        QUANWANG_SSL_REDIRECT="0",
        QUANWANG_HSTS_SECONDS="600",
        QUANWANG_HSTS_SUBDOMAINS="0",
        QUANWANG_SECURE_COOKIES="0",
        QUANWANG_PROXY_SSL_HEADER="X-Forwarded-Proto",
        **PRODUCTION,
    )

    # Then each follows its variable
    assert shown["SECURE_SSL_REDIRECT"] is False
    assert shown["SECURE_HSTS_SECONDS"] == 600
    assert shown["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert shown["SESSION_COOKIE_SECURE"] is False
    assert shown["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_a_loopback_deployment_can_turn_the_protections_on(tmp_path: Path) -> None:
    shown = _settings(tmp_path, QUANWANG_SECURE_COOKIES="1", QUANWANG_SSL_REDIRECT="yes")

    assert (shown["SECURE_SSL_REDIRECT"], shown["SESSION_COOKIE_SECURE"]) == (True, True)


@pytest.mark.parametrize(
    ("hosts", "loopback"),
    [
        (["127.0.0.1", "localhost", "testserver"], True),
        (["::1", "[::1]", "127.0.0.2", "app.localhost", ".localhost"], True),
        (["localhost", "quanwang.example.cn"], False),
        (["*"], False),
        (["10.0.0.5"], False),
        ([], False),
    ],
)
def test_loopback_means_every_allowed_host_is_a_loopback_name(
    hosts: list[str], loopback: bool
) -> None:
    assert loopback_only(hosts) is loopback


def test_a_bad_number_in_a_setting_is_one_line_naming_it(tmp_path: Path) -> None:
    result = _quanwang("check", tmp_path=tmp_path, QUANWANG_HSTS_SECONDS="a year")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "QUANWANG_HSTS_SECONDS" in result.stderr


def _unwritable(tmp_path: Path) -> Path:
    """A folder that exists but cannot be written: /sys for root (whom permissions do not
    stop), a folder without write permission otherwise."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_a_read_only_var_folder_is_one_line_naming_it_and_the_cause(tmp_path: Path) -> None:
    # Given a var folder nobody may write to
    folder = _unwritable(tmp_path)

    # When any command starts, in English and in Chinese
    english = _quanwang("migrate", "--lang", "en", tmp_path=tmp_path, QUANWANG_VAR_DIR=str(folder))
    chinese = _quanwang("migrate", tmp_path=tmp_path, QUANWANG_VAR_DIR=str(folder), LANG="C.UTF-8")

    # Then each stops with one line naming the folder and why, in its language
    for result in (english, chinese):
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert str(folder) in result.stderr
    assert "cannot write" in english.stderr
    assert "无法写入" in chinese.stderr


def test_a_var_folder_that_cannot_be_created_is_one_line_naming_it(tmp_path: Path) -> None:
    # Given a var folder whose parent is a file
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    folder = blocker / "var"

    result = _quanwang("migrate", "--lang", "en", tmp_path=tmp_path, QUANWANG_VAR_DIR=str(folder))

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(folder) in result.stderr
    assert "cannot create" in result.stderr


def test_an_unreachable_sqlite_database_names_the_real_var_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quanwang.config import redacted_database_url

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("QUANWANG_VAR_DIR", str(tmp_path / "elsewhere"))

    assert str(tmp_path / "elsewhere" / "quanwang.sqlite3") in redacted_database_url()
