"""Routes of performance.kpis (under /performance/)."""

from django.urls import URLPattern, URLResolver, path

from quanwang.performance.kpis import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("kpis/", views.index, name="kpis-index"),
    path("kpis/new/", views.custom_form, name="kpis-custom-new"),
    path("kpis/<slug:code>/", views.detail, name="kpis-detail"),
    path(
        "kpis/<slug:code>/<str:grain>/<str:key>/<str:period>/",
        views.drill_page,
        name="kpis-drill",
    ),
    path(
        "kpis/<slug:code>/<str:grain>/<str:key>/<str:period>/xlsx/",
        views.drill_xlsx,
        name="kpis-drill-xlsx",
    ),
]
