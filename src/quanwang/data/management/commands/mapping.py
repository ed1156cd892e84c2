"""`quanwang mapping save NAME TABLE FILE.json` and `quanwang mapping list`."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.data.models import ImportMapping
from quanwang.data.schema import TABLES
from quanwang.data.services import save_mapping


class Command(BaseCommand):
    help = _("Save or list named column mappings for imports.")

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        save = actions.add_parser("save", help=_("Create or replace a mapping from a JSON file"))
        save.add_argument("name")
        save.add_argument("table", choices=sorted(TABLES))
        save.add_argument("file", type=Path)
        actions.add_parser("list", help=_("List the saved mappings"))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            # Names are unique per org unit: the unit's code tells two of one name apart.
            for mapping in ImportMapping.objects.select_related("org_unit"):
                unit = mapping.org_unit.code if mapping.org_unit else "-"
                self.stdout.write(f"{mapping.name}\t{mapping.table}\t{unit}")
            return
        path: Path = options["file"]
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        try:
            save_mapping(
                actor=None, name=options["name"], table=options["table"], spec=spec, org_unit=None
            )
        except ServiceError as exc:
            raise CommandError(f"{path}: {exc.message}") from exc
        self.stdout.write(_("Saved mapping %(n)s.") % {"n": options["name"]})
