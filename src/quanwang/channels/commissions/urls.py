"""Routes of the commissions part (included by channels.urls)."""

from django.urls import URLPattern, path

from quanwang.channels.commissions import rule_views, views

urlpatterns: list[URLPattern] = [
    path("commissions/", views.statement_list, name="commissions-list"),
    path("commissions/run/", views.run_month, name="commissions-run"),
    path("commissions/approve/", views.approve_month, name="commissions-approve-month"),
    path("commissions/<int:pk>/", views.statement_detail, name="commissions-detail"),
    path(
        "commissions/<int:pk>/lines/<int:line_no>/",
        views.line_detail,
        name="commissions-line",
    ),
    path("commissions/<int:pk>/export.xlsx", views.statement_xlsx, name="commissions-xlsx"),
    path("commissions/<int:pk>/statement.pdf", views.statement_pdf, name="commissions-pdf"),
    path("commissions/<int:pk>/approve/", views.approve_statement, name="commissions-approve"),
    path("commissions/rules/", rule_views.rule_set_list, name="commissions-rules"),
    path("commissions/rules/<int:pk>/", rule_views.rule_set_detail, name="commissions-ruleset"),
    path(
        "commissions/rules/<int:pk>/dates/",
        rule_views.rule_set_dates,
        name="commissions-ruleset-dates",
    ),
    path(
        "commissions/rules/<int:pk>/publish/",
        rule_views.rule_set_publish,
        name="commissions-ruleset-publish",
    ),
    path(
        "commissions/rules/<int:pk>/new-version/",
        rule_views.rule_set_new_version,
        name="commissions-ruleset-version",
    ),
    path(
        "commissions/rules/<int:pk>/rules/<int:rule_pk>/delete/",
        rule_views.rule_delete,
        name="commissions-rule-delete",
    ),
]
