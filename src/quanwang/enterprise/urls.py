"""Routes of the enterprise app (under /enterprise/): each part keeps its own."""

from django.urls import include, path

from quanwang.enterprise.accounts.urls import urlpatterns as accounts
from quanwang.enterprise.grading.urls import urlpatterns as grading
from quanwang.enterprise.persons.urls import urlpatterns as persons
from quanwang.enterprise.pipeline.urls import urlpatterns as pipeline
from quanwang.enterprise.work.urls import urlpatterns as work

app_name = "enterprise"
urlpatterns = [
    path("enterprise/", include([*accounts, *persons, *grading, *work, *pipeline])),
]
