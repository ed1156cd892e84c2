"""Running a job in the foreground of a command, with a progress bar in the terminal."""

from __future__ import annotations

import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from quanwang.core.choices import Action, JobStatus, Resource
from quanwang.core.jobs import execute_job
from quanwang.core.models import Job
from quanwang.core.services.orgs import home_unit

# The account commands run as without `--user`: a superuser nobody can log in as.
SYSTEM_USERNAME = "system"


def system_actor() -> Any:
    """The system account (created on first use): jobs started from the CLI without a user
    belong to it, filed under the root org unit so province admins see them."""
    # get_or_create, because two commands started at once on a new database both find no
    # system account: Django's create-or-read-again keeps one (CI saw the second one fail).
    user, created = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={"is_superuser": True, "is_staff": False, "password": make_password(None)},
    )
    if not created and (user.has_usable_password() or not user.is_superuser or not user.is_active):
        # A person's login that happens to be called "system" must not run unscoped jobs.
        raise CommandError(
            _("The login %(u)s is not the system account; name a user with --user.")
            % {"u": SYSTEM_USERNAME}
        )
    return user


def command_actor(username: str | None) -> tuple[Any, Any]:
    """The user a command runs as (`--user`), and the org unit their jobs belong to.

    Without a user a command runs as the system account, unscoped, and its jobs belong to
    the root of the org tree (to no unit before the first org tree is loaded: they file
    under the root once it exists).
    """
    if not username:
        actor = system_actor()
        return actor, home_unit(user=actor, resource=Resource.JOB, action=Action.ADD)
    actor = get_user_model().objects.filter(username=username).first()
    if actor is None:
        raise CommandError(_("No such user: %(u)s") % {"u": username})
    org_unit = home_unit(user=actor, resource=Resource.JOB, action=Action.ADD)
    if org_unit is None and not actor.is_superuser:
        raise CommandError(_("This user may not run jobs."))
    return actor, org_unit


def run_with_progress(job: Job) -> Job:
    """Execute `job` here and now, drawing its stage and progress as it reports them."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    ) as progress:
        bar = progress.add_task(_("Starting"), total=None)

        def listen(current: Job) -> None:
            progress.update(
                bar,
                completed=current.done,
                total=current.total,
                description=current.stage or _("Working"),
            )

        return execute_job(job_id=job.pk, listener=listen)


def run_or_fail(job: Job) -> dict[str, Any]:
    """Run `job` with a progress bar; its result, or the command fails with the job's error."""
    finished = run_with_progress(job)
    if finished.status != JobStatus.SUCCEEDED:
        raise CommandError(finished.error or finished.get_status_display())
    return dict(finished.result or {})


class OneLineErrors:
    """A management command mixin: run from the command line, a CommandError is its message
    alone on stderr, one line in the user's language (no "CommandError:", no traceback unless
    --traceback), and the command exits with the error's returncode."""

    _called_from_command_line: bool | None

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)  # type: ignore[misc]
        except CommandError as exc:
            if not getattr(self, "_called_from_command_line", False) or options.get("traceback"):
                raise
            sys.stderr.write(" ".join(str(exc).split()) + "\n")
            sys.exit(exc.returncode)
