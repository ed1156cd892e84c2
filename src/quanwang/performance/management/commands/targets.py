"""`quanwang targets set|decompose|show|warn`: set a target at the top, decompose it, show a
period's targets with their progress, raise the day's warnings for targets behind pace."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.choices import Action
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.terminal import OneLineErrors, command_actor
from quanwang.performance.models.targets import Target
from quanwang.performance.targets.progress import attainments
from quanwang.performance.targets.services import decompose, set_target
from quanwang.performance.targets.services.common import require_target
from quanwang.performance.targets.warnings import raise_target_warnings


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


class Command(OneLineErrors, BaseCommand):
    help = _("Set, decompose and show targets; raise the warnings of targets behind pace.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help=_("Run as this user (default: system)"))
        sub = parser.add_subparsers(dest="action", required=True)
        setting = sub.add_parser("set", help=_("Set a target."))
        setting.add_argument("--kpi", required=True)
        setting.add_argument("--period", required=True)
        setting.add_argument("--grain", default="org_unit")
        setting.add_argument("--key", required=True)
        setting.add_argument("--value", required=True)
        setting.add_argument("--deadline")
        setting.add_argument("--reason", default="")
        splitting = sub.add_parser("decompose", help=_("Decompose a unit's target."))
        splitting.add_argument("--target", type=int, required=True)
        splitting.add_argument("--rule", required=True)
        splitting.add_argument("--into", default="units")
        splitting.add_argument("--basis-kpi")
        splitting.add_argument("--manual", nargs="*", default=[], help="CODE=VALUE …")
        splitting.add_argument("--reason", default="")
        showing = sub.add_parser("show", help=_("Show a period's targets with their progress."))
        showing.add_argument("--period", required=True)
        sub.add_parser("warn", help=_("Raise today's warnings for targets behind pace."))

    def handle(self, *args: Any, **options: Any) -> None:
        actor, _unit = command_actor(options.get("user"))
        try:
            getattr(self, f"_{options['action']}")(actor, options)
        except NotFound as exc:
            raise CommandError(_("No such target or unit in this user's reach.")) from exc
        except ServiceError as exc:
            raise CommandError(
                f"{exc.field or ''}: {exc.message}" if exc.field else exc.message
            ) from exc

    def _set(self, actor: Any, options: dict[str, Any]) -> None:
        import datetime as dt

        deadline = dt.date.fromisoformat(options["deadline"]) if options["deadline"] else None
        made = set_target(
            kpi=options["kpi"],
            period=options["period"],
            grain=options["grain"],
            key=options["key"],
            value=options["value"],
            deadline=deadline,
            by=actor,
            reason=options["reason"],
        )
        self.stdout.write(_("Target #%(id)d: %(value)s.") % {"id": made.pk, "value": made.value})

    def _decompose(self, actor: Any, options: dict[str, Any]) -> None:
        manual = dict(item.split("=", 1) for item in options["manual"] if "=" in item)
        parent = require_target(actor, target_id=options["target"], action=Action.CHANGE)
        children = decompose(
            parent=parent,
            rule=options["rule"],
            into=options["into"],
            by=actor,
            basis_kpi=options["basis_kpi"],
            manual=manual or None,
            reason=options["reason"],
        )
        for child in children:
            self.stdout.write(f"{child.key}\t{child.value}")

    def _show(self, actor: Any, options: dict[str, Any]) -> None:
        found = attainments(period=options["period"])
        for t in (
            Target.objects.restrict(actor)
            .filter(period=options["period"])
            .order_by("kpi", "org_unit__path", "grain", "key")
        ):
            p = found.get((t.kpi, t.grain, t.key))
            self.stdout.write(
                "\t".join(
                    [
                        t.kpi,
                        t.grain,
                        t.key,
                        f"{t.value}",
                        "—" if p is None or p.actual_value is None else f"{p.actual_value:g}",
                        _percent(p.attainment if p else None),
                        _percent(p.pace if p else None),
                        "!" if p and p.behind else "",
                    ]
                )
            )

    def _warn(self, actor: Any, options: dict[str, Any]) -> None:
        raised = raise_target_warnings()
        self.stdout.write(
            _("%(new)d new warnings (%(all)d targets behind pace).")
            % {"new": sum(1 for r in raised if r.created), "all": len(raised)}
        )
