"""Who may do what, and how far it reaches: the one permission table of the platform.

Every queryset a user touches is narrowed by `RestrictedQuerySet.restrict`, which reads this
table. Nothing else grants access.
"""

from __future__ import annotations

from collections.abc import Mapping

from quanwang.core.choices import Action, Reach, Resource, Role

S = Reach.SUBTREE
OWN = Reach.OWN

_READ = {Action.VIEW: S}
_OWN_TOKENS = {Action.VIEW: OWN, Action.ADD: OWN, Action.DELETE: OWN}
_OWN_JOBS = {Action.VIEW: OWN, Action.ADD: OWN, Action.CHANGE: OWN}
_CONTACT_STAFF = {Action.VIEW: S, Action.VIEW_PII: S}
_CUSTOMERS = {Action.VIEW: S, Action.VIEW_PII: S}
# Importing into the warehouse (Action.IMPORT) reaches the importer's subtree only: each upserted
# row must lie in it before and after the change (data.import_scope). Reference data replaces
# whole tables, so only a grant held at the root (the province) may import it.
_IMPORT = {Action.IMPORT: S}
_MAPPINGS = {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S, Action.DELETE: S}
# Snapshots cover the whole operator; what a user reads of them is narrowed to their grids.
# ADD runs the pipeline.
_INSIGHT_RUN = {Action.VIEW: S, Action.ADD: S}
# Campaigns: designers draft and submit; approving needs APPROVE over the campaign's unit, and
# nobody approves their own campaign (services.transition). A VIEW grant also reaches the
# campaigns issued to the unit by a level above (a quota in its subtree, or over it), to view
# only: campaigns.services.access.
_CAMPAIGN_DESIGN = {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S}
_CAMPAIGN_ALL = _CAMPAIGN_DESIGN | {Action.DELETE: S, Action.APPROVE: S}
# Campaign tasks (grid and store task lists): the people on the ground record each contact's
# outcome (CHANGE); those above them follow the lists.
_TASKS_WORK = {Action.VIEW: S, Action.CHANGE: S}
# An enterprise account manager works the tasks assigned to them (campaigns split by account
# manager): their own enterprise customers, wherever their grids lie.
_TASKS_OWN = {Action.VIEW: OWN, Action.CHANGE: OWN}
# Replies that may be an opt-out (退订): the marketers of the customer's unit decide (CHANGE);
# auditors read the decisions.
_OPT_OUT_REVIEW = {Action.VIEW: S, Action.CHANGE: S}
# The offer catalogue: marketers manage their unit's offers (and those below it); delete only
# removes an offer no campaign used (campaigns.services.offers). Seeing the offers of the
# units above, which their campaigns may use, follows from VIEW (services.offers.catalogue).
_OFFERS = {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S, Action.DELETE: S}

# Channels (channels/). The store file: those who work the channels change a store's stage and
# owner details; the grades come from the province's rules (CHANNEL_RULES). A partner's login
# (Reach.OWN) reaches the stores it is a partner of (channels.models.Store.partners) and what
# hangs off them: their visits, their issues, their statements and their store tasks.
_STORES_WORK = {Action.VIEW: S, Action.CHANGE: S, Action.VIEW_PII: S}
# City marketers hold no grant to personal data anywhere (their logins keep the general
# session time, core.middleware): they read a store's owner and contact masked.
_STORES_PLAN = {Action.VIEW: S, Action.CHANGE: S}
_RULES = {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S, Action.DELETE: S}
_VISITS_WORK = {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S}
# Commission statements: computing one is ADD, approving (then it is frozen) is APPROVE.
_COMMISSION_RUN = {Action.VIEW: S, Action.ADD: S, Action.APPROVE: S}
_PARTNER_OWN = {Action.VIEW: OWN}
_PARTNER_ISSUES_OWN = {Action.VIEW: OWN, Action.ADD: OWN}

# Enterprise customers (enterprise/). Account managers reach the accounts whose team they are
# on (Reach.OWN: enterprise.models.Account.team_members) and what hangs off them: key persons,
# visits, opportunities. Those above them follow their unit's accounts; key persons' personal
# data needs VIEW_PII like customers'.
_ACCOUNTS_WORK = {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S, Action.VIEW_PII: S}
_ACCOUNTS_OWN = {Action.VIEW: OWN, Action.ADD: OWN, Action.CHANGE: OWN, Action.VIEW_PII: OWN}

# Performance (performance/). A KPI value is read where VIEW reaches: a unit's values over the
# subtree, a staff member's (their personal figures) over the unit the staff record is held
# at, or (Reach.OWN) the user's own staff record only. The province keeps the catalogue;
# targets are set at the top and decomposed down by each level over its subtree; the
# composite score's weights are the province's (LEADERBOARD CHANGE). Grade moves are proposed
# by the rules and approved by a manager above the staff member (APPROVE, never their own);
# incentive statements are computed (ADD), approved and then frozen (APPROVE).
_KPI_KEEP = {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S, Action.DELETE: S}
_TARGETS_SET = {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S, Action.DELETE: S}
_BOARD_KEEP = {Action.VIEW: S, Action.CHANGE: S}
_GRADES_KEEP = {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S, Action.APPROVE: S}
_GRADES_APPROVE = {Action.VIEW: S, Action.APPROVE: S}
_INCENTIVES_KEEP = {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S, Action.APPROVE: S}
_INCENTIVES_RUN = {Action.VIEW: S, Action.ADD: S, Action.APPROVE: S}
_OWN_READ = {Action.VIEW: OWN}

GRANTS: Mapping[Role, Mapping[Resource, Mapping[Action, Reach]]] = {
    Role.PROVINCE_ADMIN: {
        Resource.ORG_UNIT: {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S, Action.DELETE: S},
        Resource.STAFF: {
            Action.VIEW: S,
            Action.ADD: S,
            Action.CHANGE: S,
            Action.DELETE: S,
            Action.VIEW_PII: S,
            Action.EXPORT_PII: S,
        },
        Resource.ROLE_ASSIGNMENT: {
            Action.VIEW: S,
            Action.ADD: S,
            Action.CHANGE: S,
            Action.DELETE: S,
        },
        Resource.JOB: {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S},
        Resource.AUDIT_RECORD: _READ,
        Resource.IMPORT_MAPPING: _MAPPINGS,
        Resource.CUSTOMER: _CUSTOMERS | _IMPORT,
        Resource.REFERENCE_DATA: _IMPORT,
        Resource.CHANNEL: _IMPORT,
        Resource.INSIGHT: _INSIGHT_RUN,
        Resource.CAMPAIGN: _CAMPAIGN_ALL,
        Resource.CAMPAIGN_TASK: _TASKS_WORK,
        Resource.OPT_OUT_REVIEW: _OPT_OUT_REVIEW,
        Resource.OFFER: _OFFERS,
        Resource.STORE: _STORES_WORK,
        Resource.CHANNEL_RULES: _RULES,
        Resource.STORE_VISIT: _VISITS_WORK,
        Resource.PARTNER_ISSUE: _VISITS_WORK,
        Resource.COMMISSION: _COMMISSION_RUN,
        Resource.GRID_SCORECARD: _READ,
        Resource.API_TOKEN: _OWN_TOKENS,
        Resource.ENTERPRISE_ACCOUNT: _ACCOUNTS_WORK | {Action.DELETE: S, Action.APPROVE: S},
        Resource.KEY_PERSON: _ACCOUNTS_WORK,
        Resource.ENTERPRISE_RULES: _RULES,
        Resource.ENTERPRISE_VISIT: _VISITS_WORK,
        Resource.OPPORTUNITY: _VISITS_WORK,
        Resource.KPI: _KPI_KEEP,
        Resource.TARGET: _TARGETS_SET,
        Resource.LEADERBOARD: _BOARD_KEEP,
        Resource.STAFF_GRADE: _GRADES_KEEP,
        Resource.INCENTIVE: _INCENTIVES_KEEP,
    },
    Role.CITY_MARKETER: {
        Resource.ORG_UNIT: {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S},
        Resource.STAFF: _READ,
        Resource.ROLE_ASSIGNMENT: _READ,
        Resource.JOB: {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S},
        Resource.IMPORT_MAPPING: _MAPPINGS,
        Resource.CUSTOMER: _READ | _IMPORT,
        Resource.CHANNEL: _IMPORT,
        Resource.INSIGHT: _INSIGHT_RUN,
        Resource.CAMPAIGN: _CAMPAIGN_DESIGN,
        Resource.CAMPAIGN_TASK: _TASKS_WORK,
        Resource.OPT_OUT_REVIEW: _OPT_OUT_REVIEW,
        Resource.OFFER: _OFFERS,
        Resource.API_TOKEN: _OWN_TOKENS,
        Resource.STORE: _STORES_PLAN,
        Resource.CHANNEL_RULES: _READ,
        Resource.STORE_VISIT: _VISITS_WORK,
        Resource.PARTNER_ISSUE: _VISITS_WORK,
        Resource.COMMISSION: _COMMISSION_RUN,
        Resource.GRID_SCORECARD: _READ,
        Resource.ENTERPRISE_ACCOUNT: _READ,
        Resource.KEY_PERSON: _READ,
        Resource.ENTERPRISE_RULES: _READ,
        Resource.ENTERPRISE_VISIT: _READ,
        Resource.OPPORTUNITY: _READ,
        Resource.KPI: _READ,
        Resource.TARGET: _TARGETS_SET,
        Resource.LEADERBOARD: _READ,
        Resource.STAFF_GRADE: _GRADES_APPROVE,
        Resource.INCENTIVE: _INCENTIVES_RUN,
    },
    Role.COUNTY_MANAGER: {
        Resource.ORG_UNIT: {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S},
        Resource.STAFF: {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S, Action.VIEW_PII: S},
        Resource.ROLE_ASSIGNMENT: _READ,
        Resource.JOB: {Action.VIEW: S, Action.ADD: S, Action.CHANGE: S},
        Resource.IMPORT_MAPPING: _MAPPINGS,
        Resource.CUSTOMER: _CUSTOMERS | _IMPORT,
        Resource.CHANNEL: _IMPORT,
        Resource.INSIGHT: _READ,
        Resource.CAMPAIGN: _CAMPAIGN_DESIGN | {Action.APPROVE: S},
        Resource.CAMPAIGN_TASK: _TASKS_WORK,
        Resource.OPT_OUT_REVIEW: _OPT_OUT_REVIEW,
        Resource.OFFER: _OFFERS,
        Resource.API_TOKEN: _OWN_TOKENS,
        Resource.STORE: _STORES_WORK,
        Resource.CHANNEL_RULES: _READ,
        Resource.STORE_VISIT: _VISITS_WORK,
        Resource.PARTNER_ISSUE: _VISITS_WORK,
        Resource.COMMISSION: _READ,
        Resource.GRID_SCORECARD: _READ,
        Resource.ENTERPRISE_ACCOUNT: _ACCOUNTS_WORK | {Action.APPROVE: S},
        Resource.KEY_PERSON: _ACCOUNTS_WORK,
        Resource.ENTERPRISE_RULES: _READ,
        Resource.ENTERPRISE_VISIT: _VISITS_WORK,
        Resource.OPPORTUNITY: _VISITS_WORK,
        Resource.KPI: _READ,
        Resource.TARGET: _TARGETS_SET,
        Resource.LEADERBOARD: _READ,
        Resource.STAFF_GRADE: _GRADES_APPROVE,
        Resource.INCENTIVE: _READ,
    },
    Role.GRID_MANAGER: {
        Resource.ORG_UNIT: _READ,
        Resource.STAFF: _CONTACT_STAFF,
        Resource.JOB: _OWN_JOBS,
        Resource.CUSTOMER: _CUSTOMERS,
        Resource.INSIGHT: _READ,
        Resource.CAMPAIGN: _READ,
        Resource.OFFER: _READ,
        Resource.CAMPAIGN_TASK: _TASKS_WORK,
        Resource.API_TOKEN: _OWN_TOKENS,
        Resource.STORE: _STORES_WORK,
        Resource.CHANNEL_RULES: _READ,
        Resource.STORE_VISIT: _VISITS_WORK,
        Resource.PARTNER_ISSUE: _VISITS_WORK,
        Resource.COMMISSION: _READ,
        Resource.GRID_SCORECARD: _READ,
        Resource.ENTERPRISE_ACCOUNT: _READ,
        Resource.ENTERPRISE_RULES: _READ,
        Resource.KPI: _READ,
        Resource.TARGET: _READ,
        Resource.LEADERBOARD: _READ,
        Resource.STAFF_GRADE: _OWN_READ,
        Resource.INCENTIVE: _OWN_READ,
    },
    Role.ACCOUNT_MANAGER: {
        Resource.ORG_UNIT: _READ,
        Resource.STAFF: _CONTACT_STAFF,
        Resource.JOB: _OWN_JOBS,
        Resource.CUSTOMER: _CUSTOMERS,
        Resource.INSIGHT: _READ,
        Resource.CAMPAIGN_TASK: _TASKS_OWN,
        Resource.API_TOKEN: _OWN_TOKENS,
        Resource.ENTERPRISE_ACCOUNT: _ACCOUNTS_OWN,
        Resource.KEY_PERSON: _ACCOUNTS_OWN,
        Resource.ENTERPRISE_RULES: _READ,
        Resource.ENTERPRISE_VISIT: _ACCOUNTS_OWN,
        Resource.OPPORTUNITY: _ACCOUNTS_OWN,
        Resource.KPI: _OWN_READ,
        Resource.TARGET: _OWN_READ,
        Resource.LEADERBOARD: _READ,
        Resource.STAFF_GRADE: _OWN_READ,
        Resource.INCENTIVE: _OWN_READ,
    },
    Role.CHANNEL_MANAGER: {
        Resource.ORG_UNIT: _READ,
        Resource.STAFF: _CONTACT_STAFF,
        Resource.JOB: _OWN_JOBS,
        Resource.CUSTOMER: _READ,
        Resource.INSIGHT: _READ,
        Resource.CAMPAIGN_TASK: _TASKS_WORK,
        Resource.API_TOKEN: _OWN_TOKENS,
        Resource.STORE: _STORES_WORK,
        Resource.CHANNEL_RULES: _READ,
        Resource.STORE_VISIT: _VISITS_WORK,
        Resource.PARTNER_ISSUE: _VISITS_WORK,
        Resource.COMMISSION: _READ,
        Resource.GRID_SCORECARD: _READ,
        Resource.KPI: _READ,
        Resource.TARGET: _READ,
        Resource.LEADERBOARD: _READ,
    },
    # An agency sees only the work assigned to it and never personal data.
    Role.AGENCY: {
        Resource.JOB: _OWN_JOBS,
        Resource.API_TOKEN: _OWN_TOKENS,
    },
    # A partner store's login sees its own store(s) and what hangs off them, never more; it
    # raises issues (问题) for its stores and works its store's task list.
    Role.CHANNEL_PARTNER: {
        Resource.JOB: _OWN_JOBS,
        Resource.STORE: _PARTNER_OWN,
        Resource.STORE_VISIT: _PARTNER_OWN,
        Resource.PARTNER_ISSUE: _PARTNER_ISSUES_OWN,
        Resource.COMMISSION: _PARTNER_OWN,
        Resource.CAMPAIGN_TASK: _TASKS_OWN,
        Resource.API_TOKEN: _OWN_TOKENS,
    },
    Role.AUDITOR: {
        Resource.ORG_UNIT: _READ,
        Resource.STAFF: _READ,
        Resource.ROLE_ASSIGNMENT: _READ,
        Resource.JOB: _READ,
        Resource.AUDIT_RECORD: _READ,
        Resource.IMPORT_MAPPING: _READ,
        Resource.CUSTOMER: _READ,
        Resource.INSIGHT: _READ,
        Resource.CAMPAIGN: _READ,
        Resource.CAMPAIGN_TASK: _READ,
        Resource.OPT_OUT_REVIEW: _READ,
        Resource.OFFER: _READ,
        Resource.API_TOKEN: _OWN_TOKENS,
        Resource.STORE: _READ,
        Resource.CHANNEL_RULES: _READ,
        Resource.STORE_VISIT: _READ,
        Resource.PARTNER_ISSUE: _READ,
        Resource.COMMISSION: _READ,
        Resource.GRID_SCORECARD: _READ,
        Resource.ENTERPRISE_ACCOUNT: _READ,
        Resource.KEY_PERSON: _READ,
        Resource.ENTERPRISE_RULES: _READ,
        Resource.ENTERPRISE_VISIT: _READ,
        Resource.OPPORTUNITY: _READ,
        Resource.KPI: _READ,
        Resource.TARGET: _READ,
        Resource.LEADERBOARD: _READ,
        Resource.STAFF_GRADE: _READ,
        Resource.INCENTIVE: _READ,
    },
}


# Which Resource's Action.IMPORT grant lets a role import each warehouse table (keys: the
# names of data.schema.TABLES; a test keeps the two in step). Change a table's line here to
# move it to another family; grant a family to a role in GRANTS above.
IMPORT_RESOURCES: Mapping[str, Resource] = {
    "org_units": Resource.REFERENCE_DATA,
    "grids": Resource.REFERENCE_DATA,
    "plans": Resource.REFERENCE_DATA,
    "subscribers": Resource.CUSTOMER,
    "monthly_usage": Resource.CUSTOMER,
    "recharges": Resource.CUSTOMER,
    "contacts": Resource.CUSTOMER,
    "complaints": Resource.CUSTOMER,
    "enterprises": Resource.CUSTOMER,
    "enterprise_members": Resource.CUSTOMER,
    "enterprise_products": Resource.CUSTOMER,
    "enterprise_orders": Resource.CUSTOMER,
    "stores": Resource.CHANNEL,
    "store_sales": Resource.CHANNEL,
    "store_traffic": Resource.CHANNEL,
    "channel_sales": Resource.CHANNEL,
}


def reach(*, role: Role | str, resource: Resource, action: Action) -> Reach | None:
    return GRANTS.get(Role(role), {}).get(resource, {}).get(action)


def import_reach(*, role: Role | str, table: str) -> Reach | None:
    """How far `role` may import into the warehouse table `table` (None: not at all)."""
    resource = IMPORT_RESOURCES.get(table)
    if resource is None:
        return None
    return reach(role=role, resource=resource, action=Action.IMPORT)
