"""The performance app's records, one module a part (see quanwang.performance)."""

from quanwang.performance.models.actuals import *  # noqa: F403
from quanwang.performance.models.boards import *  # noqa: F403
from quanwang.performance.models.grades import *  # noqa: F403
from quanwang.performance.models.incentives import *  # noqa: F403
from quanwang.performance.models.kpis import *  # noqa: F403
from quanwang.performance.models.targets import *  # noqa: F403
