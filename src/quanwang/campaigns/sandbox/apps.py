from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxConfig(AppConfig):
    name = "quanwang.campaigns.sandbox"
    label = "sandbox"
    verbose_name = _("Demo sandbox gateways")
