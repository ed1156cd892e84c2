"""Background jobs of the channels app: each part registers its own handlers on import."""

from quanwang.channels.commissions import job_handlers as _commissions  # noqa: F401
