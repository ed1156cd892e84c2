"""Background jobs of the channels app: each part registers its own handlers and nightly steps
(core.nightly) on import. The nightly steps read the warehouse, the snapshot and the
operations database, not each other's output, so their order does not matter."""

from quanwang.channels.commissions import job_handlers as _commissions  # noqa: F401
from quanwang.channels.funnel import job_handlers as _funnel  # noqa: F401
from quanwang.channels.geo import job_handlers as _geo  # noqa: F401
from quanwang.channels.scorecards import job_handlers as _scorecards  # noqa: F401
from quanwang.channels.stores import job_handlers as _stores  # noqa: F401
