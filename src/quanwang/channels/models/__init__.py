"""The channels app's records, one module a part (see quanwang.channels)."""

from quanwang.channels.models.commissions import *  # noqa: F403
from quanwang.channels.models.geo import *  # noqa: F403
from quanwang.channels.models.scorecards import *  # noqa: F403
from quanwang.channels.models.stores import *  # noqa: F403
from quanwang.channels.models.visits import *  # noqa: F403
