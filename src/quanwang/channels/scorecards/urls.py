"""Routes of the scorecards part (included by channels.urls)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
