"""Background tasks run by the django-tasks database worker."""

from django_tasks import task

from quanwang.core.jobs import execute_job


@task()
def run_job(job_id: int) -> None:
    execute_job(job_id=job_id)
