from django.urls import path

from quanwang.data import views

app_name = "data"

urlpatterns = [
    path("data/import/", views.table_import, name="table-import"),
]
