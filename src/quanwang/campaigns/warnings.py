"""Early warnings (预警): units running behind their quota's pace, raised once a day per campaign
and unit, and sent to the unit's manager; an account manager behind their own quota (a
campaign split by account manager) is warned themselves.

`raise_warnings` records one `EarlyWarning` per unit behind plan (see
`services.execution_progress` and settings.QUANWANG_EARLY_WARNING) with its recipients; after
the commit, `deliver` sends it by SMS to those who have a mobile number on record, when an SMS
gateway is configured. Every warning is shown in the console whatever happens to the SMS.

Idempotent: a second run on the same day finds the day's rows and sends only what was not
accepted yet, each message with the key "warning-<id>:user-<id>", which the gateway uses to
drop a repeat of a send it did receive.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.campaigns.channels import OutboundMessage, SendResult, adapter_from_config
from quanwang.campaigns.channels.config import channels_config
from quanwang.campaigns.choices import CampaignState, Channel, WarningDelivery
from quanwang.campaigns.models import Campaign, EarlyWarning
from quanwang.campaigns.services import UnitProgress, execution_progress
from quanwang.core.choices import Action, OrgLevel, PiiKind, Role
from quanwang.core.masking import mask
from quanwang.core.models import OrgUnit, RoleAssignment, Staff

logger = logging.getLogger(__name__)

#: The role that manages each level of the org tree: the warning's recipients.
MANAGER_ROLES: Mapping[OrgLevel, Role] = {
    OrgLevel.GRID: Role.GRID_MANAGER,
    OrgLevel.COUNTY: Role.COUNTY_MANAGER,
    OrgLevel.CITY: Role.CITY_MARKETER,
    OrgLevel.GROUP: Role.PROVINCE_ADMIN,
}
#: Campaigns whose units are watched: issued (quotas set) or running.
WATCHED = frozenset({CampaignState.ISSUED, CampaignState.RUNNING})


class RecipientStatus(models.TextChoices):
    """What happened to the warning for one recipient (EarlyWarning.delivered[*].status)."""

    PENDING = "pending", gettext_lazy("Waiting to be sent")
    SENT = "sent", gettext_lazy("Accepted by the SMS gateway")
    FAILED = "failed", gettext_lazy("SMS not sent; retried at the next run")
    CONSOLE = "console", gettext_lazy("Shown in the console only")


@dataclass(frozen=True)
class Manager:
    user_id: int
    username: str
    name: str
    #: In full, to send to; only its masked form is stored.
    mobile: str
    #: Where the role is held: the unit itself, or the ancestor the lookup fell back to.
    unit: OrgUnit


def ancestors(unit: OrgUnit) -> list[OrgUnit]:
    """The unit's ancestors, nearest first."""
    parts = [p for p in unit.path.split("/") if p]
    paths = ["/" + "/".join(parts[:n]) + "/" for n in range(1, len(parts))]
    return sorted(OrgUnit.objects.filter(path__in=paths), key=lambda u: -len(u.path))


def unit_managers(*, unit: OrgUnit) -> list[Manager]:
    """Active users holding, at `unit`, the role that manages its level; when it has none, the
    managers of the nearest ancestor that has one. Empty when nobody up the tree manages."""
    for candidate in (unit, *ancestors(unit)):
        role = MANAGER_ROLES.get(OrgLevel(candidate.level))
        if role is None:
            continue
        assignments = list(
            RoleAssignment.objects.filter(org_unit=candidate, role=role, user__is_active=True)
            .select_related("user")
            .order_by("user__username")
        )
        if not assignments:
            continue
        staff = {
            s.user_id: s for s in Staff.objects.filter(user_id__in=[a.user_id for a in assignments])
        }
        return [
            Manager(
                user_id=a.user_id,
                username=a.user.get_username(),
                name=staff[a.user_id].name if a.user_id in staff else a.user.get_username(),
                mobile=staff[a.user_id].mobile if a.user_id in staff else "",
                unit=candidate,
            )
            for a in assignments
        ]
    return []


def _sms_configured() -> bool:
    return isinstance(channels_config().get(str(Channel.SMS)), Mapping)


def account_manager_recipients(*, staff: Staff) -> list[Manager]:
    """The account manager themselves, when they have an active login; else the managers of
    their org unit (as for a unit's warning)."""
    user = staff.user
    if user is not None and user.is_active:
        return [
            Manager(
                user_id=user.pk,
                username=user.get_username(),
                name=staff.name,
                mobile=staff.mobile,
                unit=staff.org_unit,
            )
        ]
    return unit_managers(unit=staff.org_unit)


def recipients(*, unit: OrgUnit, staff: Staff | None = None) -> list[dict[str, Any]]:
    """The `delivered` entries of a new warning about `unit` (or about `staff`'s own figures):
    shared by the campaigns' and the targets' warnings."""
    return _recipients(unit=unit, sms=_sms_configured(), account_manager=staff)


def unsent(warning: Any) -> list[dict[str, Any]]:
    """The recipients of a warning row still to be sent an SMS."""
    return _unsent(warning)


def _recipients(
    *, unit: OrgUnit, sms: bool, account_manager: Staff | None = None
) -> list[dict[str, Any]]:
    """One entry per manager (the account manager, for their own quota): by SMS when a
    gateway is configured and they have a number on record, else in the console only (and
    why)."""
    entries = []
    managers = (
        account_manager_recipients(staff=account_manager)
        if account_manager is not None
        else unit_managers(unit=unit)
    )
    for manager in managers:
        by_sms = sms and bool(manager.mobile)
        entries.append(
            {
                "user_id": manager.user_id,
                "user": manager.username,
                "name": manager.name,
                "unit": manager.unit.code,
                "delivery": str(WarningDelivery.SMS if by_sms else WarningDelivery.CONSOLE),
                "address": mask(manager.mobile, PiiKind.MSISDN),
                "status": str(RecipientStatus.PENDING if by_sms else RecipientStatus.CONSOLE),
                "detail": ""
                if by_sms
                else ("no mobile number on record" if sms else "no SMS gateway configured"),
            }
        )
    return entries


def _unsent(warning: Any) -> list[dict[str, Any]]:
    return [
        entry
        for entry in warning.delivered
        if entry.get("delivery") == WarningDelivery.SMS
        and entry.get("status") in (RecipientStatus.PENDING, RecipientStatus.FAILED)
    ]


@dataclass(frozen=True)
class Raised:
    warning: EarlyWarning
    #: False when the day's warning for the unit already existed (a second run).
    created: bool


def raise_warnings(*, campaign: Campaign, today: dt.date) -> list[Raised]:
    """One warning per unit of `campaign` behind plan on `today`, sent after the commit to the
    unit's managers. Running it again the same day adds no row and sends nothing already sent
    (a recipient whose SMS failed is tried again)."""
    # A store's quota is a share of its grid's: the grid's manager is warned for the grid.
    behind: list[UnitProgress] = [
        p
        for p in execution_progress(campaign=campaign, today=today)
        if p.behind and p.store is None
    ]
    if not behind:
        return []
    sms = _sms_configured()
    raised = []
    with transaction.atomic():
        for progress in behind:
            warning, created = EarlyWarning.objects.get_or_create(
                campaign=campaign,
                org_unit=progress.unit,
                account_manager=progress.account_manager,
                day=today,
                defaults={
                    "pace": progress.pace or 0.0,
                    "responders": progress.responders,
                    "expected": progress.expected_by_now,
                    # Called only when the row is created: a second run asks nobody.
                    "delivered": partial(
                        _recipients,
                        unit=progress.unit,
                        sms=sms,
                        account_manager=progress.account_manager,
                    ),
                    "delivery": WarningDelivery.CONSOLE,
                },
            )
            raised.append(Raised(warning=warning, created=created))
            if created:
                logger.info("%s", warning_text(warning))
            if _unsent(warning):
                # The SMS goes out only once the row is committed, so a rollback sends nothing.
                transaction.on_commit(partial(deliver, warning_id=warning.pk))
    return raised


def raise_all_warnings(*, today: dt.date) -> list[Raised]:
    """`raise_warnings` for every issued or running campaign (the cron command's use case)."""
    raised: list[Raised] = []
    for campaign in Campaign.objects.filter(state__in=WATCHED).exclude(audience_path=""):
        raised += raise_warnings(campaign=campaign, today=today)
    return raised


def warning_text(warning: EarlyWarning) -> str:
    """The warning as the manager reads it, in the deployment's language (Chinese)."""
    with translation.override(settings.LANGUAGE_CODE):
        unit = warning.org_unit.name
        if warning.account_manager is not None:
            unit = _("account manager %(name)s (%(unit)s)") % {
                "name": warning.account_manager.name,
                "unit": unit,
            }
        return _(
            "Early warning: campaign %(campaign)s, %(unit)s is behind plan on %(day)s: "
            "%(responders)s takers so far against %(expected)s expected by now "
            "(pace %(pace)s)."
        ) % {
            "campaign": warning.campaign.name,
            "unit": unit,
            "day": warning.day.isoformat(),
            "responders": warning.responders,
            "expected": f"{warning.expected:g}",
            "pace": f"{warning.pace:.0%}",
        }


def _warning_channels() -> dict[str, Any]:
    """QUANWANG_CHANNELS with the SMS section's opt-out instruction left off: a warning to
    staff is not marketing, so it carries no 回TD退订."""
    channels = channels_config()
    sms = channels.get(str(Channel.SMS))
    if isinstance(sms, Mapping):
        channels[str(Channel.SMS)] = {**sms, "opt_out_suffix": ""}
    return channels


def send_texts(*, step: str, entries: list[dict[str, Any]], text: str) -> list[SendResult] | str:
    """The gateway's results for sending `text` to the recipients `entries` (one entry of a
    warning's `delivered` list each), or why nothing could be sent. `step` names the warning
    ("warning-<id>", "target-warning-<id>"): with the user it makes the gateway's key, which
    drops a repeat of a send it did receive."""
    mobiles = dict(
        Staff.objects.filter(user_id__in=[e["user_id"] for e in entries]).values_list(
            "user_id", "mobile"
        )
    )
    messages = [
        OutboundMessage(
            campaign_step=step,
            subscriber_id=f"user-{entry['user_id']}",
            recipient=mobiles.get(entry["user_id"], ""),
            text=text,
        )
        for entry in entries
    ]
    try:
        adapter = adapter_from_config(channel=Channel.SMS, config=_warning_channels())
    except ImproperlyConfigured as exc:
        return str(exc)
    try:
        return adapter.send(messages)
    finally:
        adapter.close()


def deliver_record(
    *, model: type[models.Model], pk: int, step: str, text: Callable[[Any], str]
) -> Any:
    """Send the SMS of the warning row `model`#`pk` (a `delivered` list and a `delivery`
    field) that were not accepted yet, and record each result. Shared by the campaigns' and
    the targets' warnings. Safe to run again: an accepted recipient is not sent to again, and a
    repeat of a send the gateway did receive carries the same key, which it drops."""
    manager: Any = model._default_manager
    warning = manager.get(pk=pk)
    todo = _unsent(warning)
    outcome = send_texts(step=step, entries=todo, text=text(warning)) if todo else []
    updates: dict[int, dict[str, Any]] = {}
    for index, entry in enumerate(todo):
        if isinstance(outcome, str):
            updates[entry["user_id"]] = {"status": RecipientStatus.FAILED, "detail": outcome}
            continue
        result = outcome[index]
        updates[entry["user_id"]] = {
            "status": RecipientStatus.SENT if result.accepted else RecipientStatus.FAILED,
            "detail": result.gateway_message_id
            if result.accepted
            else f"{result.error}: {result.detail}",
            "sent_at": timezone.now().isoformat() if result.accepted else "",
        }
    with transaction.atomic():
        locked = manager.select_for_update().get(pk=pk)
        merged = []
        for entry in locked.delivered:
            change = updates.get(entry.get("user_id"))
            # A concurrent run may have got it through meanwhile: a success is never undone.
            if change and entry.get("status") != RecipientStatus.SENT:
                entry = {**entry, **{k: str(v) for k, v in change.items()}}
            merged.append(entry)
        locked.delivered = merged
        sent = any(e.get("status") == RecipientStatus.SENT for e in merged)
        locked.delivery = WarningDelivery.SMS if sent else WarningDelivery.CONSOLE
        locked.save(update_fields=["delivered", "delivery"])
    return locked


def deliver(*, warning_id: int) -> EarlyWarning:
    """Send the campaign warning's SMS that were not accepted yet (deliver_record)."""
    delivered: EarlyWarning = deliver_record(
        model=EarlyWarning, pk=warning_id, step=f"warning-{warning_id}", text=_campaign_text
    )
    return delivered


def _campaign_text(warning: EarlyWarning) -> str:
    return warning_text(
        EarlyWarning.objects.select_related("campaign", "org_unit", "account_manager").get(
            pk=warning.pk
        )
    )


@dataclass(frozen=True)
class ShownWarning:
    """A warning as the console lists it, with whom it was sent to in words."""

    warning: EarlyWarning
    sent_to: list[str]


def _shown(warning: EarlyWarning) -> ShownWarning:
    sent_to = []
    for entry in warning.delivered:
        who = " ".join(part for part in (entry.get("name"), entry.get("address")) if part)
        how = WarningDelivery(entry["delivery"]).label if entry.get("delivery") else ""
        status = RecipientStatus(entry["status"]).label if entry.get("status") else ""
        sent_to.append(f"{who} ({how}: {status})")
    return ShownWarning(warning=warning, sent_to=sent_to)


def open_warnings(*, user: Any, limit: int = 50) -> list[ShownWarning]:
    """The newest warning of each unit of every issued or running campaign, within what
    `user` may see: the dashboard's 预警 panel."""
    rows = (
        EarlyWarning.objects.restrict(user, Action.VIEW)
        .filter(campaign__state__in=WATCHED)
        .select_related("campaign", "org_unit", "account_manager")
        .order_by("-day", "org_unit__path")[: limit * 10]
    )
    newest: dict[tuple[int, int, int | None], EarlyWarning] = {}
    for warning in rows:
        key = (warning.campaign_id, warning.org_unit_id, warning.account_manager_id)
        newest.setdefault(key, warning)
    return [_shown(w) for w in list(newest.values())[:limit]]


def campaign_warnings(*, user: Any, campaign: Campaign) -> list[ShownWarning]:
    """Every warning of `campaign` that `user` may see, newest first."""
    return [
        _shown(w)
        for w in EarlyWarning.objects.restrict(user, Action.VIEW)
        .filter(campaign=campaign)
        .select_related("org_unit", "account_manager")
    ]
