"""The console's navigation by the five capabilities. Each app lists its pages in `nav.py`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import Any

from django.apps import apps
from django.db import models
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.querysets import has_grant


class Capability(models.TextChoices):
    ANALYSE = "analyse", _("Analysis")
    PLAN = "plan", _("Planning")
    PROMOTE = "promote", _("Promotion")
    EXECUTE = "execute", _("Execution")
    SUPPORT = "support", _("Support")


@dataclass(frozen=True)
class NavItem:
    capability: Capability
    label: str | Promise
    url_name: str
    resource: Resource
    #: The grant that shows the entry (the page itself checks again).
    action: Action = Action.VIEW
    #: Only a grant of this reach shows it (Reach.SUBTREE: a page about a unit's records,
    #: which a login holding the grant over its own records only would not be shown); None:
    #: any reach.
    reach: Reach | None = None

    def url(self) -> str:
        return reverse(self.url_name)


@cache
def all_items() -> tuple[NavItem, ...]:
    """Every app's `nav.ITEMS`, in app order."""
    found: list[NavItem] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("quanwang."):
            continue
        try:
            module = import_module(f"{config.name}.nav")
        except ModuleNotFoundError:
            continue
        found.extend(module.ITEMS)
    return tuple(found)


def items_for(user: Any) -> dict[Capability, list[NavItem]]:
    """The pages this user may open, by capability; every capability is listed."""
    grouped: dict[Capability, list[NavItem]] = {c: [] for c in Capability}
    if not user.is_authenticated:
        return grouped
    for item in all_items():
        if has_grant(user, resource=item.resource, action=item.action, only=item.reach):
            grouped[item.capability].append(item)
    return grouped
