"""Routes of the commissions part (included by channels.urls)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
