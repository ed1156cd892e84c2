"""`quanwang kpis list | show CODE | add --file def.json | check --file def.json`: the KPI
catalogue at the command line; custom KPIs are added from a small JSON definition, checked as
the form checks it (performance.kpis.custom)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.terminal import OneLineErrors, command_actor
from quanwang.performance.kpis.catalogue import builtins, catalogue, get, missing_inputs


class Command(OneLineErrors, BaseCommand):
    help = _("List, show, check and add KPIs.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=("list", "show", "add", "check"))
        parser.add_argument("code", nargs="?", help=_("the KPI's code (show)"))
        parser.add_argument("--file", help=_("a JSON file of a custom KPI's definition"))
        parser.add_argument("--user", help=_("Run as this user (default: system)"))

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "list":
                for kpi in catalogue().values():
                    self.stdout.write(
                        f"{kpi.code}\t{kpi.name}\t{kpi.unit}\t{kpi.aggregation.label}\t"
                        f"{kpi.over_time.label}"
                    )
            elif action == "show":
                self._show(options["code"])
            else:
                definition = self._read(options["file"])
                if action == "check":
                    from quanwang.performance.kpis.custom import check_definition

                    checked = check_definition(definition, taken=tuple(builtins()))
                    self.stdout.write(
                        _("%(code)s: the definition checks and runs.") % {"code": checked.code}
                    )
                else:
                    from quanwang.performance.kpis.services import save_custom_kpi

                    actor, _unit = command_actor(options["user"])
                    saved = save_custom_kpi(user=actor, data=definition)
                    self.stdout.write(_("%(code)s saved.") % {"code": saved.code})
        except NotFound as exc:
            raise CommandError(_("This user may not add KPIs.")) from exc
        except ServiceError as exc:
            where = f" [{exc.field}]" if exc.field else ""
            raise CommandError(f"{exc.message}{where}") from exc

    def _show(self, code: str | None) -> None:
        if not code:
            raise CommandError(_("Name the KPI's code."))
        kpi = get(code)
        lines = [
            f"{kpi.code}: {kpi.name} ({kpi.unit})",
            f"{_('Direction')}: {kpi.direction.label}",
            f"{_('Aggregation')}: {kpi.aggregation.label}",
            f"{_('Over time')}: {kpi.over_time.label}",
            f"{_('Grains')}: {', '.join(str(g.label) for g in sorted(kpi.grains))}",
            f"{_('Fact tables')}: {', '.join(kpi.inputs)}",
        ]
        missing = missing_inputs(kpi)
        if missing:
            lines.append(f"{_('Missing fact tables')}: {', '.join(missing)}")
        if kpi.description:
            lines.append(str(kpi.description))
        self.stdout.write("\n".join(lines))

    def _read(self, name: str | None) -> dict[str, Any]:
        if not name:
            raise CommandError(_("Name the definition's file with --file."))
        try:
            found = json.loads(Path(name).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": name, "error": exc}
            ) from exc
        if not isinstance(found, dict):
            raise CommandError(_("The definition is a JSON object."))
        return found
