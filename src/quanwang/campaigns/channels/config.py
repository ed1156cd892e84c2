"""Adapters from the deployment's config: `QUANWANG_CHANNELS`, one section per channel.

QUANWANG_CHANNELS = {
    "sms": {"url": "https://sms.example/api/send", "token": "…", "sender": "【某某移动】"},
    "wechat": {"app_id": "wx…", "app_secret": "…"},
    "app_push": {"url": "https://push.example/hook", "secret": "…"},
    "outbound_call": {"output_dir": "/srv/quanwang/call-lists"},
}

In demo mode (campaigns.sandbox.mode) a channel the setting leaves out is served by the
demo's sandbox gateways on loopback: `channels_config()` is the setting with their sections
added, and every sender and the inbound webhook read that, never the setting alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from quanwang.campaigns.channels.app_push import AppPushAdapter, AppPushConfig
from quanwang.campaigns.channels.base import (
    ChannelAdapter,
    ChannelNotConfigured,
    ConfigProblem,
    config_from_mapping,
)
from quanwang.campaigns.channels.call_list import CallListAdapter, CallListConfig
from quanwang.campaigns.channels.sms import SmsAdapter, SmsConfig
from quanwang.campaigns.channels.wechat import WechatAdapter, WechatConfig
from quanwang.campaigns.choices import Channel
from quanwang.campaigns.sandbox import mode

#: The channels sent through an adapter (grid and store tasks are rows in the console).
ADAPTER_CHANNELS = (Channel.SMS, Channel.WECHAT, Channel.APP_PUSH, Channel.OUTBOUND_CALL)
#: How long the console waits for the sandbox's health answer before calling it down.
PROBE_TIMEOUT_S = 2.0


def adapter_from_config(*, channel: Channel, config: Mapping[str, Any]) -> ChannelAdapter:
    """The adapter for `channel`, from its section of `config` (the whole QUANWANG_CHANNELS).

    Raises ChannelNotConfigured (an ImproperlyConfigured) for a missing section, an unknown
    or missing key, or a value of the wrong type, so that a typo fails at the first dispatch,
    loudly, not silently.
    """
    if channel == Channel.TASK:
        # Grid and store tasks are rows in the console's task lists, not a gateway.
        raise ChannelNotConfigured(
            gettext("grid and store tasks are created in the console, not sent"),
            problem=ConfigProblem.NO_ADAPTER,
        )
    section = config.get(channel.value)
    if not isinstance(section, Mapping):
        raise ChannelNotConfigured(
            gettext("QUANWANG_CHANNELS has no section for %(section)r")
            % {"section": channel.value},
            problem=ConfigProblem.NO_SECTION,
        )
    name = channel.value
    if channel == Channel.SMS:
        return SmsAdapter(config=config_from_mapping(SmsConfig, section, section=name))
    if channel == Channel.WECHAT:
        return WechatAdapter(config=config_from_mapping(WechatConfig, section, section=name))
    if channel == Channel.APP_PUSH:
        return AppPushAdapter(config=config_from_mapping(AppPushConfig, section, section=name))
    if channel == Channel.OUTBOUND_CALL:
        return CallListAdapter(config=config_from_mapping(CallListConfig, section, section=name))
    raise ChannelNotConfigured(
        gettext("no adapter for the channel %(channel)r") % {"channel": channel.value},
        problem=ConfigProblem.NO_ADAPTER,
    )


def sandbox_channels() -> frozenset[str]:
    """The channels the demo's sandbox serves now: in demo mode, those the setting leaves out."""
    if not mode.demo_mode():
        return frozenset()
    configured = settings.QUANWANG_CHANNELS
    return frozenset(
        c.value for c in ADAPTER_CHANNELS if not isinstance(configured.get(c.value), Mapping)
    )


def channels_config() -> dict[str, Any]:
    """The effective QUANWANG_CHANNELS: the deployment's sections, and in demo mode the
    sandbox's for the channels it leaves out."""
    effective = dict(settings.QUANWANG_CHANNELS)
    served = sandbox_channels()
    if served:
        sections = mode.sandbox_sections()
        effective.update({name: sections[name] for name in served})
    return effective


def configured_adapter(channel: Channel) -> ChannelAdapter:
    """The adapter for `channel` from the effective config; ChannelNotConfigured otherwise."""
    return adapter_from_config(channel=channel, config=channels_config())


def not_configured_message(channel: Channel, problem: ConfigProblem) -> str:
    """The one line a page shows for a channel that cannot send: no setting names."""
    return gettext(
        "%(channel)s is not set up (%(reason)s). Nothing was sent; ask the platform administrator."
    ) % {"channel": channel.label, "reason": problem.label}


def check_channel(channel: Channel) -> None:
    """Raise ChannelNotConfigured unless a step on `channel` can be sent now: its adapter
    builds, a WeChat step has its template, and a sandbox gateway answers. Checked when a
    dispatch is requested, so that a misconfigured channel is refused before the job starts."""
    if channel == Channel.TASK:
        return
    adapter = configured_adapter(channel)
    try:
        if isinstance(adapter, WechatAdapter) and not adapter.config.template_id:
            raise ChannelNotConfigured(
                gettext('QUANWANG_CHANNELS["wechat"] has no template_id'),
                problem=ConfigProblem.NO_TEMPLATE,
            )
    finally:
        adapter.close()
    if channel.value in sandbox_channels() and channel != Channel.OUTBOUND_CALL:
        _probe_sandbox()


def _probe_sandbox() -> None:
    url = f"{mode.sandbox_url()}/health"
    try:
        with httpx.Client(timeout=PROBE_TIMEOUT_S, trust_env=False) as client:
            answered = client.get(url).is_success
    except httpx.HTTPError:
        answered = False
    if not answered:
        raise ChannelNotConfigured(
            gettext("the sandbox gateways do not answer at %(url)s") % {"url": url},
            problem=ConfigProblem.SANDBOX_DOWN,
        )


class ChannelState(models.TextChoices):
    CONFIGURED = "configured", _("Configured")
    SANDBOX = "sandbox", _("Demo sandbox")
    NOT_CONFIGURED = "not_configured", _("Not configured")


@dataclass(frozen=True)
class ChannelStatus:
    channel: Channel
    state: ChannelState
    #: One line in the console's language: why it cannot send, or where it sends.
    reason: str


def channel_status(channel: Channel) -> ChannelStatus:
    """Whether `channel` can send, for the dispatch overview."""
    try:
        check_channel(channel)
    except ChannelNotConfigured as exc:
        return ChannelStatus(channel, ChannelState.NOT_CONFIGURED, str(exc.problem.label))
    if channel.value in sandbox_channels():
        reason = (
            gettext("Lists are written on the server and downloaded from this page")
            if channel == Channel.OUTBOUND_CALL
            else gettext("Sent to the demo's sandbox gateway on this machine; see its inbox")
        )
        return ChannelStatus(channel, ChannelState.SANDBOX, reason)
    return ChannelStatus(channel, ChannelState.CONFIGURED, gettext("Ready to send"))
