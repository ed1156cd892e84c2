"""Routes of the enterprise accounts part (under /enterprise/, namespace enterprise). The
list's export and the dashboard sit beside the account pages so no enterprise ID shadows
them."""

from django.urls import URLPattern, path

from quanwang.enterprise.accounts import views

urlpatterns: list[URLPattern] = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/", views.account_list, name="accounts-list"),
    path("accounts/export.xlsx", views.account_export, name="accounts-export"),
    path("accounts/<str:enterprise_id>/", views.account_detail, name="accounts-detail"),
    path(
        "accounts/<str:enterprise_id>/ownership/",
        views.account_ownership,
        name="accounts-ownership",
    ),
    path("accounts/<str:enterprise_id>/move/", views.account_move, name="accounts-move"),
    path("accounts/<str:enterprise_id>/team/add/", views.team_add, name="accounts-team-add"),
    path(
        "accounts/<str:enterprise_id>/team/remove/",
        views.team_remove,
        name="accounts-team-remove",
    ),
    path("accounts/<str:enterprise_id>/team/lead/", views.team_lead, name="accounts-team-lead"),
    path("accounts/<str:enterprise_id>/merge/", views.account_merge, name="accounts-merge"),
]
