from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightConfig(AppConfig):
    name = "quanwang.insight"
    label = "insight"
    verbose_name = _("Customer insight")

    def ready(self) -> None:
        # Job handlers register themselves on import.
        from quanwang.insight import job_handlers  # noqa: F401
