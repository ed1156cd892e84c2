"""The enterprise app's API (/api/v1/enterprise/...): each part with endpoints adds its router
here."""

from ninja import Router

from quanwang.enterprise.accounts.api import router as accounts_router
from quanwang.enterprise.pipeline.api import router as pipeline_router
from quanwang.enterprise.work.api import router as work_router

router = Router(tags=["enterprise"])
router.add_router("", accounts_router)
router.add_router("", pipeline_router)
router.add_router("", work_router)
