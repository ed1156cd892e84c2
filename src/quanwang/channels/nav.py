"""Console navigation entries of the channels app: each part lists its own."""

from quanwang.channels.commissions.nav import ITEMS as COMMISSIONS
from quanwang.channels.funnel.nav import ITEMS as FUNNEL
from quanwang.channels.geo.nav import ITEMS as GEO
from quanwang.channels.scorecards.nav import ITEMS as SCORECARDS
from quanwang.channels.stores.nav import ITEMS as STORES
from quanwang.channels.visits.nav import ITEMS as VISITS

ITEMS = [*SCORECARDS, *GEO, *STORES, *VISITS, *FUNNEL, *COMMISSIONS]
