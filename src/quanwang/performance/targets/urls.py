"""Routes of performance.targets (under /performance/)."""

from django.urls import URLPattern, URLResolver, path

from quanwang.performance.targets import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("targets/", views.tree, name="targets-tree"),
    path("targets/<int:pk>/", views.detail, name="targets-detail"),
]
