"""Use cases of campaigns (营销案), one module per use case:

- access: which campaigns a user sees or acts on;
- design: the design, its checks and its revenue estimate;
- offers: the offer catalogue, and which offers a campaign may use;
- lifecycle: the state machine (submit, approve, issue, …) and issuing's frozen audience;
- targeting: uplift targeting;
- dispatching: sending a step, exactly once per customer (see docs/campaigns-dispatch.md);
- evaluating: treated against control, the report, responses;
- progress: quotas against their pace, their roll-up, early-warning thresholds.

Every public name is re-exported here: callers import from `quanwang.campaigns.services`.
"""

from quanwang.campaigns.services.access import get_campaign, visible
from quanwang.campaigns.services.design import (
    EDITABLE,
    Design,
    audience_facts,
    change_campaign,
    check_editable,
    create_campaign,
    preview_estimate,
    previous_result,
    revenue_estimate,
    update_estimate,
)
from quanwang.campaigns.services.dispatching import DISPATCHABLE, dispatch_steps, start_dispatch
from quanwang.campaigns.services.evaluating import (
    EvaluationPanel,
    RejectedRows,
    evaluate_campaign,
    evaluation_panel,
    evaluation_table,
    live_evaluation_job,
    load_responses,
    rejected_rows,
    report_files,
    run_evaluation,
    start_evaluation,
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
    CampaignProgress,
    ProgressRow,
    UnitProgress,
    WarningThresholds,
    campaign_progress,
    execution_progress,
    scope_quotas,
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
    "CampaignProgress",
    "Design",
    "EvaluationPanel",
    "Move",
    "OfferTerms",
    "ProgressRow",
    "RejectedRows",
    "UnitProgress",
    "UpliftSource",
    "UpliftTargets",
    "WarningThresholds",
    "audience_facts",
    "campaign_progress",
    "change_campaign",
    "change_offer",
    "check_editable",
    "check_usable",
    "create_campaign",
    "create_offer",
    "delete_offer",
    "dispatch_steps",
    "evaluate_campaign",
    "evaluation_panel",
    "evaluation_table",
    "execution_progress",
    "get_campaign",
    "live_evaluation_job",
    "load_responses",
    "preview_estimate",
    "previous_result",
    "rejected_rows",
    "report_files",
    "retire_offer",
    "revenue_estimate",
    "run_evaluation",
    "scope_quotas",
    "start_dispatch",
    "start_evaluation",
    "transition",
    "update_estimate",
    "uplift_facts",
    "uplift_sources",
    "usable_offers",
    "visible",
    "warning_thresholds",
]
