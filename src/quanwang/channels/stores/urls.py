"""Routes of the stores part (included by channels.urls). The store page is by store ID; the
province's pages live beside the list so that no store ID can shadow them."""

from django.urls import URLPattern, path

from quanwang.channels.stores import rule_views, views

urlpatterns: list[URLPattern] = [
    path("channels/stores/", views.store_list, name="stores-list"),
    path("channels/stores/export.xlsx", views.store_export, name="stores-export"),
    path("channels/stores/<str:store_id>/", views.store_detail, name="stores-detail"),
    path("channels/stores/<str:store_id>/reveal/", views.store_reveal, name="stores-reveal"),
    path("channels/stores/<str:store_id>/stage/", views.store_stage, name="stores-stage"),
    path("channels/store-coverage/", rule_views.coverage, name="stores-coverage"),
    path(
        "channels/store-coverage/targets/",
        rule_views.coverage_target_save,
        name="stores-coverage-target",
    ),
    path("channels/store-grading/", rule_views.grading_rules, name="stores-rules"),
    path("channels/store-grading/new/", rule_views.grading_rules_save, name="stores-rules-save"),
    path("channels/store-grading/regrade/", rule_views.regrade_start, name="stores-regrade"),
]
