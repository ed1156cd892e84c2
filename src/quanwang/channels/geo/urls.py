"""Routes of the geo part (included by channels.urls)."""

from django.urls import path

from quanwang.channels.geo import views

urlpatterns = [
    path("channels/map/", views.grid_map, name="geo-map"),
    path("channels/map/grids.json", views.map_shapes, name="geo-map-shapes"),
    path("channels/map/values.json", views.map_values, name="geo-map-values"),
    path("channels/map/unassigned/", views.unassigned, name="geo-unassigned"),
    path("channels/map/overlaps/", views.overlaps, name="geo-overlaps"),
    path(
        "channels/map/grids/<str:grid_id>/<str:kind>/",
        views.grid_points,
        name="geo-grid-points",
    ),
]
