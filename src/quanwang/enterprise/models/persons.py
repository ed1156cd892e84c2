"""Key persons (关键人) of enterprise accounts: who they are, their roles on each account, how we
rate them, who influences whom, and the care moments (关怀) we keep for them.

A person is reached through the accounts they hold a role on (KeyPersonRole): the account's
org unit for those who follow a unit, the account team for account managers (Reach.OWN).
The name and mobile are personal data, masked unless the user holds VIEW_PII (persons.pii).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from quanwang.core.choices import Action, Resource
from quanwang.core.querysets import RestrictedQuerySet, ScopedModel
from quanwang.enterprise.choices import PersonRole

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

__all__ = [
    "Attitude",
    "CareAction",
    "CareKind",
    "CareMoment",
    "CareStatus",
    "Festival",
    "Gender",
    "Influence",
    "KeyPerson",
    "KeyPersonRole",
    "PersonRating",
]

_ACCOUNT_PATH = "account__org_unit__path"
_ACCOUNT_TEAM = "account__team_members__staff__user"


class Gender(models.TextChoices):
    MALE = "m", _("Male")
    FEMALE = "f", _("Female")


class Attitude(models.TextChoices):
    """How the person stands towards us, from their ratings."""

    SUPPORT = "support", _("Supportive")
    NEUTRAL = "neutral", _("Neutral")
    OPPOSE = "oppose", _("Opposed")


class CareKind(models.TextChoices):
    BIRTHDAY = "birthday", _("Birthday")
    FESTIVAL = "festival", _("Festival")
    PROMOTION = "promotion", _("Promotion")
    ILLNESS = "illness", _("Illness")
    BEREAVEMENT = "bereavement", _("Bereavement")
    SETBACK = "setback", _("Setback")
    OTHER = "other", _("Other")


# Kinds that come back every year: the next year's moment is generated from the last one.
RECURRING_KINDS = frozenset({CareKind.BIRTHDAY, CareKind.FESTIVAL})


class Festival(models.TextChoices):
    """The festivals the care calendar knows (their dates: persons.festivals)."""

    NEW_YEAR = "new_year", _("New Year's Day")
    SPRING = "spring", _("Spring Festival")
    LANTERN = "lantern", _("Lantern Festival")
    LABOUR = "labour", _("Labour Day")
    DRAGON_BOAT = "dragon_boat", _("Dragon Boat Festival")
    MID_AUTUMN = "mid_autumn", _("Mid-Autumn Festival")
    NATIONAL = "national", _("National Day")


class CareStatus(models.TextChoices):
    DUE = "due", _("Due")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")


class ThroughRolesQuerySet(RestrictedQuerySet):
    """Scoping that goes through a to-many join (a person's roles on several accounts): the
    plain filter would repeat a row once per matching account, so narrow by primary key."""

    def restrict(
        self, user: AbstractBaseUser | AnonymousUser, action: Action = Action.VIEW
    ) -> Self:
        scoped = super().restrict(user, action)
        if scoped is self:
            return self
        return self.filter(pk__in=scoped.values("pk"))


class KeyPerson(ScopedModel):
    """A person who matters at one or more accounts (决策人, 影响人, 使用人 …)."""

    scope_resource: ClassVar[Resource] = Resource.KEY_PERSON
    scope_org_path: ClassVar[str | None] = "roles__" + _ACCOUNT_PATH
    scope_owner: ClassVar[str | None] = "roles__" + _ACCOUNT_TEAM

    objects = ThroughRolesQuerySet.as_manager()  # type: ignore[misc]  # a narrower manager

    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    # Personal data; one person per number (the import links a second account's row to it).
    mobile = models.CharField(_("mobile number"), max_length=16, unique=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    # How to address them (处长, 总); the title at each account is on KeyPersonRole.
    title = models.CharField(_("title"), max_length=50, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True, max_length=2000)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("key person")
        verbose_name_plural = _("key persons")
        ordering: ClassVar[list[str]] = ["pk"]

    def __str__(self) -> str:
        # Never the name or number: str() ends up in logs and admin lists.
        return f"KeyPerson#{self.pk}"


class KeyPersonRole(ScopedModel):
    """A person's role on one account; the same person may hold roles on several accounts."""

    scope_resource: ClassVar[Resource] = Resource.KEY_PERSON
    scope_org_path: ClassVar[str | None] = _ACCOUNT_PATH
    scope_owner: ClassVar[str | None] = _ACCOUNT_TEAM

    objects = ThroughRolesQuerySet.as_manager()  # type: ignore[misc]  # a narrower manager

    account = models.ForeignKey(
        "enterprise.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="key_person_roles",
    )
    person = models.ForeignKey(
        KeyPerson, verbose_name=_("key person"), on_delete=models.CASCADE, related_name="roles"
    )
    role = models.CharField(_("role"), max_length=16, choices=PersonRole.choices)
    # Their job title at that account (总经理, 信息部主任 …).
    title = models.CharField(_("job title"), max_length=50, blank=True)
    since = models.DateField(_("since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("key person role")
        verbose_name_plural = _("key person roles")
        ordering: ClassVar[list[str]] = ["account", "role", "person"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["account", "person", "role"], name="key_person_role_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.person_id}: {self.role}"


class PersonRating(ScopedModel):
    """One rating of a person at an account; the newest (rated_on, then pk) is in force and
    the older ones are kept as history."""

    scope_resource: ClassVar[Resource] = Resource.KEY_PERSON
    scope_org_path: ClassVar[str | None] = _ACCOUNT_PATH
    scope_owner: ClassVar[str | None] = _ACCOUNT_TEAM

    objects = ThroughRolesQuerySet.as_manager()  # type: ignore[misc]  # a narrower manager

    person = models.ForeignKey(
        KeyPerson, verbose_name=_("key person"), on_delete=models.CASCADE, related_name="ratings"
    )
    account = models.ForeignKey(
        "enterprise.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="person_ratings",
    )
    influence = models.PositiveSmallIntegerField(
        _("influence"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    attitude = models.CharField(_("attitude"), max_length=16, choices=Attitude.choices)
    relationship = models.PositiveSmallIntegerField(
        _("relationship strength"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    rated_on = models.DateField(_("rated on"))
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("key person rating")
        verbose_name_plural = _("key person ratings")
        ordering: ClassVar[list[str]] = ["-rated_on", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=models.Q(influence__gte=1, influence__lte=5),
                name="person_rating_influence_1_5",
            ),
            models.CheckConstraint(
                condition=models.Q(relationship__gte=1, relationship__lte=5),
                name="person_rating_relationship_1_5",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["account", "person", "rated_on"], name="person_rating_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.person_id}@{self.rated_on}"


class Influence(ScopedModel):
    """Who influences whom at an account (an edge of the relationship map)."""

    scope_resource: ClassVar[Resource] = Resource.KEY_PERSON
    scope_org_path: ClassVar[str | None] = _ACCOUNT_PATH
    scope_owner: ClassVar[str | None] = _ACCOUNT_TEAM

    objects = ThroughRolesQuerySet.as_manager()  # type: ignore[misc]  # a narrower manager

    account = models.ForeignKey(
        "enterprise.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="person_influences",
    )
    source = models.ForeignKey(
        KeyPerson,
        verbose_name=_("influencer"),
        on_delete=models.CASCADE,
        related_name="influences_given",
    )
    target = models.ForeignKey(
        KeyPerson,
        verbose_name=_("influenced"),
        on_delete=models.CASCADE,
        related_name="influences_received",
    )
    strength = models.PositiveSmallIntegerField(
        _("strength"), default=3, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )

    class Meta:
        verbose_name = _("influence")
        verbose_name_plural = _("influences")
        ordering: ClassVar[list[str]] = ["account", "source", "target"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["account", "source", "target"], name="influence_once"),
            models.CheckConstraint(
                condition=~models.Q(source=models.F("target")), name="influence_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.source_id}->{self.target_id}"


class CareMoment(ScopedModel):
    """One dated occasion to show care (关怀): a birthday, a festival, a promotion, an illness.

    Birthdays and festivals recur: each row is one year's occurrence, and the next year's is
    generated from it (persons.services.care), once (the unique constraint below)."""

    scope_resource: ClassVar[Resource] = Resource.KEY_PERSON
    scope_org_path: ClassVar[str | None] = "person__roles__" + _ACCOUNT_PATH
    scope_owner: ClassVar[str | None] = "person__roles__" + _ACCOUNT_TEAM

    objects = ThroughRolesQuerySet.as_manager()  # type: ignore[misc]  # a narrower manager

    person = models.ForeignKey(
        KeyPerson,
        verbose_name=_("key person"),
        on_delete=models.CASCADE,
        related_name="care_moments",
    )
    # The account the moment belongs to, when it is about one (a promotion there); birthdays
    # and festivals are the person's own.
    account = models.ForeignKey(
        "enterprise.Account",
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="care_moments",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CareKind.choices)
    festival = models.CharField(_("festival"), max_length=16, choices=Festival.choices, blank=True)
    date = models.DateField(_("date"))
    recurring = models.BooleanField(_("every year"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=CareStatus.choices, default=CareStatus.DUE
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The add form's own key: a double tap or a retry records one moment.
    idempotency_key = models.UUIDField(_("form key"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("care moment")
        verbose_name_plural = _("care moments")
        ordering: ClassVar[list[str]] = ["date", "pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["person", "kind", "festival", "date"],
                condition=models.Q(recurring=True),
                name="care_moment_occurrence_once",
            ),
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"], name="care_moment_once_per_form"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["date", "status"], name="care_moment_day_status"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}:{self.kind}@{self.date}"


class CareAction(ScopedModel):
    """What was done for a care moment (a call, flowers, a visit), by whom, when, what it cost."""

    scope_resource: ClassVar[Resource] = Resource.KEY_PERSON
    scope_org_path: ClassVar[str | None] = "moment__person__roles__" + _ACCOUNT_PATH
    scope_owner: ClassVar[str | None] = "moment__person__roles__" + _ACCOUNT_TEAM

    objects = ThroughRolesQuerySet.as_manager()  # type: ignore[misc]  # a narrower manager

    moment = models.ForeignKey(
        CareMoment, verbose_name=_("care moment"), on_delete=models.CASCADE, related_name="actions"
    )
    what = models.CharField(_("what was done"), max_length=200)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    done_on = models.DateField(_("done on"))
    cost_fen = models.PositiveIntegerField(_("cost (fen)"), null=True, blank=True)
    # The form's own key: a double tap or a retry records one action.
    idempotency_key = models.UUIDField(_("form key"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("care action")
        verbose_name_plural = _("care actions")
        ordering: ClassVar[list[str]] = ["-done_on", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["done_by", "idempotency_key"], name="care_action_once_per_form"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.moment_id}@{self.done_on}"
