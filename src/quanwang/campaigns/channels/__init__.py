"""Channel adapters: the dispatch job's one way to reach customers (see docs/campaigns-dispatch.md).

Each adapter takes `OutboundMessage`s and returns one `SendResult` per message, in order;
`adapter_from_config` builds one from the deployment's `QUANWANG_CHANNELS`.
"""

from quanwang.campaigns.channels.base import (
    ChannelAdapter,
    OutboundMessage,
    SendError,
    SendResult,
    SendStatus,
)
from quanwang.campaigns.channels.config import adapter_from_config

__all__ = [
    "ChannelAdapter",
    "OutboundMessage",
    "SendError",
    "SendResult",
    "SendStatus",
    "adapter_from_config",
]
