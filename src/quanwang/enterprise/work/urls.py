"""Routes of the enterprise work part (under /enterprise/, namespace enterprise)."""

from django.urls import URLPattern, path

from quanwang.enterprise.work import views

urlpatterns: list[URLPattern] = [
    path("visits/", views.due, name="work-visits-due"),
    path("visits/<int:pk>/", views.visit_detail, name="work-visit-detail"),
    path("visits/new/<int:account_pk>/", views.visit_new, name="work-visit-new"),
    path("visit-plan/", views.plan, name="work-visit-plan"),
    path("managers/", views.managers, name="work-managers"),
    path("managers/violations/", views.violations, name="work-violations"),
    path("managers/<int:staff_pk>/", views.portfolio, name="work-portfolio"),
    path("managers/<int:staff_pk>/grade/", views.grade, name="work-grade"),
    path("managers/<int:staff_pk>/appraisal/", views.appraisal, name="work-appraisal"),
    path(
        "managers/<int:staff_pk>/appraisal/<str:measure>/",
        views.appraisal_facts,
        name="work-appraisal-facts",
    ),
    path(
        "managers/<int:staff_pk>/appraisal/<str:measure>/xlsx/",
        views.appraisal_facts_xlsx,
        name="work-appraisal-facts-xlsx",
    ),
    path("my-portfolio/", views.my_portfolio, name="work-my-portfolio"),
]
