"""Django admin for back-office CRUD, narrowed by the same `restrict` as every page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import ForeignKey, Model, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Action, OrgLevel, PiiKind
from quanwang.core.masking import mask
from quanwang.core.models import ApiToken, AuditRecord, Job, OrgUnit, RoleAssignment, Staff
from quanwang.core.querysets import has_grant, users_in_scope
from quanwang.core.services import orgs as org_services


class ScopedAdmin(admin.ModelAdmin):
    def _allowed(self, request: HttpRequest, action: Action, obj: Model | None) -> bool:
        model: Any = self.model
        if obj is not None:
            return bool(model.objects.restrict(request.user, action).filter(pk=obj.pk).exists())
        return has_grant(request.user, resource=model.scope_resource, action=action)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).restrict(request.user, Action.VIEW)  # type: ignore[attr-defined]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request, Action.VIEW, None)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, Action.VIEW, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, Action.ADD, None)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, Action.CHANGE, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, Action.DELETE, obj)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        if db_field.related_model is get_user_model():
            kwargs["queryset"] = users_in_scope(request.user, action=Action.ADD)
        if db_field.related_model is OrgUnit:
            kwargs["queryset"] = org_services.units_granting(
                user=request.user,
                resource=self.model.scope_resource,
                action=Action.ADD,
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyAdmin(ScopedAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OrgUnit)
class OrgUnitAdmin(ScopedAdmin):
    list_display = ("code", "name", "level", "parent", "path")
    list_filter = ("level",)
    search_fields = ("code", "name", "name_en")
    readonly_fields = ("path",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("path", "code", "level", "parent") if obj else ("path",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: OrgUnit, form: Any, change: bool) -> None:
        if change:
            org_services.update_org_unit(
                actor=request.user, org_unit=obj, name=obj.name, name_en=obj.name_en
            )
        else:
            created = org_services.create_org_unit(
                actor=request.user,
                code=obj.code,
                name=obj.name,
                name_en=obj.name_en,
                level=OrgLevel(obj.level),
                parent=obj.parent,
            )
            obj.pk = created.pk


class StaffAdminForm(forms.ModelForm):
    """The stored mobile number is never shown in full here; a new one can be typed in."""

    new_mobile = forms.RegexField(
        label=_("New mobile number"), regex=r"^\+?\d{6,15}$", required=False
    )

    class Meta:
        model = Staff
        fields = ("employee_no", "name", "title", "org_unit", "user")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and not data.get("new_mobile"):
            self.add_error("new_mobile", _("Required."))
        return data

    def save(self, commit: bool = True) -> Staff:
        if self.cleaned_data.get("new_mobile"):
            self.instance.mobile = self.cleaned_data["new_mobile"]
        return super().save(commit=commit)


@admin.register(Staff)
class StaffAdmin(ScopedAdmin):
    form = StaffAdminForm
    list_display = ("employee_no", "name", "masked_mobile", "title", "org_unit")
    search_fields = ("employee_no", "name")
    readonly_fields = ("masked_mobile",)

    @admin.display(description=_("mobile number"))
    def masked_mobile(self, obj: Staff) -> str:
        return mask(obj.mobile, PiiKind.MSISDN)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ScopedAdmin):
    list_display = ("user", "role", "org_unit")
    list_filter = ("role",)


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "status", "org_unit", "created_by", "created_at")
    list_filter = ("kind", "status")


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_username", "action", "target_repr", "reason")
    list_filter = ("action",)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("name", "prefix", "user", "expires_at", "last_used_at")
    exclude = ("key_hash",)
