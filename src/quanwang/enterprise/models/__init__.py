"""The enterprise app's records, one module a part (see quanwang.enterprise)."""

from quanwang.enterprise.models.accounts import *  # noqa: F403
from quanwang.enterprise.models.grading import *  # noqa: F403
from quanwang.enterprise.models.persons import *  # noqa: F403
from quanwang.enterprise.models.pipeline import *  # noqa: F403
from quanwang.enterprise.models.work import *  # noqa: F403
