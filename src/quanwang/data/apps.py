from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataConfig(AppConfig):
    name = "quanwang.data"
    label = "data"
    verbose_name = _("Operator data")

    def ready(self) -> None:
        # Job handlers register themselves on import.
        from quanwang.data import job_handlers  # noqa: F401
