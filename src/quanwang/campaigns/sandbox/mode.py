"""Demo mode, and where the demo's sandbox gateways listen, with which credentials.

Demo mode is the setting QUANWANG_DEMO: on (1) or off (0), or, when unset ("auto"), on while
the var folder holds the demo operator that `quanwang demo` generates (its manifest,
`var/demo-operator/manifest.json`, written by quanwang.data.demo). In demo mode every channel
that QUANWANG_CHANNELS leaves out is sent to the sandbox at 127.0.0.1:QUANWANG_SANDBOX_PORT
(campaigns.channels.config.channels_config), which `quanwang serve` starts beside the console.

The sandbox's credentials (the SMS bearer token, the inbound-reply secret, the WeChat app
secret, the push signing secret) are generated once into `var/sandbox/credentials.json`
(0600): the console, the worker and the sandbox, all processes of one var folder, read the
same ones, and no secret is fixed in the code.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings

#: Written by `quanwang demo` (quanwang.data.demo) when it generates the demo city.
DEMO_MARKER = Path("demo-operator") / "manifest.json"
CREDENTIALS_FILE = Path("sandbox") / "credentials.json"
#: The sandbox listens on loopback only: it accepts any number and keeps what it receives.
SANDBOX_HOST = "127.0.0.1"
SANDBOX_SENDER = "【全网演示】"
SANDBOX_APP_ID = "wx-sandbox"
SANDBOX_TEMPLATE_ID = "SANDBOX-TEMPLATE"
#: The sandbox is on this machine: a short timeout, so a stopped sandbox fails fast.
SANDBOX_TIMEOUT_S = 5.0


def demo_mode() -> bool:
    forced = settings.QUANWANG_DEMO
    if forced is not None:
        return bool(forced)
    return (Path(settings.VAR_DIR) / DEMO_MARKER).is_file()


def sandbox_url() -> str:
    return f"http://{SANDBOX_HOST}:{settings.QUANWANG_SANDBOX_PORT}"


@dataclass(frozen=True, kw_only=True)
class Credentials:
    sms_token: str = field(repr=False)
    inbound_token: str = field(repr=False)
    wechat_secret: str = field(repr=False)
    push_secret: str = field(repr=False)


def credentials_path() -> Path:
    return Path(settings.VAR_DIR) / CREDENTIALS_FILE


def credentials() -> Credentials:
    """The sandbox's credentials of this var folder, generated on first use."""
    return _read(str(credentials_path()))


@lru_cache(maxsize=8)
def _read(path: str) -> Credentials:
    target = Path(path)
    if not target.exists():
        _create(target)
    return Credentials(**json.loads(target.read_text(encoding="utf-8")))


def _create(target: Path) -> None:
    """Write fresh credentials unless another process got there first: the file is written
    aside and linked into place, which fails when it already exists."""
    target.parent.mkdir(parents=True, exist_ok=True)
    values = {f.name: secrets.token_urlsafe(24) for f in fields(Credentials)}
    staging = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    handle = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(values, out)
    try:
        os.link(staging, target)
    except FileExistsError:
        pass
    finally:
        staging.unlink()


def sandbox_sections() -> dict[str, dict[str, Any]]:
    """The QUANWANG_CHANNELS sections that point the adapters at the sandbox."""
    keys = credentials()
    base = sandbox_url()
    http = {"timeout_s": SANDBOX_TIMEOUT_S}
    return {
        "sms": {
            "url": f"{base}/sms/send",
            "token": keys.sms_token,
            "sender": SANDBOX_SENDER,
            "inbound_token": keys.inbound_token,
            **http,
        },
        "wechat": {
            "app_id": SANDBOX_APP_ID,
            "app_secret": keys.wechat_secret,
            "api_base": f"{base}/wechat",
            "template_id": SANDBOX_TEMPLATE_ID,
            **http,
        },
        "app_push": {"url": f"{base}/push", "secret": keys.push_secret, **http},
        # No gateway: the call list is a file, kept in the var folder and downloaded from
        # the dispatch overview.
        "outbound_call": {"output_dir": str(Path(settings.VAR_DIR) / "call-lists")},
    }
