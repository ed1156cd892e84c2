"""Routes of the enterprise pipeline part."""

from django.urls import URLPattern, path

from quanwang.enterprise.pipeline import views

urlpatterns: list[URLPattern] = [
    path("pipeline/", views.board, name="pipeline-board"),
    path("pipeline/new/", views.new, name="pipeline-new"),
    path("pipeline/<int:pk>/", views.detail, name="pipeline-detail"),
    path("pipeline/<int:pk>/stage/", views.move, name="pipeline-move"),
    path("products/", views.products, name="pipeline-products"),
    path("products/<int:pk>/publish/", views.publish, name="pipeline-publish"),
]
