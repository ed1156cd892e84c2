"""The `quanwang` command: the management commands users need, with help in 中文 and English."""

from __future__ import annotations

import os
import sys

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Commands shown in `quanwang --help`; every other Django command works too.
COMMANDS = [
    ("serve", gettext_lazy("Serve the console and run the job worker (http://127.0.0.1:8000)")),
    ("demo", gettext_lazy("Build the demo operator and print its logins")),
    ("worker", gettext_lazy("Run the background job worker (production)")),
    ("generate", gettext_lazy("Write a synthetic operator (every table + ground truth)")),
    ("import", gettext_lazy("Import a file, e.g. quanwang import subscribers FILE.csv")),
    ("mapping", gettext_lazy("Save or list column mappings for imports")),
    (
        "run-pipeline",
        gettext_lazy(
            "Build the customer wide table, e.g. quanwang run-pipeline --snapshot 2024-06"
        ),
    ),
    (
        "train-churn",
        gettext_lazy("Train the churn model on the wide table, e.g. --snapshot 2024-12"),
    ),
    (
        "train-model",
        gettext_lazy("Train a yes/no model on any file or table, chosen by cross-validation"),
    ),
    (
        "evaluate-experiment",
        gettext_lazy("Lift of an experiment from a file, e.g. quanwang evaluate-experiment FILE"),
    ),
    ("sync-stores", gettext_lazy("Bring the store file in step with the stores table")),
    ("sync-accounts", gettext_lazy("Bring the account file in step with the warehouse")),
    ("regrade-stores", gettext_lazy("Grade the stores of a month, e.g. --month 2024-06")),
    (
        "regrade-accounts",
        gettext_lazy("Grade the enterprise accounts of a month, e.g. --month 2024-06"),
    ),
    (
        "assign-grids",
        gettext_lazy("Assign customers, stores and enterprises to grids by their coordinates"),
    ),
    ("scorecards", gettext_lazy("Build the grid scorecards and print a grid or a county")),
    (
        "commissions",
        gettext_lazy(
            "Compute or approve a month's commission statements, e.g. quanwang commissions "
            "--month 2024-06"
        ),
    ),
    ("migrate", gettext_lazy("Create or upgrade the database tables")),
    ("createsuperuser", gettext_lazy("Create a platform superuser")),
    ("openapi", gettext_lazy("Write or check the committed OpenAPI schema")),
]
NO_DATABASE_COMMANDS = {
    "help",
    "openapi",
    "datamodel",
    "generate",
    "evaluate-experiment",
    "makemigrations",
    "makemessages",
    "compilemessages",
}


def pick_language(argv: list[str]) -> tuple[str, list[str]]:
    """`--lang en|zh` on the command line, else QUANWANG_LANG or LANG; Chinese by default."""
    chosen = os.environ.get("QUANWANG_LANG") or os.environ.get("LANG", "")
    rest: list[str] = []
    skip = False
    for index, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "--lang" and index + 1 < len(argv):
            chosen, skip = argv[index + 1], True
        elif arg.startswith("--lang="):
            chosen = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return ("en" if chosen.lower().startswith("en") else "zh-hans"), rest


def print_help() -> None:
    print(_("Quanwang (全网) — marketing operations for telecom and cable-TV operators"))
    print()
    print(_("Usage: quanwang COMMAND [OPTIONS]   (quanwang COMMAND --help for details)"))
    print(_("Options: --lang zh|en   language of messages and help"))
    print()
    print(_("Commands:"))
    for name, text in COMMANDS:
        print(f"  {name:<16} {text}")
    print()
    print(_("Settings come from the environment: DATABASE_URL, QUANWANG_DEBUG, QUANWANG_VAR_DIR."))


def _said_in(language: str, exc: Exception) -> str:
    """A settings problem in the CLI's language. The settings did not load, so translation
    runs on a minimal configuration of its own: the catalogues and nothing else."""
    from pathlib import Path

    from django.apps import apps
    from django.conf import settings
    from django.utils import translation

    from quanwang.config import ConfigError

    if not isinstance(exc, ConfigError):
        return str(exc)
    try:
        if not settings.configured:
            settings.configure(
                USE_I18N=True,
                LANGUAGE_CODE=language,
                LOCALE_PATHS=[Path(__file__).resolve().parent / "locale"],
                INSTALLED_APPS=[],
            )
        if not apps.ready:
            apps.populate([])
        with translation.override(language):
            return exc.translated()
    except Exception:  # the message must come out even if translating it fails
        return str(exc)


def main(argv: list[str] | None = None) -> int:
    language, args = pick_language(list(sys.argv[1:] if argv is None else argv))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    # OpenMP threads (LightGBM's, scikit-learn's) that sleep when idle instead of spinning:
    # on a busy two-core machine, 100 rounds of LightGBM on 80,000 rows took 50 s on two
    # spinning threads against 3.5 s on one; passive, two took 3.5 s. Read when the OpenMP
    # runtime loads, so before any model library is imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from quanwang.config import ConfigError

    try:
        import django

        django.setup()
    except ConfigError as exc:
        print(f"quanwang: {_said_in(language, exc)}", file=sys.stderr)
        return 2
    from django.core.management import execute_from_command_line
    from django.utils import translation

    translation.activate(language)
    if not args or (args[0] in {"-h", "--help", "help"} and len(args) == 1):
        print_help()
        return 0
    wants_help = "-h" in args or "--help" in args
    if args[0] not in NO_DATABASE_COMMANDS and not wants_help:
        from quanwang.core.database import database_problem

        problem = database_problem()
        if problem:
            print(f"quanwang: {problem}", file=sys.stderr)
            return 2
    execute_from_command_line(["quanwang", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
