"""Core records: the org tree, staff and roles, jobs, audit, API tokens."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from quanwang.core.choices import (
    JOB_LIVE,
    JOB_RETRYABLE,
    AuditAction,
    JobKind,
    JobStatus,
    OrgLevel,
    Resource,
    Role,
)
from quanwang.core.querysets import ScopedModel

org_code_validator = RegexValidator(
    r"^[A-Za-z0-9_-]+$", _("Use letters, digits, '-' and '_' only.")
)
msisdn_validator = RegexValidator(r"^\+?\d{6,15}$", _("Enter 6 to 15 digits."))


class OrgUnit(ScopedModel):
    """A unit of the operator's organisation: 集团/省 → 地市 → 区县/分局 → 网格."""

    scope_resource: ClassVar[Resource] = Resource.ORG_UNIT
    scope_org_path: ClassVar[str | None] = "path"

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[org_code_validator])
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    level = models.CharField(_("level"), max_length=16, choices=OrgLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Materialised path of codes, e.g. "/GD/GZ/GZ-TH/": a subtree is one prefix match.
    path = models.CharField(_("path"), max_length=400, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        ordering: ClassVar[list[str]] = ["path"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2

    def contains(self, other: OrgUnit) -> bool:
        return other.path.startswith(self.path)


class Staff(ScopedModel):
    """A person in the marketing organisation. The mobile number is personal data."""

    scope_resource: ClassVar[Resource] = Resource.STAFF
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="staff",
    )
    employee_no = models.CharField(_("employee number"), max_length=32, unique=True)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    mobile = models.CharField(_("mobile number"), max_length=16, validators=[msisdn_validator])
    title = models.CharField(_("job title"), max_length=50, blank=True)
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="staff"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering: ClassVar[list[str]] = ["org_unit__path", "employee_no"]

    def __str__(self) -> str:
        return f"{self.name} ({self.employee_no})"


class RoleAssignment(ScopedModel):
    """A role held by a user at an org unit; it reaches the unit's whole subtree."""

    scope_resource: ClassVar[Resource] = Resource.ROLE_ASSIGNMENT
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="role_assignments",
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    org_unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("org unit"),
        on_delete=models.CASCADE,
        related_name="role_assignments",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        ordering: ClassVar[list[str]] = ["org_unit__path", "role"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["user", "role", "org_unit"], name="unique_role_per_user_and_unit"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} @ {self.org_unit.name}"


class Job(ScopedModel):
    """A long piece of work run by the task worker, with progress the console can poll."""

    scope_resource: ClassVar[Resource] = Resource.JOB
    scope_org_path: ClassVar[str | None] = "org_unit__path"
    scope_owner: ClassVar[str | None] = "created_by"

    kind = models.CharField(_("kind"), max_length=40, choices=JobKind.choices)
    # Empty for system jobs run from the CLI (e.g. loading the first org tree).
    org_unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("org unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="jobs",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    stage = models.CharField(_("stage"), max_length=100, blank=True)
    done = models.BigIntegerField(_("done"), default=0)
    total = models.BigIntegerField(_("total"), null=True, blank=True)
    messages = models.JSONField(_("messages"), default=list, blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    # Also the fencing token of a run: a write of attempt N is refused once attempt N+1 exists.
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    task_result_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The lease of a running job: its process renews it every few seconds (core.jobs); once it
    # lapses, whoever notices marks the job interrupted (services.jobs.interrupt_lapsed_jobs).
    worker = models.CharField(_("worker"), max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["status", "lease_expires_at"], name="core_job_status_lease")
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}"

    @property
    def percent(self) -> int | None:
        if not self.total:
            return 100 if self.status == JobStatus.SUCCEEDED else None
        return min(100, int(self.done * 100 / self.total))

    @property
    def is_live(self) -> bool:
        """Queued or running: the console polls it and offers Cancel."""
        return self.status in JOB_LIVE

    @property
    def is_retryable(self) -> bool:
        return self.status in JOB_RETRYABLE


class WorkerHeartbeat(models.Model):
    """A job worker process that is alive: it rewrites `seen_at` every few seconds.

    Not scoped: it holds no business data, only whether jobs can run at all; the console shows
    its absence to those who may see jobs (core.context_processors).
    """

    worker_id = models.CharField(_("worker"), max_length=64, unique=True)
    hostname = models.CharField(_("host"), max_length=255)
    pid = models.PositiveIntegerField(_("process ID"))
    started_at = models.DateTimeField(_("started at"))
    seen_at = models.DateTimeField(_("last seen"), db_index=True)

    class Meta:
        verbose_name = _("job worker")
        verbose_name_plural = _("job workers")
        ordering: ClassVar[list[str]] = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"


class AuditRecord(ScopedModel):
    """Who saw or exported personal data, when, and why. Written once, never changed."""

    scope_resource: ClassVar[Resource] = Resource.AUDIT_RECORD
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_username = models.CharField(_("actor"), max_length=150)
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices)
    target_type = models.CharField(_("record type"), max_length=64)
    target_id = models.CharField(_("record"), max_length=64, blank=True)
    target_repr = models.CharField(_("what"), max_length=200)
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor_username} {self.get_action_display()} {self.target_repr}"


class ApiToken(ScopedModel):
    """A bearer token for /api/v1. Only a hash is stored; the secret is shown once."""

    scope_resource: ClassVar[Resource] = Resource.API_TOKEN
    scope_owner: ClassVar[str | None] = "user"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
