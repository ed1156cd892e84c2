"""Routes of the performance app (under /performance/): each part keeps its own."""

from django.urls import include, path

from quanwang.performance.actuals.urls import urlpatterns as actuals
from quanwang.performance.boards.urls import urlpatterns as boards
from quanwang.performance.grades.urls import urlpatterns as grades
from quanwang.performance.incentives.urls import urlpatterns as incentives
from quanwang.performance.kpis.urls import urlpatterns as kpis
from quanwang.performance.me.urls import urlpatterns as me
from quanwang.performance.targets.urls import urlpatterns as targets

app_name = "performance"
urlpatterns = [
    path("performance/", include([*kpis, *actuals, *targets, *boards, *grades, *incentives, *me])),
]
