"""`quanwang generate --subscribers N --months M --seed S --out DIR`: a synthetic operator."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.data.generator import GeneratorConfig, generate


class Command(BaseCommand):
    help = _(
        "Write a synthetic operator: every canonical table as Parquet, the ground truth and a "
        "manifest."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--subscribers", type=int, default=10_000, help=_("Mobile subscribers at the start")
        )
        parser.add_argument("--months", type=int, default=12, help=_("Months of history"))
        parser.add_argument("--seed", type=int, default=0, help=_("Same seed, same files"))
        parser.add_argument(
            "--out", type=Path, required=True, help=_("Folder to write the files to")
        )
        parser.add_argument(
            "--start-month", default="2024-01", help=_("First month, YYYY-MM (default 2024-01)")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = GeneratorConfig(
                subscribers=options["subscribers"],
                months=options["months"],
                seed=options["seed"],
                start_month=options["start_month"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        out: Path = options["out"]
        if out.exists() and not out.is_dir():
            raise CommandError(_("Not a folder: %(path)s") % {"path": out})
        verbose = options["verbosity"] >= 1
        manifest = generate(config, out, progress=self.stdout.write if verbose else None)
        if not verbose:
            return
        counts = {**manifest["tables"], **manifest["ground_truth"]}
        for name, rows in counts.items():
            self.stdout.write(f"  {name:<22}{rows:>14,}")
        self.stdout.write(_("Wrote %(path)s") % {"path": out / "manifest.json"})
