"""The account file (集团客户档案): one record per enterprise of the warehouse's `enterprises`
table, kept in step with it by enterprise.accounts (sync), plus what only the console knows:
the hierarchy's history, the account team, the ownership model and merges."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.querysets import ScopedModel
from quanwang.enterprise.accounts.choices import ChangeKind, Source
from quanwang.enterprise.choices import (
    AccountGrade,
    AccountStatus,
    ManagerGrade,
    Ownership,
    ServiceLevel,
    TeamRole,
)

__all__ = [
    "Account",
    "AccountChange",
    "AccountManagerProfile",
    "AccountMember",
    "AccountMerge",
    "AccountProduct",
    "AccountTeamMember",
]


class Account(ScopedModel):
    scope_resource: ClassVar[Resource] = Resource.ENTERPRISE_ACCOUNT
    scope_org_path: ClassVar[str | None] = "org_unit__path"
    # An account manager's login (Reach.OWN) reaches the accounts whose team it is on.
    scope_owner: ClassVar[str | None] = "team_members__staff__user"

    enterprise_id = models.CharField(_("enterprise ID"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    # 集团 → 分支/下属单位; a cycle is refused (enterprise.accounts).
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
    )
    industry = models.CharField(_("industry"), max_length=40, blank=True)
    size = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    # The account's grid (an org unit of level grid) when it exists, else the nearest unit
    # above that does: scoping reads it.
    org_unit = models.ForeignKey(
        "core.OrgUnit",
        verbose_name=_("org unit"),
        on_delete=models.PROTECT,
        related_name="enterprise_accounts",
    )
    grid_id = models.CharField(_("grid ID"), max_length=40, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    ownership = models.CharField(
        _("ownership"), max_length=16, choices=Ownership.choices, default=Ownership.REGIONAL
    )
    # The lead account manager: the team member with TeamRole.LEAD, kept in step by the
    # accounts part's services (never set directly).
    account_manager = models.ForeignKey(
        "core.Staff",
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lead_accounts",
    )
    # The grade in force: the newest monthly grading (enterprise.grading) or, before the
    # first, the warehouse's imported grade.
    grade = models.CharField(_("grade"), max_length=1, choices=AccountGrade.choices, blank=True)
    service_level = models.CharField(
        _("service level"), max_length=16, choices=ServiceLevel.choices, blank=True
    )
    # Set when a merge folded this account into another (status MERGED).
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
    )
    # Whether the newest import of the warehouse's enterprises table still lists it.
    active = models.BooleanField(_("active"), default=True)
    synced_at = models.DateTimeField(_("synced at"), null=True, blank=True)
    # What the console decided wins over later imports (enterprise.accounts.services.sync).
    parent_source = models.CharField(
        _("parent set by"), max_length=16, choices=Source.choices, default=Source.IMPORT
    )
    ownership_source = models.CharField(
        _("ownership set by"), max_length=16, choices=Source.choices, default=Source.IMPORT
    )
    # Precomputed at sync time so the 360 page and the list never count members.
    member_count = models.PositiveIntegerField(_("members"), default=0)

    class Meta:
        verbose_name = _("enterprise account")
        verbose_name_plural = _("enterprise accounts")
        ordering: ClassVar[list[str]] = ["enterprise_id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["grade", "industry"], name="account_grade_industry"),
            models.Index(fields=["grid_id"], name="account_grid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.enterprise_id})"


class AccountTeamMember(ScopedModel):
    """One staff member on an account's team, with their role."""

    scope_resource: ClassVar[Resource] = Resource.ENTERPRISE_ACCOUNT
    scope_org_path: ClassVar[str | None] = "account__org_unit__path"
    scope_owner: ClassVar[str | None] = "account__team_members__staff__user"

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="team_members"
    )
    staff = models.ForeignKey(
        "core.Staff",
        verbose_name=_("staff member"),
        on_delete=models.CASCADE,
        related_name="account_teams",
    )
    role = models.CharField(_("role"), max_length=16, choices=TeamRole.choices)
    since = models.DateField(_("since"), null=True, blank=True)
    # A member the import put there (the warehouse's account manager) is replaced by a later
    # import; one added or made lead in the console is kept.
    source = models.CharField(
        _("added by"), max_length=16, choices=Source.choices, default=Source.CONSOLE
    )

    class Meta:
        verbose_name = _("account team member")
        verbose_name_plural = _("account team members")
        ordering: ClassVar[list[str]] = ["account", "role", "staff"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["account", "staff"], name="team_member_once"),
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(role="lead"),
                name="one_lead_per_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.staff_id}: {self.role}"


class AccountManagerProfile(ScopedModel):
    """An account manager's grade (初级 / 中级 / 高级). Moves are recorded by enterprise.work."""

    scope_resource: ClassVar[Resource] = Resource.ENTERPRISE_ACCOUNT
    scope_org_path: ClassVar[str | None] = "staff__org_unit__path"
    scope_owner: ClassVar[str | None] = "staff__user"

    staff = models.OneToOneField(
        "core.Staff",
        verbose_name=_("staff member"),
        on_delete=models.CASCADE,
        related_name="account_manager_profile",
    )
    grade = models.CharField(_("manager grade"), max_length=16, choices=ManagerGrade.choices)
    since = models.DateField(_("since"), null=True, blank=True)

    class Meta:
        verbose_name = _("account manager profile")
        verbose_name_plural = _("account manager profiles")
        ordering: ClassVar[list[str]] = ["staff"]

    def __str__(self) -> str:
        return f"{self.staff_id}: {self.grade}"


class _AccountScoped(ScopedModel):
    """Rows that belong to one account and are scoped as it is."""

    scope_resource: ClassVar[Resource] = Resource.ENTERPRISE_ACCOUNT
    scope_org_path: ClassVar[str | None] = "account__org_unit__path"
    scope_owner: ClassVar[str | None] = "account__team_members__staff__user"

    class Meta:
        abstract = True


class AccountProduct(_AccountScoped):
    """One product instance an account holds (the warehouse's enterprise_products), copied at
    sync time so the account page never reads the warehouse."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="products"
    )
    product_instance_id = models.CharField(_("product instance ID"), max_length=40, unique=True)
    # The warehouse's enterprise ID: after a merge the row points at the survivor, this keeps
    # where it came from.
    enterprise_id = models.CharField(_("enterprise ID"), max_length=40)
    product = models.CharField(_("product"), max_length=20)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    contract_end = models.DateField(_("contract end"), null=True, blank=True)
    monthly_fee_fen = models.BigIntegerField(_("monthly fee (fen)"), default=0)
    agreement = models.BooleanField(_("agreement"), default=False)
    bundled = models.BooleanField(_("bundled"), default=False)
    prepaid_fen = models.BigIntegerField(_("prepaid (fen)"), default=0)
    active = models.BooleanField(_("active"), default=True)
    synced_at = models.DateTimeField(_("synced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("account product")
        verbose_name_plural = _("account products")
        ordering: ClassVar[list[str]] = ["account", "contract_end", "product_instance_id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["account", "active", "contract_end"], name="account_product_end"),
        ]

    def __str__(self) -> str:
        return f"{self.product_instance_id}: {self.product}"


class AccountMember(_AccountScoped):
    """One member of an account (the warehouse's enterprise_members with the subscriber's
    number), copied at sync time so the account page lists members by an indexed lookup."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="members"
    )
    # The warehouse's enterprise ID the member is listed under (kept across a merge).
    enterprise_id = models.CharField(_("enterprise ID"), max_length=40)
    subscriber_id = models.CharField(_("subscriber ID"), max_length=40)
    msisdn = models.CharField(_("mobile number"), max_length=16, blank=True)
    role = models.CharField(_("member role"), max_length=16, blank=True)
    joined_date = models.DateField(_("joined"), null=True, blank=True)

    class Meta:
        verbose_name = _("account member")
        verbose_name_plural = _("account members")
        ordering: ClassVar[list[str]] = ["account", "subscriber_id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["enterprise_id", "subscriber_id"], name="account_member_once"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["account", "subscriber_id"], name="account_member_list"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id}/{self.subscriber_id}"


class AccountChange(_AccountScoped):
    """One entry of an account's history: a move in the hierarchy, an ownership change, a team
    change or a merge, with who did it and why."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="changes"
    )
    kind = models.CharField(_("change"), max_length=16, choices=ChangeKind.choices)
    before = models.CharField(_("before"), max_length=200, blank=True)
    after = models.CharField(_("after"), max_length=200, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    source = models.CharField(
        _("made by"), max_length=16, choices=Source.choices, default=Source.CONSOLE
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("account change")
        verbose_name_plural = _("account changes")
        ordering: ClassVar[list[str]] = ["account", "-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.kind}"


class AccountMerge(_AccountScoped):
    """Account `merged` folded into `account` (the survivor). One per merged account: a retry
    or a second click finds it instead of merging twice."""

    account = models.ForeignKey(
        Account,
        verbose_name=_("surviving account"),
        on_delete=models.PROTECT,
        related_name="merges",
    )
    merged = models.OneToOneField(
        Account,
        verbose_name=_("merged account"),
        on_delete=models.PROTECT,
        related_name="merge",
    )
    reason = models.TextField(_("reason"))
    # What each part re-pointed: {"accounts": {"members": 12, ...}, "persons": {...}}.
    moved = models.JSONField(_("moved"), default=dict)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    merged_at = models.DateTimeField(_("merged at"), auto_now_add=True)

    class Meta:
        verbose_name = _("account merge")
        verbose_name_plural = _("account merges")
        ordering: ClassVar[list[str]] = ["-merged_at"]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.account_id}"
