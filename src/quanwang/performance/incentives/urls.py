"""Routes of performance.incentives (under /performance/)."""

from django.urls import URLPattern, URLResolver, path

from quanwang.performance.incentives import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("incentives/", views.statement_list, name="incentives-list"),
    path("incentives/run/", views.run_month, name="incentives-run"),
    path("incentives/<int:pk>/", views.statement_detail, name="incentives-detail"),
    path("incentives/<int:pk>/approve/", views.approve_statement, name="incentives-approve"),
    path("incentives/<int:pk>/statement.xlsx", views.statement_xlsx, name="incentives-xlsx"),
    path("incentives/<int:pk>/statement.pdf", views.statement_pdf, name="incentives-pdf"),
    path("incentives/rules/", views.rule_list, name="incentives-rules"),
    path("incentives/rules/add/", views.rule_add, name="incentives-rule-add"),
    path("incentives/rules/<int:pk>/", views.rule_detail, name="incentives-rule"),
    path("incentives/rules/<int:pk>/end/", views.rule_end, name="incentives-rule-end"),
]
