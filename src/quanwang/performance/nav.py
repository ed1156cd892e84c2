"""Console navigation entries of the performance app: each part lists its own."""

from quanwang.performance.actuals.nav import ITEMS as ACTUALS
from quanwang.performance.boards.nav import ITEMS as BOARDS
from quanwang.performance.grades.nav import ITEMS as GRADES
from quanwang.performance.incentives.nav import ITEMS as INCENTIVES
from quanwang.performance.kpis.nav import ITEMS as KPIS
from quanwang.performance.me.nav import ITEMS as ME
from quanwang.performance.targets.nav import ITEMS as TARGETS

ITEMS = [*ME, *KPIS, *ACTUALS, *TARGETS, *BOARDS, *GRADES, *INCENTIVES]
