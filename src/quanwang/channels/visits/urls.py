"""Routes of the visits part (included by channels.urls)."""

from django.urls import URLPattern, path

from quanwang.channels.visits import partner_views, views

urlpatterns: list[URLPattern] = [
    path("visits/", views.due, name="visits-due"),
    path("visits/plan/", views.plan, name="visits-plan"),
    path("visits/stores/<int:store_pk>/new/", views.visit_new, name="visits-new"),
    path("visits/<int:pk>/", views.visit_detail, name="visits-detail"),
    path("visits/commitments/", views.commitment_list, name="visits-commitments"),
    path(
        "visits/commitments/<int:pk>/close/",
        views.commitment_close,
        name="visits-commitment-close",
    ),
    path("visits/issues/", views.issue_list, name="visits-issues"),
    path("visits/issues/<int:pk>/", views.issue_detail, name="visits-issue-detail"),
    path("visits/issues/<int:pk>/move/", views.issue_move, name="visits-issue-move"),
    path("partner/", partner_views.partner_home, name="visits-partner"),
    path(
        "partner/stores/<int:store_pk>/",
        partner_views.partner_store,
        name="visits-partner-store",
    ),
    path(
        "partner/stores/<int:store_pk>/issues/new/",
        partner_views.partner_issue_new,
        name="visits-partner-issue-new",
    ),
]
