from django.contrib import admin

from quanwang.campaigns.models import Campaign, CustomerList, Offer, Segment, TaskOutcome
from quanwang.core.admin import ReadOnlyAdmin


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    """The offer catalogue (优惠目录) is kept in the console (营销策划 → 优惠目录), where its rules
    hold (a used offer is retired, not deleted) and every change is audited."""

    list_display = (
        "code", "name", "offer_type", "org_unit", "cost_per_taker", "valid_from", "valid_until",
        "retired_at",
    )  # fmt: skip
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
