"""A management command that writes a file generated from code, or checks it has not drifted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _


class GeneratedFileCommand(BaseCommand):
    default_path: Path
    fix_command: str

    def render(self) -> str:
        raise NotImplementedError

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, default=self.default_path)
        parser.add_argument("--check", action="store_true", help=_("Fail on drift."))

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["output"]
        current = self.render()
        if options["check"]:
            if not path.exists() or path.read_text(encoding="utf-8") != current:
                raise CommandError(
                    _("%(path)s is out of date; run `%(command)s`.")
                    % {"path": path, "command": self.fix_command}
                )
            self.stdout.write(_("%(path)s is current.") % {"path": path})
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(current, encoding="utf-8")
        self.stdout.write(_("Wrote %(path)s.") % {"path": path})
