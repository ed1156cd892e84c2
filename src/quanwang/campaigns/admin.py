from django.contrib import admin

from quanwang.campaigns.models import Campaign, CustomerList, Offer, Segment, TaskOutcome
from quanwang.core.admin import ReadOnlyAdmin, ScopedAdmin


@admin.register(Offer)
class OfferAdmin(ScopedAdmin):
    """The offer catalogue (优惠目录) is kept here: one entry per offer of a promotion tool."""

    list_display = ("code", "name", "offer_type", "cost_per_taker", "valid_from", "valid_until")
    list_filter = ("offer_type",)
    search_fields = ("code", "name")


@admin.register(Segment)
class SegmentAdmin(ReadOnlyAdmin):
    list_display = ("name", "org_unit", "updated_at")
    search_fields = ("name",)


@admin.register(CustomerList)
class CustomerListAdmin(ReadOnlyAdmin):
    list_display = ("name", "size", "org_unit", "created_at")


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ("name", "campaign_type", "state", "org_unit", "starts_on", "ends_on")
    list_filter = ("state", "campaign_type", "task_split")


@admin.register(TaskOutcome)
class TaskOutcomeAdmin(ReadOnlyAdmin):
    """Outcomes are recorded on the console's task lists, where the grid and state are checked."""

    list_display = (
        "campaign", "subscriber_id", "org_unit", "store_id", "account_manager", "outcome",
        "attempts", "recorded_at",
    )  # fmt: skip
    list_filter = ("outcome",)
    search_fields = ("subscriber_id",)
