"""`quanwang issue-to-stores CAMPAIGN ST-1=60/12 ST-2=40/8 [--deadline 2024-07-31]`: issue an
issued campaign to stores, each its share of its grid's quota (campaigns.store_quotas);
`--even 0.6` shares 60% of each grid's treated customers evenly over the stores named."""

# ruff: noqa: N999

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.campaigns.models import Campaign, Quota
from quanwang.campaigns.store_quotas import (
    StoreShare,
    even_shares,
    issue_to_stores,
    stores_in_reach,
)
from quanwang.core.errors import ServiceError
from quanwang.core.terminal import command_actor

SHARE = re.compile(r"(?P<store>[^=\s]+)=(?P<audience>\d+)/(?P<target>\d+)")


class Command(BaseCommand):
    help = _("Issue an issued campaign to stores, each a share of its grid's quota.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", type=int, help=_("the campaign's number"))
        parser.add_argument(
            "shares", nargs="*", help=_("STORE=CUSTOMERS/TAKERS, e.g. ST-1=60/12 (0/0 removes)")
        )
        parser.add_argument("--deadline", help=_("the stores' deadline, YYYY-MM-DD"))
        parser.add_argument(
            "--even",
            type=float,
            help=_("share this part (0 to 1) of each grid's customers evenly over the stores"),
        )
        parser.add_argument("--user", help=_("Run as this user (default: system)"))

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = Campaign.objects.filter(pk=options["campaign"]).first()
        if campaign is None:
            raise CommandError(_("No campaign %(id)s.") % {"id": options["campaign"]})
        deadline = None
        if options["deadline"]:
            try:
                deadline = dt.date.fromisoformat(options["deadline"])
            except ValueError as exc:
                raise CommandError(_("--deadline: not a date, write YYYY-MM-DD")) from exc
        actor, _unit = command_actor(options["user"])
        try:
            shares = self._shares(campaign, options, actor=actor, deadline=deadline)
            quotas = issue_to_stores(actor=actor, campaign_id=campaign.pk, shares=shares)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        for quota in quotas:
            self.stdout.write(
                _("%(store)s: %(audience)d customers, %(target)d takers, by %(deadline)s")
                % {
                    "store": quota.store.store_id if quota.store else "",
                    "audience": quota.audience,
                    "target": quota.target,
                    "deadline": quota.deadline,
                }
            )

    def _shares(
        self, campaign: Campaign, options: dict[str, Any], *, actor: Any, deadline: Any
    ) -> list[StoreShare]:
        if options["even"] is not None:
            if not 0 < options["even"] <= 1:
                raise CommandError(_("--even: a part between 0 and 1, e.g. 0.6"))
            stores = stores_in_reach(user=actor, campaign=campaign)
            if options["shares"]:
                stores = stores.filter(store_id__in=options["shares"])
            quotas = Quota.objects.filter(campaign=campaign, store__isnull=True)
            audience = sum(q.audience for q in quotas) or 1
            return [
                StoreShare(
                    store_id=s.store_id, audience=s.audience, target=s.target, deadline=deadline
                )
                for s in even_shares(
                    campaign=campaign,
                    stores=list(stores),
                    take_rate=sum(q.target for q in quotas) / audience,
                    portion=options["even"],
                )
                if s.audience
            ]
        shares = []
        for given in options["shares"]:
            found = SHARE.fullmatch(given)
            if found is None:
                raise CommandError(
                    _("%(share)s: write a store's share as STORE=CUSTOMERS/TAKERS, e.g. ST-1=60/12")
                    % {"share": given}
                )
            shares.append(
                StoreShare(
                    store_id=found["store"],
                    audience=int(found["audience"]),
                    target=int(found["target"]),
                    deadline=deadline,
                )
            )
        return shares
