from django.urls import path

from quanwang.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("c/<slug:slug>/", views.capability, name="capability"),
    path("scope/", views.switch_scope, name="switch-scope"),
]
