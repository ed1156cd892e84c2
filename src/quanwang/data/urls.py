from django.urls import path

from quanwang.data import views

app_name = "data"

urlpatterns = [
    path("data/import/", views.table_import, name="table-import"),
    path("customers/", views.customer_search, name="customer-search"),
    path("customers/<str:subscriber_id>/", views.customer_detail, name="customer-detail"),
    path("customers/<str:subscriber_id>/reveal/", views.customer_reveal, name="customer-reveal"),
]
