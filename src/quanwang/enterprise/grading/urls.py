"""Routes of the enterprise grading part (under /enterprise/, namespace enterprise)."""

from django.urls import URLPattern, path

from quanwang.enterprise.grading import views

urlpatterns: list[URLPattern] = [
    path("grading/rules/", views.rules_page, name="grading-rules"),
    path("grading/rules/save/", views.rules_save, name="grading-rules-save"),
    path("accounts/<str:enterprise_id>/grading/", views.account_grading, name="grading-account"),
    path(
        "accounts/<str:enterprise_id>/grading/score/",
        views.account_score,
        name="grading-score",
    ),
]
