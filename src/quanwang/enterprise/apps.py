from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnterpriseConfig(AppConfig):
    name = "quanwang.enterprise"
    label = "enterprise"
    verbose_name = _("Enterprise customers")

    def ready(self) -> None:
        # Job handlers and nightly steps register themselves on import.
        from quanwang.enterprise import job_handlers  # noqa: F401
