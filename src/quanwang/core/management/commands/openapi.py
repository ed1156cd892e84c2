import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

DEFAULT_PATH = Path("docs/openapi.json")


def render_schema() -> str:
    from quanwang.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1")
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


class Command(BaseCommand):
    help = _("Write the OpenAPI schema to a file, or check that the file is current.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, default=DEFAULT_PATH)
        parser.add_argument("--check", action="store_true", help=_("Fail on drift."))

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["output"]
        current = render_schema()
        if options["check"]:
            if not path.exists() or path.read_text(encoding="utf-8") != current:
                raise CommandError(
                    _("%(path)s is out of date with the API; run `quanwang openapi`.")
                    % {"path": path}
                )
            self.stdout.write(_("%(path)s is current.") % {"path": path})
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(current, encoding="utf-8")
        self.stdout.write(_("Wrote %(path)s.") % {"path": path})
