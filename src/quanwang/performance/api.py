"""The performance app's API (/api/v1/performance/...): each part with endpoints adds its router
here."""

from ninja import Router

from quanwang.performance.boards.api import router as boards_router
from quanwang.performance.grades.api import router as grades_router
from quanwang.performance.incentives.api import router as incentives_router
from quanwang.performance.kpis.api import router as kpis_router
from quanwang.performance.targets.api import router as targets_router

router = Router(tags=["performance"])

router.add_router("", targets_router)
router.add_router("", incentives_router)
router.add_router("", kpis_router)
router.add_router("", boards_router)
router.add_router("", grades_router)
