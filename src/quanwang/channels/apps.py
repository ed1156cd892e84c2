from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "quanwang.channels"
    label = "channels"
    verbose_name = _("Channels and grids")

    def ready(self) -> None:
        # Job handlers register themselves on import.
        from quanwang.channels import job_handlers  # noqa: F401
