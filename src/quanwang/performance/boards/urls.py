"""Routes of performance.boards (under /performance/)."""

from django.urls import URLPattern, URLResolver, path

from quanwang.performance.boards import composite_views, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("boards/", views.index, name="boards-index"),
    path("boards/composites/", composite_views.composites_page, name="boards-composites"),
    path("boards/composites/save/", composite_views.composite_save, name="boards-composite-save"),
    path("boards/xlsx/", views.board_xlsx, name="boards-xlsx"),
    path("boards/png/", views.board_png, name="boards-png"),
    path("boards/entry/", views.entry, name="boards-entry"),
    path("boards/morning/", views.morning_index, name="boards-morning-index"),
    path("boards/morning/own/", views.morning_own, name="boards-morning-own"),
    path("boards/morning/teams/<str:code>/", views.morning_team, name="boards-morning"),
]
