"""Routes of performance.actuals (under /performance/)."""

from django.urls import URLPattern, URLResolver, path

from quanwang.performance.actuals import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("actuals/", views.status_page, name="actuals-status"),
    path(
        "actuals/units/<str:code>/responsibilities/",
        views.responsibilities_page,
        name="actuals-responsibilities",
    ),
    path(
        "actuals/units/<str:code>/responsibilities/clerks/",
        views.assign_clerk,
        name="actuals-assign-clerk",
    ),
    path(
        "actuals/units/<str:code>/responsibilities/<int:pk>/end/",
        views.end_clerk,
        name="actuals-end-clerk",
    ),
]
