from django.urls import path

from quanwang.insight import views

app_name = "insight"

urlpatterns = [
    path("insight/", views.dashboard, name="dashboard"),
    path("insight/run/", views.run, name="run"),
    path("insight/compare/", views.compare, name="compare"),
    path("insight/models/", views.models, name="models"),
    path("insight/offnet/", views.offnet, name="offnet"),
    path("insight/grids.xlsx", views.grids_xlsx, name="grids-xlsx"),
    path("insight/tiers.xlsx", views.tiers_xlsx, name="tiers-xlsx"),
    path("insight/offnet.xlsx", views.offnet_xlsx, name="offnet-xlsx"),
    path(
        "insight/customers/<str:subscriber_id>/",
        views.customer_panel,
        name="customer-panel",
    ),
]
