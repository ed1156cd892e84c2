from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PerformanceConfig(AppConfig):
    name = "quanwang.performance"
    label = "performance"
    verbose_name = _("Targets, KPIs and incentives")

    def ready(self) -> None:
        # Job handlers and nightly steps register themselves on import.
        from quanwang.performance import job_handlers  # noqa: F401
