from django.urls import path

from quanwang.insight import views

app_name = "insight"

urlpatterns = [
    path("insight/", views.dashboard, name="dashboard"),
    path("insight/run/", views.run, name="run"),
    path("insight/compare/", views.compare, name="compare"),
    path("insight/grids.xlsx", views.grids_xlsx, name="grids-xlsx"),
]
