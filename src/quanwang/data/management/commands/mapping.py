"""`quanwang mapping save NAME TABLE FILE.json [--as USER] [--org CODE]` and `quanwang mapping
list`. A saved mapping belongs to an org unit, as one saved in the console does, so the
console's users of that unit and above see and use it (docs/mappings.md)."""

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.services.orgs import home_unit
from quanwang.core.terminal import OneLineErrors
from quanwang.data.models import ImportMapping
from quanwang.data.schema import TABLES
from quanwang.data.services import save_mapping


class Command(OneLineErrors, BaseCommand):
    help = _("Save or list named column mappings for imports.")

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        save = actions.add_parser("save", help=_("Create or replace a mapping from a JSON file"))
        save.add_argument("name")
        save.add_argument(
            "table",
            metavar="TABLE",
            help=_("the table it loads: %(tables)s") % {"tables": ", ".join(sorted(TABLES))},
        )
        save.add_argument("file", type=Path)
        save.add_argument(
            "--user",
            "--as",
            dest="user",
            help=_("Save as this user, at their unit (default: system, at the root unit)"),
        )
        save.add_argument(
            "--org",
            help=_("Code of the org unit the mapping belongs to; its users and those above see it"),
        )
        actions.add_parser("list", help=_("List the saved mappings"))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            # Names are unique per org unit: the unit's code tells two of one name apart.
            for mapping in ImportMapping.objects.select_related("org_unit"):
                unit = mapping.org_unit.code if mapping.org_unit else "-"
                self.stdout.write(f"{mapping.name}\t{mapping.table}\t{unit}")
            return
        if options["table"] not in TABLES:
            raise CommandError(
                _("Unknown table %(t)s; the tables are %(tables)s.")
                % {"t": options["table"], "tables": ", ".join(sorted(TABLES))}
            )
        path: Path = options["file"]
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(
                _("%(file)s: the file cannot be read (%(detail)s)")
                % {"file": path, "detail": exc.strerror or exc}
            ) from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(
                _("%(file)s: not a JSON mapping (%(detail)s)") % {"file": path, "detail": exc}
            ) from exc
        actor = self._actor(options["user"])
        org_unit = self._unit(options["org"], actor)
        try:
            save_mapping(
                actor=actor, name=options["name"], table=options["table"], spec=spec,
                org_unit=org_unit,
            )  # fmt: skip
        except NotFound as exc:
            raise CommandError(
                _("%(user)s may not add mappings at %(unit)s.")
                % {"user": options["user"], "unit": org_unit.code if org_unit else "-"}
            ) from exc
        except ServiceError as exc:
            raise CommandError(f"{path}: {exc.message}") from exc
        if org_unit is None:
            self.stdout.write(
                _(
                    "Saved mapping %(n)s. There is no org tree yet: it belongs to no unit and "
                    "only the command line and superusers see it; save it again once the org "
                    "tree is loaded."
                )
                % {"n": options["name"]}
            )
            return
        self.stdout.write(
            _("Saved mapping %(n)s at %(unit)s.") % {"n": options["name"], "unit": org_unit.name}
        )

    @staticmethod
    def _actor(username: str | None) -> Any:
        if not username:
            return None  # the system: no scope to check
        actor = get_user_model().objects.filter(username=username, is_active=True).first()
        if actor is None:
            raise CommandError(_("No such user: %(u)s") % {"u": username})
        return actor

    @staticmethod
    def _unit(code: str | None, actor: Any) -> OrgUnit | None:
        """`--org`, else the user's highest unit where they may add mappings, else (the
        system) the root of the org tree; None before there is one."""
        if code:
            unit = OrgUnit.objects.filter(code=code).first()
            if unit is None:
                raise CommandError(_("No org unit with code %(c)s.") % {"c": code})
            return unit
        if actor is not None:
            unit = home_unit(user=actor, resource=Resource.IMPORT_MAPPING, action=Action.ADD)
            if unit is None:
                raise CommandError(
                    _("%(user)s may not add mappings.") % {"user": actor.get_username()}
                )
            return unit
        return OrgUnit.objects.filter(parent=None).order_by("path").first()
