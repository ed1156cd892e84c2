"""Environment-driven configuration, read once, with safe defaults (12-factor)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url


class ConfigError(Exception):
    """A setting from the environment cannot be used; the message is one line for the operator."""


def var_dir() -> Path:
    path = Path(os.environ.get("QUANWANG_VAR_DIR", Path.cwd() / "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def env_flag(name: str, *, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def secret_key(directory: Path) -> str:
    """Use QUANWANG_SECRET_KEY, else a key generated once into var/ (never committed)."""
    from_env = os.environ.get("QUANWANG_SECRET_KEY")
    if from_env:
        return from_env
    key_file = directory / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50), encoding="ascii")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="ascii").strip()


def database(directory: Path) -> dict[str, object]:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(directory / "quanwang.sqlite3"),
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    try:
        parsed = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # dj-database-url raises several types for a bad URL
        raise ConfigError(f"DATABASE_URL is not a usable database URL: {exc}") from exc
    if parsed.get("ENGINE") not in {
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    }:
        raise ConfigError(
            f"DATABASE_URL names an unsupported engine {parsed.get('ENGINE')!r}; "
            "use postgres://… or sqlite:///…"
        )
    return dict(parsed)


def redacted_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return "sqlite (var/quanwang.sqlite3)"
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
    return url
