from django.utils.translation import gettext as _
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand


class Command(DbWorkerCommand):
    help = _("Run the background job worker (imports, pipeline runs, dispatch).")
