from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "quanwang.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        # Job handlers register themselves on import.
        from quanwang.core import job_handlers  # noqa: F401
