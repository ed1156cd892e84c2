"""Routes of performance.me (under /performance/)."""

from django.urls import path

from quanwang.performance.me import views

urlpatterns = [path("me/", views.mine, name="me")]
