"""Routes of the geo part (included by channels.urls)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
