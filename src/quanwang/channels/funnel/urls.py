"""Routes of the funnel part (included by channels.urls)."""

from django.urls import URLPattern, path

from quanwang.channels.funnel import views

urlpatterns: list[URLPattern] = [
    path("funnel/", views.funnel_index, name="funnel-index"),
    path("funnel/grids/<str:code>/", views.funnel_grid, name="funnel-grid"),
]
