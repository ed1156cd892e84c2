from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.data.docs import render_data_model

DEFAULT_PATH = Path("docs/data-model.md")


class Command(BaseCommand):
    help = _("Write docs/data-model.md from the canonical schema, or check that it is current.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, default=DEFAULT_PATH)
        parser.add_argument("--check", action="store_true", help=_("Fail on drift."))

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["output"]
        current = render_data_model()
        if options["check"]:
            if not path.exists() or path.read_text(encoding="utf-8") != current:
                raise CommandError(
                    _("%(path)s is out of date; run `quanwang datamodel`.") % {"path": path}
                )
            return
        path.write_text(current, encoding="utf-8")
        self.stdout.write(_("Wrote %(path)s.") % {"path": path})
