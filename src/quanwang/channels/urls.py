"""Routes of the channels app: each part keeps its own (channels/<part>/urls.py)."""

from quanwang.channels.commissions.urls import urlpatterns as commissions
from quanwang.channels.funnel.urls import urlpatterns as funnel
from quanwang.channels.geo.urls import urlpatterns as geo
from quanwang.channels.scorecards.urls import urlpatterns as scorecards
from quanwang.channels.stores.urls import urlpatterns as stores
from quanwang.channels.visits.urls import urlpatterns as visits

app_name = "channels"
urlpatterns = [*geo, *scorecards, *stores, *visits, *funnel, *commissions]
