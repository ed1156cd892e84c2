"""Every registered page and API route, walked as every role: nobody reads or changes a record
outside their subtree. A new route with a parameter fails this test until it is mapped below."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from quanwang.campaigns.choices import CampaignState, CampaignType, OfferType
from quanwang.campaigns.models import Campaign, Offer, ReplyReview, Segment, SegmentVersion
from quanwang.core.choices import AuditAction, AuditTarget, JobKind, JobStatus, Role
from quanwang.core.jobs import execute_job, quarantine_path
from quanwang.core.models import ApiToken, AuditRecord, Job, OrgUnit, RoleAssignment, Staff
from quanwang.core.services.tokens import create_token
from quanwang.data.import_scope import may_import
from quanwang.data.models import ImportMapping
from quanwang.data.schema import TABLES
from quanwang.data.warehouse import Warehouse
from tests import factories
from tests.channels.records import ChannelRecords, channel_records
from tests.enterprise.records import EnterpriseRecords, enterprise_records
from tests.performance.records import PerformanceRecords, performance_records

FOREIGN_MARK = "FOREIGNMARK"
ALLOWED_STATUSES = {302, 400, 401, 403, 404, 405}
HACK = "HACKED"


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), namespace + (entry.name or "")


@dataclass(frozen=True)
class ForeignSubscriber:
    """A warehouse row, addressed by its subscriber ID like an ORM record by its pk."""

    pk: str


def _foreign_campaign(unit: OrgUnit, owner: Any) -> Campaign:
    """A submitted campaign of city B, on a segment of its own."""
    segment = Segment.objects.create(name=f"{FOREIGN_MARK}-segment", org_unit=unit)
    version = SegmentVersion.objects.create(
        segment=segment, number=1, rule={"field": "arpu_3m", "op": ">", "value": 1},
        text_zh="近3月ARPU > 1", text_en="ARPU > 1",
    )  # fmt: skip
    return Campaign.objects.create(
        name=f"{FOREIGN_MARK}-campaign", campaign_type=CampaignType.RETENTION, hypothesis="h",
        objective_metric="m", objective_target=1, objective_deadline=dt.date(2030, 1, 1),
        segment_version=version, channels=["sms"], starts_on=dt.date(2030, 1, 1),
        ends_on=dt.date(2030, 2, 1), budget=1, state=CampaignState.SUBMITTED, org_unit=unit,
        created_by=owner,
    )  # fmt: skip


class Foreign:
    """Records in city B, seen from users whose roles are all in city A."""

    def __init__(self, tree: factories.Tree, directory: Path) -> None:
        tree.county_b.name = f"{FOREIGN_MARK}-unit"
        tree.county_b.save()
        self.unit = tree.county_b
        self.owner = factories.user(
            role=Role.CITY_MARKETER, at=tree.city_b, username=f"{FOREIGN_MARK.lower()}user"
        )
        self.staff = factories.staff(
            at=tree.county_b, name=f"{FOREIGN_MARK}-staff", mobile="13999990000"
        )
        self.job = Job.objects.create(
            kind=JobKind.IMPORT_ORG_UNITS,
            org_unit=tree.county_b,
            created_by=self.owner,
            status=JobStatus.FAILED,
            error=f"{FOREIGN_MARK}-error",
            params={"path": "/nonexistent.csv", "filename": "x.csv"},
            result={"quarantine_file": "job-foreign.csv"},
        )
        rejected = quarantine_path("job-foreign.csv")
        rejected.parent.mkdir(parents=True, exist_ok=True)
        rejected.write_text(f"{FOREIGN_MARK}-rejected-row", encoding="utf-8")
        self.audit = AuditRecord.objects.create(
            actor=self.owner,
            actor_username=self.owner.username,
            action=AuditAction.VIEW_PII,
            target_type=AuditTarget.STAFF,
            target_id=str(self.staff.pk),
            target_repr=f"{FOREIGN_MARK}-audit",
            org_unit=tree.county_b,
            reason="r",
        )
        self.token, _secret = create_token(user=self.owner, name=f"{FOREIGN_MARK}-token")
        self.assignment = RoleAssignment.objects.get(user=self.owner)
        self.group = Group.objects.create(name=f"{FOREIGN_MARK}-group")
        self.subscriber = ForeignSubscriber(
            factories.warehouse_customers(tree, directory)[tree.grid_b.code]
        )
        self.mapping = ImportMapping.objects.create(
            name=f"{FOREIGN_MARK}-mapping",
            table="plans",
            spec={"columns": {"plan_id": {"from": "id"}}},
            org_unit=tree.county_b,
        )
        self.campaign = _foreign_campaign(tree.county_b, self.owner)
        self.review = ReplyReview.objects.create(
            message_id="foreign-reply", subscriber_id=self.subscriber.pk,
            text=f"{FOREIGN_MARK}-reply", received_at=dt.datetime(2030, 1, 2, tzinfo=dt.UTC),
            campaign=self.campaign, org_unit=tree.grid_b,
        )  # fmt: skip
        self.channels = channel_records(grid=tree.grid_b, mark=FOREIGN_MARK)
        self.enterprise = enterprise_records(grid=tree.grid_b, mark=FOREIGN_MARK)
        self.performance = performance_records(
            grid=tree.grid_b, mark=FOREIGN_MARK, store_id=self.channels.store.store_id
        )
        self.offer = Offer.objects.create(
            code=f"{FOREIGN_MARK}-OFFER", name=f"{FOREIGN_MARK}-offer", offer_type=OfferType.GIFT,
            valid_from=dt.date(2030, 1, 1), valid_until=dt.date(2030, 12, 31),
            org_unit=tree.county_b,
        )  # fmt: skip

    def by_model(self) -> dict[str, Any]:
        return {
            "core.orgunit": self.unit,
            "core.staff": self.staff,
            "core.job": self.job,
            "core.auditrecord": self.audit,
            "core.apitoken": self.token,
            "core.roleassignment": self.assignment,
            "auth.user": self.owner,
            "auth.group": self.group,
            "data.importmapping": self.mapping,
            "warehouse.subscriber": self.subscriber,
            "campaigns.campaign": self.campaign,
            "campaigns.replyreview": self.review,
            "campaigns.offer": self.offer,
            "campaigns.segment": self.campaign.segment_version.segment,
            "channels.store": self.channels.store,
            "channels.storevisit": self.channels.visit,
            "channels.commitment": self.channels.commitment,
            "channels.partnerissue": self.channels.issue,
            "channels.commissionruleset": self.channels.rule_set,
            "channels.commissionstatement": self.channels.statement,
            "enterprise.account": self.enterprise.account,
            "enterprise.keyperson": self.enterprise.person,
            "enterprise.caremoment": self.enterprise.moment,
            "enterprise.enterprisevisit": self.enterprise.visit,
            "enterprise.opportunity": self.enterprise.opportunity,
            "enterprise.industryproduct": self.enterprise.product,
            "enterprise.staff": self.enterprise.manager,
            "performance.target": self.performance.unit_target,
            "performance.stafftarget": self.performance.staff_target,
            "performance.responsibility": self.performance.clerk,
            "performance.grademove": self.performance.move,
            "performance.incentiveruleset": self.performance.rule_set,
            "performance.incentivestatement": self.performance.statement,
            "performance.staff": self.performance.staff,
        }

    def snapshot(self) -> dict[str, Any]:
        state = {
            label: model_to_dict(obj)
            for label, obj in self.by_model().items()
            if not isinstance(obj, ForeignSubscriber)
        }
        city_b = self.unit.parent
        assert city_b is not None
        state["counts"] = {
            model.__name__: model.objects.filter(org_unit__path__startswith=city_b.path).count()
            for model in (Staff, Job, AuditRecord, RoleAssignment)
        }
        state["counts"]["OrgUnit"] = OrgUnit.objects.filter(path__startswith=city_b.path).count()
        state["counts"]["ApiToken"] = ApiToken.objects.filter(user=self.owner).count()
        state["counts"]["owner roles"] = RoleAssignment.objects.filter(user=self.owner).count()
        state["counts"]["mappings"] = ImportMapping.objects.filter(
            org_unit__path__startswith=city_b.path
        ).count()
        state["warehouse"] = self.warehouse()
        return state

    def warehouse(self) -> dict[str, Any]:
        """City B's warehouse rows, and the whole of the tables an import replaces."""
        store = Warehouse()
        only_b = {"subscribers": self.subscriber.pk, "monthly_usage": self.subscriber.pk}
        state = {}
        for table in ("subscribers", "monthly_usage", "plans", "grids", "org_units"):
            where = f"WHERE subscriber_id = '{only_b[table]}'" if table in only_b else ""
            rows = duckdb.sql(f"SELECT * FROM {store.relation(table)} {where}").fetchall()
            state[table] = sorted(map(repr, rows))
        return state


ROUTE_OBJECTS = {
    "core:orgunit-detail": "core.orgunit",
    "core:orgunit-edit": "core.orgunit",
    "core:staff-detail": "core.staff",
    "core:staff-reveal": "core.staff",
    "core:job-detail": "core.job",
    "core:job-progress": "core.job",
    "core:job-quarantine": "core.job",
    "core:job-cancel": "core.job",
    "core:job-retry": "core.job",
    "core:token-revoke": "core.apitoken",
    "data:mapping-edit": "data.importmapping",
    "data:customer-detail": "warehouse.subscriber",
    "data:customer-reveal": "warehouse.subscriber",
    "insight:customer-panel": "warehouse.subscriber",
    "campaigns:detail": "campaigns.campaign",
    "campaigns:estimate": "campaigns.campaign",
    "campaigns:edit": "campaigns.campaign",
    "campaigns:edit-estimate-preview": "campaigns.campaign",
    "campaigns:dispatch": "campaigns.campaign",
    "campaigns:responses": "campaigns.campaign",
    "campaigns:evaluate": "campaigns.campaign",
    "campaigns:evaluation": "campaigns.campaign",
    "campaigns:review-decide": "campaigns.replyreview",
    "campaigns:offer-edit": "campaigns.offer",
    "campaigns:offer-retire": "campaigns.offer",
    "campaigns:offer-delete": "campaigns.offer",
    "campaigns:segment": "campaigns.segment",
    "campaigns:segment-copy": "campaigns.segment",
    "campaigns:segment-delete": "campaigns.segment",
    "campaigns:store-quotas": "campaigns.campaign",
    "api:get_org_unit": "core.orgunit",
    "api:update_org_unit": "core.orgunit",
    "api:get_staff": "core.staff",
    "api:reveal_staff_mobile": "core.staff",
    "api:get_job": "core.job",
    "api:cancel_job": "core.job",
    "api:retry_job": "core.job",
}
# The store file's API routes, by store ID (not a primary key).
STORE_API_ROUTES = {"api:get_store", "api:set_stage", "api:reveal_store_contact"}
# The routes that import files, walked with hostile files on top of the usual requests: a new
# import route (console or API) fails test_every_import_route_is_walked until it is added.
IMPORT_ROUTES = {"data:table-import", "core:orgunit-import"}
NOT_IMPORTS = {
    "campaigns:list-upload": "a list of customer IDs for a segment, kept in its org",
    # Key persons from a CRM export go to the account file, not the warehouse; a row naming an
    # account outside the importer's reach is refused like an unknown one
    # (tests/enterprise/test_persons_import.py).
    "enterprise:persons-import": "key persons of the importer's own accounts",
}
SUBSCRIBER_HEADER = (
    "subscriber_id,msisdn,name,segment,payment_type,join_date,status,plan_id,grid_id,"
    "consent_sms,do_not_disturb\n"
)
ADMIN_MODEL_ROUTE = re.compile(r"^admin/(?P<app>\w+)/(?P<model>\w+)/(<path:object_id>|<id>)/")
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def concrete_routes(foreign: Foreign) -> list[tuple[str, str]]:
    """(name, url) for every route, with foreign record IDs in every parameter."""
    objects = foreign.by_model()
    routes: list[tuple[str, str]] = []
    unmapped: list[str] = []
    for pattern, name in walk(get_resolver().url_patterns):
        url = "/" + pattern.lstrip("^").rstrip("$")
        if "(?P<app_label>" in url:
            routes.append((name, "/admin/core/"))
            continue
        if "(?P<url>" in url:
            routes.append((name, "/admin/no-such-page/"))
            continue
        params = PARAM.findall(url)
        if not params:
            routes.append((name, url))
            continue
        admin_match = ADMIN_MODEL_ROUTE.match(pattern)
        if name == "admin:view_on_site":
            content_type = ContentType.objects.get_for_model(Staff)
            url = f"/admin/r/{content_type.pk}/{foreign.staff.pk}/"
        elif name == "campaigns:move":
            url = f"/campaigns/{foreign.campaign.pk}/approve/"
        elif name == "campaigns:report":
            url = f"/campaigns/{foreign.campaign.pk}/report.pdf"
        elif name == "campaigns:responses-rejected":
            url = f"/campaigns/{foreign.campaign.pk}/responses/rejected/responses-1T1.csv"
        elif name == "campaigns:call-list":
            url = f"/campaigns/{foreign.campaign.pk}/dispatch/s1/call-list.xlsx"
        elif name == "campaigns:experiment-download":
            # The figures live in the requester's own session: another user's are unreachable.
            url = "/campaigns/experiments/evaluate/lifts.xlsx"
        elif name == "web:capability":
            url = "/c/support/"
        elif name.startswith("channels:"):
            url = reverse(name, args=channel_args(name, foreign))
        elif name.startswith("performance:"):
            url = reverse(name, args=performance_args(name, foreign))
        elif name.startswith("enterprise:"):
            url = reverse(name, args=enterprise_args(name, foreign.enterprise))
        elif name in ENTERPRISE_API_ROUTES:
            url = PARAM.sub(str(ENTERPRISE_API_ROUTES[name](foreign.enterprise)), url)
        elif name in PERFORMANCE_API_ROUTES:
            url = PARAM.sub(str(PERFORMANCE_API_ROUTES[name](foreign.performance)), url)
        elif name in STORE_API_ROUTES:
            url = PARAM.sub(foreign.channels.store.store_id, url)
        elif admin_match:
            label = f"{admin_match['app']}.{admin_match['model']}"
            pk = objects[label].pk if label in objects else 10**9
            url = PARAM.sub(str(pk), url)
        elif name in ROUTE_OBJECTS:
            url = PARAM.sub(str(objects[ROUTE_OBJECTS[name]].pk), url)
        else:
            unmapped.append(f"{name} {pattern}")
            continue
        routes.append((name, url))
    assert not unmapped, f"routes with parameters the scoping test does not cover: {unmapped}"
    return routes


# The enterprise API's routes with a parameter: what of city B's records fills it.
ENTERPRISE_API_ROUTES: dict[str, Any] = {
    "api:get_account": lambda r: r.account.enterprise_id,
    "api:move_opportunity_stage": lambda r: r.opportunity.pk,
    "api:manager_appraisal": lambda r: r.manager.pk,
}
# The performance API's routes with a parameter: city B's target or statement.
PERFORMANCE_API_ROUTES: dict[str, Any] = {
    "api:decompose_target_api": lambda r: r.unit_target.pk,
    "api:change_target_api": lambda r: r.staff_target.pk,
    "api:get_incentive_statement": lambda r: r.statement.pk,
    "api:approve_incentive_statement": lambda r: r.statement.pk,
    # A KPI's values and a board are asked for by the catalogue's code (no record of city
    # B's): what answers is the caller's reach only.
    "api:kpi_values": lambda r: "revenue",
    "api:get_board": lambda r: "revenue",
    "api:grade_card": lambda r: r.staff.employee_no,
    "api:decide_move": lambda r: r.move.pk,
}


def performance_args(name: str, foreign: Foreign) -> list[Any]:
    """City B's record (or grid, staff member) in each parameter of a performance route."""
    records: PerformanceRecords = foreign.performance
    grid = foreign.unit.children.first()
    assert grid is not None
    employee_no = records.staff.employee_no
    part = name.removeprefix("performance:")
    by_part: dict[str, list[Any]] = {
        # The catalogue is the province's (a code, no record of city B's).
        "kpis-detail": ["revenue"],
        "kpis-drill": ["revenue", "staff", employee_no, "2024-12"],
        "kpis-drill-xlsx": ["revenue", "org_unit", grid.code, "2024Q4"],
        "actuals-responsibilities": [grid.code],
        "actuals-assign-clerk": [grid.code],
        "actuals-end-clerk": [grid.code, records.clerk.pk],
        "targets-detail": [records.unit_target.pk],
        "boards-morning": [grid.code],
        "grades-card": [employee_no],
        "grades-place": [employee_no],
        "grades-decide": [records.move.pk],
        "incentives-detail": [records.statement.pk],
        "incentives-approve": [records.statement.pk],
        "incentives-xlsx": [records.statement.pk],
        "incentives-pdf": [records.statement.pk],
        # Incentive rules are the province's, read by everyone who reads statements (they
        # are no one's personal figures): the walk asks for one that does not exist.
        "incentives-rule": [10**9],
        "incentives-rule-end": [records.rule_set.pk],
    }
    return by_part[part]


def enterprise_args(name: str, records: EnterpriseRecords) -> list[Any]:
    """City B's record in each parameter of an enterprise route."""
    part = name.removeprefix("enterprise:")
    if part.startswith(("accounts-", "grading-")):
        return [records.account.enterprise_id]
    by_part: dict[str, list[Any]] = {
        "persons-care-action": [records.moment.pk],
        "persons-care-skip": [records.moment.pk],
        "persons-account": [records.account.pk],
        "persons-account-add": [records.account.pk],
        "persons-influence-add": [records.account.pk],
        "persons-detail": [records.person.pk],
        "persons-reveal": [records.person.pk],
        "persons-moment": [records.person.pk],
        "persons-rate": [records.person.pk],
        "work-visit-detail": [records.visit.pk],
        "work-visit-new": [records.account.pk],
        "work-portfolio": [records.manager.pk],
        "work-grade": [records.manager.pk],
        "work-appraisal": [records.manager.pk],
        "work-appraisal-facts": [records.manager.pk, "visits_done"],
        "work-appraisal-facts-xlsx": [records.manager.pk, "visits_done"],
        "pipeline-detail": [records.opportunity.pk],
        "pipeline-move": [records.opportunity.pk],
        "pipeline-publish": [records.product.pk],
    }
    return by_part[part]


def channel_args(name: str, foreign: Foreign) -> list[Any]:
    """City B's record (or grid, county, manager) in each parameter of a channels route."""
    records: ChannelRecords = foreign.channels
    grid, county = foreign.unit.children.first(), foreign.unit
    assert grid is not None
    part = name.removeprefix("channels:")
    by_part: dict[str, list[Any]] = {
        "stores-detail": [records.store.store_id],
        "stores-reveal": [records.store.store_id],
        "stores-stage": [records.store.store_id],
        "visits-new": [records.store.pk],
        "visits-partner-store": [records.store.pk],
        "visits-partner-issue-new": [records.store.pk],
        "visits-detail": [records.visit.pk],
        "visits-commitment-close": [records.commitment.pk],
        "visits-issue-detail": [records.issue.pk],
        "visits-issue-move": [records.issue.pk],
        "commissions-detail": [records.statement.pk],
        "commissions-xlsx": [records.statement.pk],
        "commissions-pdf": [records.statement.pk],
        "commissions-approve": [records.statement.pk],
        "commissions-line": [records.statement.pk, 1],
        "commissions-ruleset": [records.rule_set.pk],
        "commissions-ruleset-dates": [records.rule_set.pk],
        "commissions-ruleset-publish": [records.rule_set.pk],
        "commissions-ruleset-version": [records.rule_set.pk],
        "commissions-rule-delete": [records.rule_set.pk, records.rule.pk],
        "scorecards-grid": [grid.code],
        "scorecards-facts": [grid.code, "customers"],
        "scorecards-facts-xlsx": [grid.code, "customers"],
        "scorecards-county": [county.code],
        "scorecards-county-xlsx": [county.code],
        "scorecards-manager": [foreign.staff.employee_no],
        "funnel-grid": [grid.code],
        "geo-grid-points": [grid.code, "stores"],
    }
    return by_part[part]


def hostile_form(foreign: Foreign) -> dict[str, Any]:
    return {
        "parent": foreign.unit.pk,
        "parent_id": foreign.unit.pk,
        "org_unit": foreign.unit.pk,
        "code": HACK,
        "name": HACK,
        "name_en": HACK,
        "level": "grid",
        "reason": "scoping test",
        "full": "on",
        "scope": foreign.assignment.pk,
        "user": foreign.owner.pk,
        "role": Role.PROVINCE_ADMIN.value,
        "employee_no": HACK,
        "new_mobile": "13000000000",
        "days": 30,
        "decision": "opted_out",
    }


def hostile_imports(tree: factories.Tree, foreign: Foreign) -> dict[str, str]:
    """Files that would take over or rewrite city B's records, or replace whole tables."""
    grid_a, sb = tree.grid_a.code, foreign.subscriber.pk
    return {
        # B's customer moved into A's grid, with a new number, consent and do-not-disturb
        "subscribers": SUBSCRIBER_HEADER
        + f"{sb},13000000000,{HACK},个人,postpaid,2020-01-05,active,P1,{grid_a},是,否\n",
        "monthly_usage": f"subscriber_id,month,arpu\n{sb},2024-01,999\n",
        "plans": f"plan_id,name,plan_type,monthly_fee,is_5g\nP9,{HACK},prepaid,1,否\n",
        "grids": f"grid_id,name,grid_type,county_code\n{grid_a},{HACK},沿街,{tree.county_a.code}\n",
        "org_units": f"code,name,level\n{HACK},{HACK},group\n",
    }


def walk_imports(
    client: Client, url: str, files: dict[str, str], foreign: Foreign, directory: Path
) -> tuple[list[str], list[Job]]:
    """Post each hostile file to an import route, run the jobs it queued; (leaks, jobs)."""
    leaks: list[str] = []
    uploads = dict(files)
    if url == "/org-units/import/":
        header = "code,name,name_en,level,parent_code\n"
        uploads = {"org": f"{header}{HACK},{HACK},x,grid,{foreign.unit.code}\n"}
    for table, text in uploads.items():
        path = directory / f"hostile-{table}.csv"
        path.write_text(text, encoding="utf-8")
        with path.open("rb") as handle:
            response = client.post(url, {"table": table, "file": handle})
        if response.status_code >= 500:
            leaks.append(f"POST {url} ({table} file): server error")
    queued = Job.objects.filter(status=JobStatus.QUEUED)
    return leaks, [execute_job(job_id=pk) for pk in queued.values_list("pk", flat=True)]


def cli_imports(user: Any, files: dict[str, str], directory: Path) -> list[Job]:
    """`quanwang import TABLE FILE --as USER` with each hostile file; the jobs it ran."""
    before = set(Job.objects.values_list("pk", flat=True))
    for table, text in files.items():
        path = directory / f"cli-{table}.csv"
        path.write_text(text, encoding="utf-8")
        try:
            call_command("import", table, str(path), "--as", user.username)
        except CommandError:
            continue  # refused: this user may not import that table
    return list(Job.objects.exclude(pk__in=before))


def requests_for(client: Client, url: str, token: str, form: dict[str, Any]) -> Iterator[Any]:
    if url.startswith("/api/"):
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        body = json.dumps(form)
        yield client.get(url, **auth)
        yield client.post(url, body, content_type="application/json", **auth)
        yield client.patch(url, body, content_type="application/json", **auth)
    else:
        yield client.get(url)
        yield client.post(url, form)


@pytest.mark.parametrize("role", list(Role))
def test_no_role_reads_or_changes_records_outside_its_subtree(
    role: Role, tree: factories.Tree, client: Client, tmp_path: Path
) -> None:
    # Given a user holding `role` in city A (with admin access) and records in city B
    foreign = Foreign(tree, tmp_path)
    user = factories.user(role=role, at=tree.city_a, is_staff=True)
    _token, secret = create_token(user=user, name="walk")
    before = foreign.snapshot()
    form = hostile_form(foreign)
    leaks: list[str] = []

    # When they open, post to and patch every route with city B's record IDs, post hostile
    # files to every import route and import them from the command line as themselves
    imports: list[Job] = []
    files = hostile_imports(tree, foreign)
    for name, url in concrete_routes(foreign):
        if name in {"logout", "admin:logout"}:
            continue
        client.force_login(user)
        if name in IMPORT_ROUTES:
            failures, jobs = walk_imports(client, url, files, foreign, tmp_path)
            leaks += failures
            imports += jobs
        for response in requests_for(client, url, secret, form):
            content = b"".join(response) if response.streaming else response.content
            body = content.decode("utf-8", "replace")
            if FOREIGN_MARK in body or FOREIGN_MARK.lower() in body:
                leaks.append(f"{response.request['REQUEST_METHOD']} {url}: shows foreign data")
            is_detail = PARAM.search(url) is not None or url.rstrip("/").split("/")[-1].isdigit()
            if is_detail and response.status_code not in ALLOWED_STATUSES:
                leaks.append(f"{response.request['REQUEST_METHOD']} {url}: {response.status_code}")
            if response.status_code >= 500:
                leaks.append(f"{response.request['REQUEST_METHOD']} {url}: server error")

    imports += cli_imports(user, files, tmp_path)

    # Then nothing of city B was shown, and nothing anywhere was changed or created by the walk
    assert leaks == [], "\n".join(leaks)
    assert foreign.snapshot() == before
    assert not OrgUnit.objects.filter(name=HACK).exists()
    assert not AuditRecord.objects.filter(reason="scoping test").exists()
    # (and where the role may import customers, the hostile rows did reach the importer, to be
    # quarantined as outside the user's scope)
    if may_import(user, TABLES["subscribers"]):
        scoped = [j for j in imports if (j.result or {}).get("by_reason", {}).get("scope")]
        assert len(scoped) >= 2, [(j.params.get("table"), j.status, j.error) for j in imports]


def test_every_import_route_is_walked_with_hostile_files() -> None:
    # Given every route of the console and the API
    names = {name for _pattern, name in walk(get_resolver().url_patterns)}

    # When those that import or upload files are picked out
    importing = {n for n in names if re.search("import(?!mapping)|upload", n, re.IGNORECASE)}

    # Then each is walked with hostile files (or is known not to load the warehouse)
    assert importing - IMPORT_ROUTES - NOT_IMPORTS.keys() == set()
    assert names >= IMPORT_ROUTES


def test_every_route_with_a_record_id_answers_404_to_an_outsider(
    tree: factories.Tree, client: Client, tmp_path: Path
) -> None:
    # Given a county manager in city A
    foreign = Foreign(tree, tmp_path)
    user = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    _token, secret = create_token(user=user, name="walk")
    client.force_login(user)

    # When they GET each of our own detail routes with a city B record ID
    statuses = {}
    for name, url in concrete_routes(foreign):
        if name in ROUTE_OBJECTS and name.startswith(("core:", "data:", "api:get_")):
            auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if url.startswith("/api/") else {}
            statuses[name] = client.get(url, **auth).status_code

    # Then every answer is 404 (POST-only routes answer 405 to GET)
    assert statuses
    assert {name: s for name, s in statuses.items() if s not in {404, 405}} == {}
