from django.contrib import admin

from quanwang.core.admin import ScopedAdmin
from quanwang.data.models import ImportMapping


@admin.register(ImportMapping)
class ImportMappingAdmin(ScopedAdmin):
    list_display = ("name", "table", "org_unit", "updated_at")
    list_filter = ("table",)
    search_fields = ("name",)
