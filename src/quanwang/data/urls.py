from django.urls import path

from quanwang.data import views

app_name = "data"

urlpatterns = [
    path("data/import/", views.table_import, name="table-import"),
    path("data/mappings/", views.mapping_list, name="mapping-list"),
    path("data/mappings/new/", views.mapping_edit, name="mapping-new"),
    path("data/mappings/<int:pk>/", views.mapping_edit, name="mapping-edit"),
    path("customers/", views.customer_search, name="customer-search"),
    path("customers/<str:subscriber_id>/", views.customer_detail, name="customer-detail"),
    path("customers/<str:subscriber_id>/reveal/", views.customer_reveal, name="customer-reveal"),
]
