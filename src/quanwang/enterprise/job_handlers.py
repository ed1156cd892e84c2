"""Background jobs of the enterprise app: each part registers its own handlers and nightly
steps (core.nightly) on import."""

from quanwang.enterprise.accounts import job_handlers as _accounts  # noqa: F401
from quanwang.enterprise.grading import job_handlers as _grading  # noqa: F401
from quanwang.enterprise.persons import job_handlers as _persons  # noqa: F401
from quanwang.enterprise.pipeline import job_handlers as _pipeline  # noqa: F401
from quanwang.enterprise.work import job_handlers as _work  # noqa: F401
