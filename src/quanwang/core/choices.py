"""Enumerations of the core domain: no magic strings."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class OrgLevel(models.TextChoices):
    GROUP = "group", _("Group / province")
    CITY = "city", _("City")
    COUNTY = "county", _("County / branch")
    GRID = "grid", _("Grid")


ORG_LEVEL_DEPTH = {
    OrgLevel.GROUP: 0,
    OrgLevel.CITY: 1,
    OrgLevel.COUNTY: 2,
    OrgLevel.GRID: 3,
}


class Role(models.TextChoices):
    PROVINCE_ADMIN = "province_admin", _("Province marketing admin")
    CITY_MARKETER = "city_marketer", _("City marketer")
    COUNTY_MANAGER = "county_manager", _("County manager")
    GRID_MANAGER = "grid_manager", _("Grid manager")
    ACCOUNT_MANAGER = "account_manager", _("Enterprise account manager")
    CHANNEL_MANAGER = "channel_manager", _("Channel manager")
    AGENCY = "agency", _("Agency")
    AUDITOR = "auditor", _("Auditor")
    # A partner store's own login (合作伙伴): it sees its own store(s) only (Store.partners).
    CHANNEL_PARTNER = "channel_partner", _("Channel partner")


class Resource(models.TextChoices):
    ORG_UNIT = "org_unit", _("Org unit")
    STAFF = "staff", _("Staff")
    ROLE_ASSIGNMENT = "role_assignment", _("Role assignment")
    JOB = "job", _("Job")
    AUDIT_RECORD = "audit_record", _("Audit record")
    API_TOKEN = "api_token", _("API token")
    IMPORT_MAPPING = "import_mapping", _("Import mapping")
    CUSTOMER = "customer", _("Customer")
    INSIGHT = "insight", _("Customer insight")
    CAMPAIGN = "campaign", _("Campaign")
    CAMPAIGN_TASK = "campaign_task", _("Campaign task")
    # SMS replies that may be an opt-out (退订), held for a marketer to decide.
    OPT_OUT_REVIEW = "opt_out_review", _("Opt-out review")
    # Warehouse tables that describe the operator itself rather than customers: org units,
    # grids, plans. Imported (replacing the whole table) at province level only.
    REFERENCE_DATA = "reference_data", _("Reference data (org units, grids, plans)")
    # Channel stores and their sales, scoped by the store's grid.
    CHANNEL = "channel", _("Channel stores and sales")
    # The offer catalogue (优惠目录): each level manages its own offers; campaigns use their own
    # unit's and its ancestors' (campaigns.services.offers).
    OFFER = "offer", _("Offer catalogue")
    # The channels app (channels/): the store file, stages and grades (网点档案); the rules the
    # province sets for them (grading weights, visit plans, coverage targets, commission rules);
    # visits with their commitments; issues partners raise; commission statements; grid
    # scorecards, the grid map and the grid P&L.
    STORE = "store", _("Store file")
    CHANNEL_RULES = "channel_rules", _("Channel rules")
    STORE_VISIT = "store_visit", _("Store visits")
    PARTNER_ISSUE = "partner_issue", _("Partner issues")
    COMMISSION = "commission", _("Commission statements")
    GRID_SCORECARD = "grid_scorecard", _("Grid scorecards")
    # The enterprise app (enterprise/): the account file with its teams, products and
    # members; key persons (关键人) and their care moments, personal data; the province's
    # rules (grading criteria and weights, visit plans, the industry product catalogue);
    # account visits and service records; opportunities (商机) and the pipeline.
    ENTERPRISE_ACCOUNT = "enterprise_account", _("Enterprise accounts")
    KEY_PERSON = "key_person", _("Key persons")
    ENTERPRISE_RULES = "enterprise_rules", _("Enterprise rules")
    ENTERPRISE_VISIT = "enterprise_visit", _("Enterprise visits")
    OPPORTUNITY = "opportunity", _("Opportunities")
    # The performance app (performance/): the KPI catalogue and every KPI value with the rows
    # behind it (a staff member's values are their personal figures); targets and their
    # decomposition; the leaderboards (龙虎榜) and morning-meeting sheets; staff grades
    # (三级十档) and their moves; incentive rules and statements.
    KPI = "kpi", _("KPIs and their values")
    TARGET = "target", _("Targets")
    LEADERBOARD = "leaderboard", _("Leaderboards")
    STAFF_GRADE = "staff_grade", _("Staff grades")
    INCENTIVE = "incentive", _("Incentives")


class Action(models.TextChoices):
    VIEW = "view", _("View")
    ADD = "add", _("Add")
    CHANGE = "change", _("Change")
    DELETE = "delete", _("Delete")
    VIEW_PII = "view_pii", _("View personal data in full")
    EXPORT_PII = "export_pii", _("Export personal data")
    APPROVE = "approve", _("Approve")
    # Loading a file into a warehouse table (permissions.IMPORT_RESOURCES: which Resource
    # guards each table).
    IMPORT = "import", _("Import")


class Reach(models.TextChoices):
    """How far a grant reaches from the org unit where the role is held."""

    SUBTREE = "subtree", _("The unit and everything below it")
    OWN = "own", _("Only records the user created or was assigned")


class PiiKind(models.TextChoices):
    MSISDN = "msisdn", _("Mobile number")
    NAME = "name", pgettext_lazy("person", "Name")
    ID_NUMBER = "id_number", _("ID number")
    EMAIL = "email", _("Email")


class AuditAction(models.TextChoices):
    VIEW_PII = "view_pii", _("Viewed personal data in full")
    EXPORT_PII = "export_pii", _("Exported personal data")
    EXPORT = "export", _("Exported records")
    # Changes to the offer catalogue: what an offer costs decides a campaign's estimate and ROI.
    OFFER_CREATED = "offer_created", _("Created an offer")
    OFFER_CHANGED = "offer_changed", _("Changed an offer")
    OFFER_RETIRED = "offer_retired", _("Retired an offer")
    OFFER_DELETED = "offer_deleted", _("Deleted an offer")
    # Two enterprise accounts folded into one (enterprise.accounts): who, when, why.
    ACCOUNT_MERGED = "account_merged", _("Merged enterprise accounts")


class AuditTarget(models.TextChoices):
    STAFF = "staff", _("Staff member")
    SUBSCRIBER = "subscriber", _("Subscriber")
    OFFER = "offer", _("Offer")
    STORE = "store", _("Store")
    ENTERPRISE_ACCOUNT = "enterprise_account", _("Enterprise account")
    KEY_PERSON = "key_person", _("Key person")


class JobKind(models.TextChoices):
    IMPORT_ORG_UNITS = "import_org_units", _("Import org units")
    IMPORT_TABLE = "import_table", _("Import a data table")
    RUN_PIPELINE = "run_pipeline", _("Build the customer wide table")
    TRAIN_CHURN = "train_churn", _("Train the churn model")
    DISPATCH_CAMPAIGN = "dispatch_campaign", _("Dispatch a campaign step")
    EVALUATE_CAMPAIGN = "evaluate_campaign", _("Evaluate a campaign")
    RUN_COMMISSIONS = "run_commissions", _("Compute commission statements")
    REGRADE_STORES = "regrade_stores", _("Re-grade stores")
    REGRADE_ACCOUNTS = "regrade_accounts", _("Re-grade enterprise accounts")
    COMPUTE_ACTUALS = "compute_actuals", _("Compute KPI actuals")
    PROPOSE_GRADE_MOVES = "propose_grade_moves", _("Propose staff grade moves")
    RUN_INCENTIVES = "run_incentives", _("Compute incentive statements")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    # Its worker stopped renewing the lease (killed, crashed, machine lost): it can be retried.
    INTERRUPTED = "interrupted", _("Interrupted")


JOB_LIVE = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})
JOB_FINISHED = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.INTERRUPTED}
)
JOB_RETRYABLE = frozenset({JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.INTERRUPTED})
