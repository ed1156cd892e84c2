"""Use cases of campaigns (营销案), one module per use case:

- access: which campaigns a user sees or acts on;
- design: the design, its checks and its revenue estimate;
- offers: the offer catalogue, and which offers a campaign may use;
- lifecycle: the state machine (submit, approve, issue, …) and issuing's frozen audience;
- targeting: uplift targeting;
- dispatching: sending a step, exactly once per customer (see docs/campaigns-dispatch.md);
- evaluating: treated against control, the report, responses;
- progress: quotas against their pace, early-warning thresholds.

Every public name is re-exported here: callers import from `quanwang.campaigns.services`.
"""

from quanwang.campaigns.services.access import get_campaign, visible
from quanwang.campaigns.services.design import (
    EDITABLE,
    Design,
    audience_facts,
    create_campaign,
    revenue_estimate,
    update_estimate,
)
from quanwang.campaigns.services.dispatching import DISPATCHABLE, dispatch_steps, start_dispatch
from quanwang.campaigns.services.evaluating import (
    evaluate_campaign,
    evaluation_table,
    load_responses,
    report_files,
)
from quanwang.campaigns.services.lifecycle import MOVES, Move, transition
from quanwang.campaigns.services.offers import (
    OfferTerms,
    change_offer,
    check_usable,
    create_offer,
    delete_offer,
    retire_offer,
    usable_offers,
)
from quanwang.campaigns.services.progress import (
    UnitProgress,
    WarningThresholds,
    execution_progress,
    warning_thresholds,
)
from quanwang.campaigns.services.targeting import (
    UPLIFT_RECORD,
    UPLIFT_SCORES,
    UpliftSource,
    UpliftTargets,
    uplift_facts,
    uplift_sources,
)

__all__ = [
    "DISPATCHABLE",
    "EDITABLE",
    "MOVES",
    "UPLIFT_RECORD",
    "UPLIFT_SCORES",
    "Design",
    "Move",
    "OfferTerms",
    "UnitProgress",
    "UpliftSource",
    "UpliftTargets",
    "WarningThresholds",
    "audience_facts",
    "change_offer",
    "check_usable",
    "create_campaign",
    "create_offer",
    "delete_offer",
    "dispatch_steps",
    "evaluate_campaign",
    "evaluation_table",
    "execution_progress",
    "get_campaign",
    "load_responses",
    "report_files",
    "retire_offer",
    "revenue_estimate",
    "start_dispatch",
    "transition",
    "update_estimate",
    "uplift_facts",
    "uplift_sources",
    "usable_offers",
    "visible",
    "warning_thresholds",
]
