"""Routes of the scorecards part (included by channels.urls)."""

from django.urls import URLPattern, path

from quanwang.channels.scorecards import views

urlpatterns: list[URLPattern] = [
    path("channels/scorecards/", views.index, name="scorecards-index"),
    path("channels/scorecards/grids/<str:code>/", views.grid, name="scorecards-grid"),
    path(
        "channels/scorecards/grids/<str:code>/facts/<str:measure>/",
        views.facts,
        name="scorecards-facts",
    ),
    path(
        "channels/scorecards/grids/<str:code>/facts/<str:measure>/xlsx/",
        views.facts_xlsx,
        name="scorecards-facts-xlsx",
    ),
    path(
        "channels/scorecards/managers/<str:employee_no>/",
        views.manager,
        name="scorecards-manager",
    ),
    path("channels/scorecards/counties/<str:code>/", views.county, name="scorecards-county"),
    path(
        "channels/scorecards/counties/<str:code>/xlsx/",
        views.county_xlsx,
        name="scorecards-county-xlsx",
    ),
]
