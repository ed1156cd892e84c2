"""Adapters from the deployment's config: `QUANWANG_CHANNELS`, one section per channel.

QUANWANG_CHANNELS = {
    "sms": {"url": "https://sms.example/api/send", "token": "…", "sender": "【某某移动】"},
    "wechat": {"app_id": "wx…", "app_secret": "…"},
    "app_push": {"url": "https://push.example/hook", "secret": "…"},
    "outbound_call": {"output_dir": "/srv/quanwang/call-lists"},
}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from quanwang.campaigns.channels.app_push import AppPushAdapter, AppPushConfig
from quanwang.campaigns.channels.base import ChannelAdapter, config_from_mapping
from quanwang.campaigns.channels.call_list import CallListAdapter, CallListConfig
from quanwang.campaigns.channels.sms import SmsAdapter, SmsConfig
from quanwang.campaigns.channels.wechat import WechatAdapter, WechatConfig
from quanwang.campaigns.choices import Channel


def adapter_from_config(*, channel: Channel, config: Mapping[str, Any]) -> ChannelAdapter:
    """The adapter for `channel`, from its section of `config` (the whole QUANWANG_CHANNELS).

    Raises ImproperlyConfigured for a missing section, an unknown or missing key, or a value
    of the wrong type, so that a typo fails at the first dispatch, loudly, not silently.
    """
    if channel == Channel.TASK:
        # Grid and store tasks are rows in the console's task lists, not a gateway.
        raise ImproperlyConfigured("grid and store tasks are created in the console, not sent")
    section = config.get(channel.value)
    if not isinstance(section, Mapping):
        raise ImproperlyConfigured(f"QUANWANG_CHANNELS has no section for {channel.value!r}")
    name = channel.value
    if channel == Channel.SMS:
        return SmsAdapter(config=config_from_mapping(SmsConfig, section, section=name))
    if channel == Channel.WECHAT:
        return WechatAdapter(config=config_from_mapping(WechatConfig, section, section=name))
    if channel == Channel.APP_PUSH:
        return AppPushAdapter(config=config_from_mapping(AppPushConfig, section, section=name))
    if channel == Channel.OUTBOUND_CALL:
        return CallListAdapter(config=config_from_mapping(CallListConfig, section, section=name))
    raise ImproperlyConfigured(f"no adapter for the channel {channel.value!r}")
