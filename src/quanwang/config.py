"""Environment-driven configuration, read once, with safe defaults (12-factor)."""

from __future__ import annotations

import errno
import ipaddress
import os
import secrets
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dj_database_url


def gettext_noop(message: str) -> str:
    """Marks a msgid for makemessages. Django's own needs its settings, which are loading
    here: the CLI translates these once it can (`ConfigError.translated`)."""
    return message


CANNOT_CREATE = gettext_noop("QUANWANG_VAR_DIR %(path)s: cannot create the folder (%(cause)s)")
CANNOT_WRITE = gettext_noop("QUANWANG_VAR_DIR %(path)s: cannot write there (%(cause)s)")
NOT_A_NUMBER = gettext_noop("%(name)s must be a whole number, not %(value)r")
CAUSES = {
    errno.EACCES: gettext_noop("permission denied"),
    errno.EPERM: gettext_noop("permission denied"),
    errno.EROFS: gettext_noop("read-only file system"),
    errno.ENOTDIR: gettext_noop("part of the path is a file, not a folder"),
    errno.EEXIST: gettext_noop("a file of that name is in the way"),
    errno.ENOSPC: gettext_noop("no space left on the device"),
    errno.EDQUOT: gettext_noop("disk quota exceeded"),
}
# Host names that only reach this machine (ALLOWED_HOSTS may also hold *.localhost names).
LOOPBACK_NAMES = frozenset({"localhost", "testserver"})


class ConfigError(Exception):
    """A setting from the environment cannot be used; the message is one line for the operator.

    `message` is an English msgid with %(…)s placeholders; `translated()` says it in the
    active language, the `cause` placeholder included."""

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)

    def translated(self) -> str:
        from django.utils.translation import gettext

        params = dict(self.params)
        if "cause" in params:
            params["cause"] = gettext(str(params["cause"]))
        text = gettext(self.message)
        return text % params if params else text


def var_dir_path() -> Path:
    """Where QUANWANG_VAR_DIR points (./var by default), without touching it."""
    raw = os.environ.get("QUANWANG_VAR_DIR") or str(Path.cwd() / "var")
    return Path(raw).expanduser().resolve()


def _cause(exc: OSError) -> str:
    return CAUSES.get(exc.errno or 0, exc.strerror or type(exc).__name__)


def var_dir() -> Path:
    """The var folder, created if missing and checked writable: a problem is one ConfigError
    naming the folder and the cause, not a traceback about some file inside it."""
    path = var_dir_path()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(CANNOT_CREATE, path=str(path), cause=_cause(exc)) from exc
    try:
        # Permission bits alone do not tell (root ignores them; a read-only mount does not
        # show in them): write and remove a scratch file.
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ConfigError(CANNOT_WRITE, path=str(path), cause=_cause(exc)) from exc
    return path


def env_flag(name: str, *, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, *, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(NOT_A_NUMBER, name=name, value=raw) from None


def loopback_only(hosts: Iterable[str]) -> bool:
    """True when every allowed host name reaches this machine only (localhost, 127.0.0.0/8,
    ::1, *.localhost, Django's testserver): the console then serves plain HTTP, as `make run`
    does; any other name, or "*", means it is reachable from elsewhere."""
    names = [h.strip().lower() for h in hosts if h.strip()]
    return bool(names) and all(_is_loopback(name) for name in names)


def _is_loopback(name: str) -> bool:
    bare = name.lstrip(".")
    if bare in LOOPBACK_NAMES or bare.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(bare.strip("[]")).is_loopback
    except ValueError:
        return False


def proxy_ssl_header() -> tuple[str, str] | None:
    """QUANWANG_PROXY_SSL_HEADER (e.g. X-Forwarded-Proto): the header a TLS-terminating proxy
    sets to "https". Trusted only when named, since a client could send it too."""
    header = os.environ.get("QUANWANG_PROXY_SSL_HEADER", "").strip()
    if not header:
        return None
    return "HTTP_" + header.upper().replace("-", "_"), "https"


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
        return f"sqlite ({var_dir_path() / 'quanwang.sqlite3'})"
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
    return url
