"""Task lists (任务清单): who each grid, store and account manager is to contact for a
campaign, in what order, and what came of each contact.

A task step (Channel.TASK) is planned like any other step, through the contact policy, and its
plan (var/campaigns/<id>/dispatch/<step>/plan.parquet) IS the task list: one row per customer
with their grid and the store that serves them, or, in a campaign split by account manager
(TaskSplit.ACCOUNT_MANAGER), the account manager of their enterprise (`account_manager`, an
employee number, frozen on issue). Nothing is copied into the database; what is recorded is
one TaskOutcome row per campaign and customer (the latest outcome counts, `attempts` how many
times it was recorded). The outcomes feed the closed loop: evaluation
(services.evaluation_table) and the contact history of later steps (contact_log).

Who sees what (`TaskScope`): CAMPAIGN_TASK over grids, as customer rows are narrowed
everywhere (data.customers.customer_scope), for the customers of no account manager; an
account manager's customers go with the manager: to the manager themselves (an own-records
grant, Reach.OWN) and to those whose subtree grants reach the manager's org unit (a county
manager follows their county's account managers; a grid manager does not see them). A task
list is not narrowed by the campaign's own org unit: a grid manager works the province's
campaigns in their grid without seeing the campaigns.

Modules: `scope` (who sees what, the campaigns in reach), `tables` (each campaign's task rows
kept in DuckDB per process, with their priority), `listing` (pages, one row, counts),
`outcomes` (recording, and the outcomes for evaluation and contact history), `export` (XLSX).
"""

from quanwang.campaigns.tasks.export import export_xlsx
from quanwang.campaigns.tasks.listing import (
    PAGE_SIZE,
    TASK_ORDER,
    TaskFilters,
    TaskPage,
    TaskRow,
    TaskState,
    all_rows,
    task_list,
    task_row,
)
from quanwang.campaigns.tasks.outcomes import (
    FUTURE_SLACK,
    NOTE_LENGTH,
    REACHED,
    REPEAT_WINDOW,
    contact_log,
    outcomes_table,
    record_outcome,
    record_task,
    task_campaign,
)
from quanwang.campaigns.tasks.scope import (
    OPEN_STATES,
    TaskChoices,
    TaskReach,
    TaskScope,
    TaskStep,
    filter_choices,
    task_reach,
    task_scope,
    task_steps,
)
from quanwang.campaigns.tasks.tables import PriorityBasis

__all__ = [
    "FUTURE_SLACK",
    "NOTE_LENGTH",
    "OPEN_STATES",
    "PAGE_SIZE",
    "REACHED",
    "REPEAT_WINDOW",
    "TASK_ORDER",
    "PriorityBasis",
    "TaskChoices",
    "TaskFilters",
    "TaskPage",
    "TaskReach",
    "TaskRow",
    "TaskScope",
    "TaskState",
    "TaskStep",
    "all_rows",
    "contact_log",
    "export_xlsx",
    "filter_choices",
    "outcomes_table",
    "record_outcome",
    "record_task",
    "task_campaign",
    "task_list",
    "task_reach",
    "task_row",
    "task_scope",
    "task_steps",
]
