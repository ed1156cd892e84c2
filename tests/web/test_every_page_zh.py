"""Every console page, opened by every role in zh-hans: no untranslated English, and no 400 or 500.

The pages are every GET route of the URLconf (Django admin, the API, login and the language
switch aside), their parameters filled with real records: campaigns in several states, a
segment, offers, jobs of each kind, an import mapping, a customer, a reply to review. Each
must answer 200, 302, 403 or 404 (405 where a route takes only POST); never 400 or 500.

What a page shows (its text, the title, placeholder, aria-label and alt of its elements, the
value of its buttons; not <code>, <script>, <style>, <textarea>, nor what is marked
translate="no") must hold no Latin-letter word outside the allow-lists below: codes and
units, not English.

The records are built once for the module (in a transaction rolled back at its end): about
half the test's time; each role's walk of ~170 URLs takes the rest.
"""

from __future__ import annotations

import datetime as dt
import html.parser
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from quanwang.campaigns.choices import CampaignState, Channel, OfferType
from quanwang.campaigns.models import Campaign, Offer, ReplyReview
from quanwang.campaigns.responses import import_responses
from quanwang.campaigns.services import create_campaign, transition
from quanwang.channels.commissions.services import rules as commission_rules
from quanwang.channels.commissions.services import runs as commission_runs
from quanwang.channels.funnel.services.kept import build_funnel
from quanwang.channels.geo.runs import assign_all
from quanwang.channels.models import CommissionStatement
from quanwang.channels.scorecards.services.kept import build_scorecards
from quanwang.channels.stores.regrading import regrade
from quanwang.core.choices import Action, JobKind, Resource, Role
from quanwang.core.jobs import execute_job
from quanwang.core.models import Job
from quanwang.core.navigation import Capability
from quanwang.core.permissions import GRANTS, reach
from quanwang.core.services.jobs import start_job
from quanwang.core.services.tokens import create_token
from quanwang.data.importer import import_file
from quanwang.data.models import ImportMapping
from quanwang.data.services import start_import
from tests import factories
from tests.campaigns.conftest import MONTH, TODAY, design, dispatch_tasks, offer
from tests.channels.records import ChannelRecords, channel_records
from tests.enterprise.records import EnterpriseRecords, enterprise_records
from tests.insight.conftest import PLANS, subscriber, usage_rows
from tests.performance.records import PerformanceRecords, performance_records

# Latin-letter words a Chinese page may show: codes, units, product and file-format names.
ALLOWED_WORDS = frozenset(
    {
        # file formats and encodings
        "XLSX", "PDF", "CSV", "GBK", "UTF", "JSON", "TSV", "XLS", "Parquet",
        # telecom and business measures
        "ARPU", "DOU", "MOU", "KPI", "ROI", "CLV", "AUC", "SMS", "TD", "Y", "GB", "MB",
        "TB", "KB", "ID", "API", "App", "OpenID", "SIM", "IP", "IPTV", "PSI", "WKT",
        # enterprise customers: the CRM that exports orders, a key person's IT role, 集团V网
        "CRM", "IT", "V",
        # products and engines the console names
        "ECharts", "DuckDB", "Spark", "LightGBM", "Quanwang", "htmx", "PageRank",
        # the language switch names English in English
        "English",
    }
)  # fmt: skip
# Codes of this test's own records (org units CA and CB), shown as data.
DATA_WORDS = frozenset({"CA", "CB"})

# Where each role of the permission table stands in the test tree (as the demo logins do); a
# new role fails the test until it is placed here.
ROLE_UNITS = {
    Role.PROVINCE_ADMIN: "province",
    Role.CITY_MARKETER: "city_a",
    Role.COUNTY_MANAGER: "county_a",
    Role.GRID_MANAGER: "grid_a",
    Role.ACCOUNT_MANAGER: "county_a",
    Role.CHANNEL_MANAGER: "city_a",
    Role.AGENCY: "province",
    Role.AUDITOR: "province",
    Role.CHANNEL_PARTNER: "grid_a",
}
# Routes that are no console page: the admin, the API, the login and the language switch.
NOT_CONSOLE = re.compile(r"^(admin|api|login|logout|set_language)\b|^$")
ANSWERS = {200, 302, 403, 404}
# A route that only takes POST answers 405 to a GET: it is no page to open.
POST_ONLY = 405
# Pages whose answer follows one grant of the permission table: 200 with it, 404 without.
AS_GRANTED = {
    "campaigns:experiment-evaluate": lambda role: (
        200 if reach(role=role, resource=Resource.CAMPAIGN, action=Action.CHANGE) else 404
    ),
}
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
WORD = re.compile(r"(?<![\w\-./@%])[A-Za-z]{2,}(?![\w\-/@%])")
SKIPPED_TAGS = frozenset({"code", "script", "style", "textarea", "kbd", "samp"})
VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip
SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")


class _ShownText(html.parser.HTMLParser):
    """The text a reader sees on a page, and the attributes a pointer or a reader shows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0  # open elements inside a skipped one (the skipped one counts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        # translate="no" (HTML's own mark for what is not to be translated: code, an example
        # in JSON) hides the element, its attributes included.
        untranslated = values.get("translate") == "no"
        if self._hidden_depth:
            self._hidden_depth += tag not in VOID_TAGS
            return
        if not untranslated:
            self.parts += [values[a] or "" for a in SHOWN_ATTRIBUTES if values.get(a)]
            button = tag == "input" and (values.get("type") or "") in {"submit", "button", "reset"}
            if button and values.get("value"):
                self.parts.append(values["value"] or "")
        if (tag in SKIPPED_TAGS or untranslated) and tag not in VOID_TAGS:
            self._hidden_depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self._hidden_depth and tag not in VOID_TAGS:
            self._hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)


def untranslated(page: str, allowed: frozenset[str], pending: tuple[str, ...] = ()) -> list[str]:
    """The shown texts of `page` (text nodes, shown attributes) holding a Latin-letter word
    outside `allowed`, once the `pending` strings are taken out of them."""
    parser = _ShownText()
    parser.feed(page)
    parser.close()
    found = []
    for part in parser.parts:
        for text in pending:
            part = part.replace(text, " ")
        if any(w not in allowed for w in WORD.findall(part)):
            found.append(" ".join(part.split()))
    return found


def english_words(page: str, allowed: frozenset[str], pending: tuple[str, ...] = ()) -> set[str]:
    texts = untranslated(page, allowed, pending)
    return {w for t in texts for w in WORD.findall(t) if w not in allowed}


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), namespace + (entry.name or "")


@dataclass
class World:
    """The records the pages are opened on, and a user per role."""

    tree: factories.Tree
    users: dict[Role, Any]
    campaigns: dict[str, Campaign]
    offers: list[Offer]
    jobs: list[Job]
    subscriber_id: str
    review: ReplyReview
    mapping: ImportMapping
    staff: Any
    token_id: int
    channels: ChannelRecords
    enterprise: EnterpriseRecords
    performance: PerformanceRecords

    def records(self) -> dict[str, list[str]]:
        """IDs to put in a route's one parameter, by the route's path up to it."""
        segment = self.campaigns["draft"].segment_version.segment
        return {
            "org-units/": [str(self.tree.county_a.pk), str(self.tree.grid_a.pk)],
            "staff/": [str(self.staff.pk)],
            "jobs/": [str(j.pk) for j in self.jobs],
            "api-tokens/": [str(self.token_id)],
            "data/mappings/": [str(self.mapping.pk)],
            "customers/": [self.subscriber_id],
            "insight/customers/": [self.subscriber_id],
            "campaigns/": [str(c.pk) for c in self.campaigns.values()],
            "campaigns/offers/": [str(o.pk) for o in self.offers],
            "campaigns/segments/": [str(segment.pk)],
            "campaigns/replies/": [str(self.review.pk)],
            "channels/stores/": [self.channels.store.store_id],
            "channels/scorecards/grids/": [self.tree.grid_a.code],
            "channels/scorecards/counties/": [self.tree.county_a.code],
            "channels/scorecards/managers/": [self.staff.employee_no],
            "funnel/grids/": [self.tree.grid_a.code],
            "visits/": [str(self.channels.visit.pk)],
            "visits/stores/": [str(self.channels.store.pk)],
            "visits/issues/": [str(self.channels.issue.pk)],
            "visits/commitments/": [str(self.channels.commitment.pk)],
            "partner/stores/": [str(self.channels.store.pk)],
            "commissions/": [str(self.channels.statement.pk)] if self.channels.statement else [],
            "commissions/rules/": [str(self.channels.rule_set.pk)],
            "enterprise/accounts/": [self.enterprise.account.enterprise_id],
            "enterprise/persons/care/": [str(self.enterprise.moment.pk)],
            "enterprise/persons/accounts/": [str(self.enterprise.account.pk)],
            "enterprise/persons/": [str(self.enterprise.person.pk)],
            "enterprise/visits/": [str(self.enterprise.visit.pk)],
            "enterprise/visits/new/": [str(self.enterprise.account.pk)],
            "enterprise/managers/": [str(self.enterprise.manager.pk)],
            "enterprise/pipeline/": [str(self.enterprise.opportunity.pk)],
            "enterprise/products/": [str(self.enterprise.product.pk)],
            "performance/kpis/": ["revenue", "churn_rate", "arpu"],
            "performance/actuals/units/": [self.tree.grid_a.code, self.tree.county_a.code],
            "performance/targets/": [
                str(self.performance.unit_target.pk),
                str(self.performance.staff_target.pk),
            ],
            "performance/boards/morning/teams/": [self.tree.grid_a.code, self.tree.county_a.code],
            "performance/grades/staff/": [self.performance.staff.employee_no],
            "performance/incentives/": [str(self.performance.statement.pk)],
            "performance/incentives/rules/": [str(self.performance.rule_set.pk)],
        }

    def urls(self) -> list[tuple[str, str]]:
        """(route name, url) for every console route, its parameter filled with each record
        of its kind; a route with a parameter of an unknown kind fails the test until added."""
        evaluated = self.campaigns["evaluated"].pk
        # Routes with two parameters, or one that names no record.
        fixed = {
            "campaigns:report": [f"/campaigns/{evaluated}/report.pdf"],
            "campaigns:call-list": [],  # a download (XLSX), no page
            "campaigns:responses-rejected": [],  # a download (CSV), no page
            "campaigns:experiment-download": [],  # a download of the session's figures
            "campaigns:move": [],  # POST only
            "web:capability": [f"/c/{c.value}/" for c in Capability],
            # The channels routes with two parameters, and downloads.
            "channels:scorecards-facts": [
                f"/channels/scorecards/grids/{self.tree.grid_a.code}/facts/{measure}/"
                for measure in ("customers", "revenue", "churns", "on_5g")
            ],
            "channels:scorecards-facts-xlsx": [],
            "channels:scorecards-county-xlsx": [],
            "channels:geo-grid-points": [
                f"/channels/map/grids/{self.tree.grid_a.code}/{kind}/"
                for kind in ("subscribers", "stores", "enterprises")
            ],
            "channels:commissions-line": [f"/commissions/{self.channels.statement.pk}/lines/1/"]
            if self.channels.statement
            else [],
            "channels:commissions-xlsx": [],
            "channels:commissions-pdf": [],
            "channels:commissions-rule-delete": [],  # POST only
            "enterprise:work-appraisal-facts": [
                f"/enterprise/managers/{self.enterprise.manager.pk}/appraisal/{measure}/"
                for measure in ("visits_done", "visits_planned", "opportunities_won", "revenue")
            ],
            "enterprise:work-appraisal-facts-xlsx": [],
            # The performance routes with several parameters, downloads and POST-only ones.
            "performance:kpis-drill": [
                f"/performance/kpis/revenue/org_unit/{self.tree.grid_a.code}/2024Q4/",
                f"/performance/kpis/revenue/staff/{self.performance.staff.employee_no}/2024-12/",
            ],
            "performance:kpis-drill-xlsx": [],
            "performance:actuals-assign-clerk": [],
            "performance:actuals-end-clerk": [],
            "performance:grades-decide": [],
            "performance:incentives-approve": [],
            "performance:incentives-xlsx": [],
            "performance:incentives-pdf": [],
            "performance:incentives-rule-end": [],
        }
        queries = {
            "data:customer-search": [f"?q={self.subscriber_id}", "?q=S00"],
            "campaigns:tasks": ["?status=open"],
            "core:job-list": ["?status=queued"],
            "insight:dashboard": ["?snapshot=2024-05"],
            "performance:boards-index": [
                f"?level=grid&unit={self.tree.county_a.code}&board=overall",
                f"?level=grid_manager&unit={self.tree.county_a.code}&board=revenue",
            ],
            "performance:boards-entry": [
                f"?level=grid&unit={self.tree.county_a.code}&board=revenue"
                f"&key={self.tree.grid_a.code}",
            ],
            "performance:targets-tree": ["?period=2024Q4", "?period=2024-12"],
        }
        records = self.records()
        routes: list[tuple[str, str]] = []
        unmapped = []
        for pattern, name in walk(get_resolver().url_patterns):
            if NOT_CONSOLE.match(pattern) or name.startswith(("admin:", "api:")):
                continue
            url = "/" + pattern
            if name in fixed:
                routes += [(name, u) for u in fixed[name]]
                continue
            params = list(PARAM.finditer(url))
            if not params:
                routes.append((name, url))
                routes += [(name, url + q) for q in queries.get(name, [])]
                continue
            kind = url[1 : params[0].start()]
            if len(params) > 1 or kind not in records:
                unmapped.append(name)
                continue
            routes += [(name, PARAM.sub(v, url)) for v in records[kind]]
        assert not unmapped, f"routes this test does not fill in: {unmapped}"
        return routes


def _people(tree: factories.Tree) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """200 customers: S000-S099 in grid A, S100-S199 in grid B; ARPU rises with the number;
    every fourth has a contract ending within 3 months."""
    people, usage = [], []
    for i in range(200):
        grid = tree.grid_a.code if i < 100 else tree.grid_b.code
        contract = dt.date(2024, 8, 15) if i % 4 == 0 else dt.date(2026, 1, 1)
        sid = f"S{i:03d}"
        people.append(
            subscriber(
                sid, grid_id=grid, contract_end_date=contract, name=f"王{i}",
                msisdn=f"138{i:08d}", consent_call=True, consent_sms=True,
                payment_type="prepaid" if i % 3 else "postpaid",
            )
        )  # fmt: skip
        usage += usage_rows(sid, {"2024-04": 10 + i, "2024-05": 10 + i, "2024-06": 10 + i})
    return people, usage


def _load_warehouse(tree: factories.Tree, directory: Path) -> None:
    people, usage = _people(tree)
    # Square boundaries side by side: the grid map draws them.
    grids = [
        {"grid_id": g.code, "name": g.name, "grid_type": "沿街", "county_code": county.code,
         "boundary_wkt": f"POLYGON(({x} 23, {x + 0.1} 23, {x + 0.1} 23.1, {x} 23.1, {x} 23))"}
        for g, county, x in (
            (tree.grid_a, tree.county_a, 113.0), (tree.grid_b, tree.county_b, 113.2)
        )
    ]  # fmt: skip
    stores = [{"store_id": "ST-A1", "name": "甲1店", "store_type": "自营厅",
               "grid_id": tree.grid_a.code}]  # fmt: skip
    # S004's call circle (competitors' numbers: the off-net pool), recharges and complaints.
    contacts = [
        {"subscriber_id": f"S{i:03d}", "month": month, "peer_hash": f"h{peer:02d}",
         "peer_operator": operator, "calls": 4 + peer, "minutes": 12.5 * (peer + 1), "sms": 1}
        for i in (4, 5, 104)
        for month in ("2024-04", "2024-05", "2024-06")
        for peer, operator in enumerate(("移动", "联通", "电信", "本网"))
    ]  # fmt: skip
    recharges = [
        {"recharge_id": f"R{n}", "subscriber_id": "S004", "recharge_date": dt.date(2024, 6, n),
         "amount": 123456.5 if n == 1 else 50.0, "channel": "营业厅"}
        for n in (1, 2)
    ]  # fmt: skip
    complaints = [
        {"complaint_id": "K1", "subscriber_id": "S004", "created_date": dt.date(2024, 6, 3),
         "category": "网络质量", "level": "重要", "channel": "10086", "resolved": True}
    ]  # fmt: skip
    # ST-A1's sale lines (a sale and its refund: a commission statement) and its traffic in
    # two months (the omni-channel funnel).
    channel_sales = [
        {"sale_id": "CS1", "store_id": "ST-A1", "sale_date": dt.date(2024, 6, 3), "product": "号卡",
         "plan_id": "P5G", "subscriber_id": "S004", "amount": 100.0, "kind": "销售"},
        {"sale_id": "CS2", "store_id": "ST-A1", "sale_date": dt.date(2024, 6, 4), "product": "号卡",
         "plan_id": "P5G", "subscriber_id": "S005", "amount": 100.0, "kind": "销售"},
        {"sale_id": "CS3", "store_id": "ST-A1", "sale_date": dt.date(2024, 6, 9), "product": "号卡",
         "plan_id": "P5G", "subscriber_id": "S005", "amount": -100.0, "kind": "退款",
         "original_sale_id": "CS2"},
    ]  # fmt: skip
    store_traffic = [
        {"store_id": "ST-A1", "month": month, "footfall": footfall, "buyers": 40,
         "transactions": 44, "revenue": 8800.0, "referrals": 10, "referred_buyers": 4,
         "referred_transactions": 4, "referred_revenue": 900.0}
        for month, footfall in (("2024-05", 400), ("2024-06", 500))
    ]  # fmt: skip
    store_sales = [
        {"store_id": "ST-A1", "month": month, "product": "号卡", "units": 44, "revenue": 9700.0}
        for month in ("2024-05", "2024-06")
    ]  # fmt: skip
    files = factories.canonical_files(
        directory, plans=PLANS, grids=grids, subscribers=people, monthly_usage=usage,
        stores=stores, contacts=contacts, recharges=recharges, complaints=complaints,
        channel_sales=channel_sales, store_traffic=store_traffic, store_sales=store_sales,
    )  # fmt: skip
    for table in files:
        import_file(table_name=table, path=files[table])


def _run(job: Job) -> Job:
    execute_job(job_id=job.pk)
    job.refresh_from_db()
    return job


def _jobs(tree: factories.Tree, admin: Any, directory: Path) -> list[Job]:
    """A job of each kind, run to its end: the pipeline (two months: the snapshots to
    compare), a table import and an org import with rejected rows, and a failed one."""
    pipeline = [
        _run(
            start_job(
                actor=admin,
                kind=JobKind.RUN_PIPELINE,
                org_unit=tree.province,
                params={"month": month},
                background=False,
            )
        )
        for month in ("2024-05", MONTH)
    ]
    plans = directory / "plans-upload.csv"
    plans.write_text(
        "plan_id,name,plan_type,monthly_fee,is_5g\nP4G,4G19,prepaid,19,否\n"
        "P5G,5G129,postpaid,129,是\nPBB,宽带,broadband,100,否\nPX,坏,nope,abc,否\n",
        encoding="utf-8",
    )
    table = _run(
        start_import(
            actor=admin, table="plans", path=plans, filename="套餐.csv",
            org_unit=tree.province, background=False, confirm_replace=True,
        )
    )  # fmt: skip
    org = directory / "org.csv"
    org.write_text(
        "code,name,name_en,level,parent_code\nCA-1-G2,甲二网格,,grid,CA-1\n坏 码,坏,,grid,CA-1\n",
        encoding="utf-8",
    )
    org_job = _run(
        start_job(
            actor=admin, kind=JobKind.IMPORT_ORG_UNITS, org_unit=tree.province,
            params={"path": str(org), "filename": "组织.csv"}, background=False,
        )
    )  # fmt: skip
    failed = _run(
        start_job(
            actor=admin, kind=JobKind.RUN_PIPELINE, org_unit=tree.province,
            params={"month": "1999-01"}, background=False,
        )
    )  # fmt: skip
    return [*pipeline, table, org_job, failed]


def _campaigns(tree: factories.Tree, designer: Any, approver: Any, directory: Path) -> dict:
    """Campaigns of city A in each state the pages show differently."""
    city_offer = offer(
        tree, code="CITY-20", name="甲市流量包", org_unit=tree.city_a,
        offer_type=OfferType.GIFT, cost_per_taker=Decimal("20"),
    )  # fmt: skip
    chosen = design(
        tree, offers=[offer(tree), city_offer], channels=[Channel.SMS, Channel.TASK],
        budget=Decimal("125000"),
    )  # fmt: skip
    chosen.segment_version.segment.org_unit = tree.city_a
    chosen.segment_version.segment.save()

    def new(name: str) -> Campaign:
        return create_campaign(
            actor=designer, org_unit=tree.city_a, design=replace(chosen, name=name), today=TODAY
        )

    drafted = new("草稿营销案")
    submitted = transition(
        actor=designer, campaign=new("待审营销案"), move="submit", acknowledge_loss=True
    )
    rejected = transition(
        actor=approver,
        campaign=transition(
            actor=designer, campaign=new("退回营销案"), move="submit", acknowledge_loss=True
        ),
        move="reject",
        comment="预算过高",
    )

    def issued(name: str) -> Campaign:
        campaign = transition(
            actor=designer, campaign=new(name), move="submit", acknowledge_loss=True
        )
        campaign = transition(actor=approver, campaign=campaign, move="approve", comment="同意")
        return transition(actor=designer, campaign=campaign, move="issue", today=TODAY)

    running = issued("执行中营销案")
    dispatch_tasks(designer, running)
    running = transition(actor=designer, campaign=running, move="start")
    evaluated = issued("已评估营销案")
    rows = [[evaluated.pk, s, "2024-07-05", "20"] for s in (f"S{i:03d}" for i in range(0, 200, 4))]
    orders = directory / "orders.csv"
    orders.write_text(
        "campaign_id,subscriber_id,responded_on,revenue\n"
        + "".join(",".join(map(str, r)) + "\n" for r in rows),
        encoding="utf-8",
    )
    import_responses(
        path=orders, audiences={evaluated.pk: Path(evaluated.audience_path)},
        quarantine_dir=directory,
    )  # fmt: skip
    for move in ("start", "close", "evaluate"):
        evaluated = transition(actor=designer, campaign=evaluated, move=move)
    assert evaluated.state == CampaignState.EVALUATED
    return {
        "draft": drafted,
        "submitted": submitted,
        "rejected": rejected,
        "running": running,
        "evaluated": evaluated,
    }


def _channels(tree: factories.Tree, users: dict[Role, Any]) -> ChannelRecords:
    """The channels records of grid A (store ST-A1, its partner: the channel_partner user), a
    computed statement of June from the warehouse's sale lines, and what the nightly keeps:
    the scorecards, the funnel, a grid assignment, the store grades."""
    channels = channel_records(grid=tree.grid_a, mark="甲", store_id="ST-A1", statement=False)
    channels.store.partners.add(users[Role.CHANNEL_PARTNER])
    admin = users[Role.PROVINCE_ADMIN]
    rule_set = commission_rules.create_rule_set(
        actor=admin, name="标准酬金", valid_from=dt.date(2024, 1, 1)
    )
    commission_rules.add_rule(
        actor=admin, rule_set_id=rule_set.pk,
        terms=commission_rules.RuleTerms(product="号卡", fixed_amount=Decimal(50)),
    )  # fmt: skip
    commission_rules.publish_rule_set(actor=admin, rule_set_id=rule_set.pk)
    run = commission_runs.start_run(
        actor=users[Role.CITY_MARKETER], month="2024-06", background=False
    )
    execute_job(job_id=run.pk)
    channels.statement = CommissionStatement.objects.get(store=channels.store, month="2024-06")
    build_scorecards()
    build_funnel()
    assign_all()
    regrade(month="2024-06")
    return channels


def build_world(directory: Path) -> World:
    tree = factories.Tree()
    users = {
        role: factories.user(
            role=role, at=getattr(tree, ROLE_UNITS[role]), username=f"用户{role.value}"
        )
        for role in GRANTS
    }
    admin = users[Role.PROVINCE_ADMIN]
    _load_warehouse(tree, directory)
    jobs = _jobs(tree, admin, directory)
    campaigns = _campaigns(tree, users[Role.CITY_MARKETER], admin, directory)
    jobs += list(Job.objects.filter(kind=JobKind.DISPATCH_CAMPAIGN))
    retired = offer(
        tree, code="OLD-10", name="旧优惠", org_unit=tree.city_a,
        valid_until=dt.date(2024, 7, 31), retired_at=dt.datetime(2024, 7, 2, tzinfo=dt.UTC),
    )  # fmt: skip
    review = ReplyReview.objects.create(
        message_id="reply-1", subscriber_id="S004", text="不要再发了",
        received_at=dt.datetime(2024, 7, 3, tzinfo=dt.UTC), campaign=campaigns["running"],
        org_unit=tree.grid_a,
    )  # fmt: skip
    mapping = ImportMapping.objects.create(
        name="套餐映射", table="plans", spec={"columns": {"plan_id": {"from": "编号"}}},
        org_unit=tree.city_a,
    )  # fmt: skip
    staff = factories.staff(at=tree.grid_a, name="李四")
    channels = _channels(tree, users)
    enterprise = enterprise_records(
        grid=tree.grid_a, mark="甲", manager_user=users[Role.ACCOUNT_MANAGER]
    )
    performance = _performance(tree, users, channels)
    token, _secret = create_token(user=users[Role.CITY_MARKETER], name="报表")
    return World(
        tree=tree, users=users, campaigns=campaigns,
        offers=[*Offer.objects.filter(code__in=["RET-30", "CITY-20"]), retired], jobs=jobs,
        subscriber_id="S004", review=review, mapping=mapping, staff=staff, token_id=token.pk,
        channels=channels, enterprise=enterprise, performance=performance,
    )  # fmt: skip


def _performance(tree: factories.Tree, users: dict[Role, Any], channels: Any) -> Any:
    """The actuals computed from the world's warehouse, then the performance records of grid
    A (the grid manager's login is its manager), a composite score and the kept boards."""
    from quanwang.insight.choices import Engine
    from quanwang.performance.actuals.services import run_actuals
    from quanwang.performance.boards.build import build_day
    from quanwang.performance.boards.composites import save_composite

    run_actuals(as_of=dt.date(2024, 12, 31), full=True, engine=Engine.DUCKDB)
    records = performance_records(
        grid=tree.grid_a, mark="甲", store_id=channels.store.store_id,
        user=users[Role.GRID_MANAGER],
    )  # fmt: skip
    save_composite(user=None, code="overall", name="综合得分", weights={"revenue": 1})
    build_day()
    return records


@pytest.fixture(scope="module")
def world(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """Built once for the module, in a transaction rolled back at its end."""
    var = tmp_path_factory.mktemp("var")
    # The users log in with force_login: their passwords need no slow hash.
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        override_settings(VAR_DIR=var, PASSWORD_HASHERS=fast),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        yield build_world(tmp_path_factory.mktemp("files"))
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _var_dir() -> None:
    """Instead of conftest's folder per test, which would hide the world's: the world keeps
    its own var folder while the module runs."""


@pytest.mark.parametrize("role", list(GRANTS))
def test_every_page_answers_in_chinese_for_every_role(role: Role, world: World, db: None) -> None:
    # Given a user holding `role` and a page for every console route
    client = Client()
    client.force_login(world.users[role])
    allowed = ALLOWED_WORDS | DATA_WORDS
    wrong: list[str] = []

    # When each is opened in zh-hans
    for name, url in world.urls():
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        status = response.status_code
        if status == POST_ONLY:
            continue
        if status not in ANSWERS:
            wrong.append(f"{url} ({name}): HTTP {status}")
            continue
        if name in AS_GRANTED and status != AS_GRANTED[name](role):
            wrong.append(f"{url} ({name}): HTTP {status}, not as the permission table says")
        if "text/html" not in response.get("Content-Type", "") or response.streaming:
            continue
        texts = untranslated(response.content.decode(), allowed)
        if texts:
            wrong.append(f"{url} ({name}): " + " | ".join(dict.fromkeys(texts)))

    # Then each answers with a page, and none shows an English word
    if wrong:
        pytest.fail("\n".join(wrong), pytrace=False)


def test_the_word_check_sees_text_and_shown_attributes_only() -> None:
    page = (
        '<p title="Hover me">甲<code>raw_code</code> 乙</p><script>var fooBar;</script>'
        '<input type="submit" value="Send"><input name="table_name" value="hidden_value">'
        '<button aria-label="Close">×</button><p>S001 CA-1-G1 5G ARPU 元</p>'
        '<div translate="no">Not <b>this</b></div><input translate="no" placeholder="nor">'
    )

    assert english_words(page, ALLOWED_WORDS) == {"Hover", "me", "Send", "Close"}
