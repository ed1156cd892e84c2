"""The closed loop of issue 15 in real Chromium, from a fresh demo, as separate users, each in a
browser of their own and logged in through /login/:

1. the city marketer creates a city offer, builds a segment in the visual builder (with a 否
   condition) and designs a campaign with that offer, on SMS and grid tasks, then submits it;
2. the province admin approves it from the to-dos (待办) on the home page;
3. the city marketer issues and starts it, and sends its task step and its SMS step;
4. the county manager reads the county's roll-up of the quotas and their progress;
5. the grid manager, on a 390 px phone, records outcomes on the task list;
6. the demo's SMS sandbox has the messages; a simulated 退订 (TD) reply from its inbox opts the
   customer out, and the next SMS step leaves them out;
7. the responses are loaded, the campaign closed and evaluated (a background job), and the
   results read on its page.

Every page visited is screenshotted (the `artifacts` fixture prints where) and must show no
English word outside the allow-list of tests/web/test_every_page_zh.py (its checker, on the
page as drawn, scripts included) and the demo's own codes and logins; the
pages that showed any are listed together at the end.

The demo is built for the test (`quanwang demo`, small) into the test database and the test's
var folder, in demo mode with the sandbox gateways on a free port. The console, the sandbox
and the test (which runs the background jobs as the worker would) are threads of this process
on one database: PostgreSQL's test database, or SQLite's copied to a file
(tests.processes.database_shared_with_processes), since its in-memory one cannot be shared
between that many threads.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from quanwang.campaigns import clock
from quanwang.campaigns.choices import CampaignState, Channel, ContactOutcome, ExclusionRule
from quanwang.campaigns.dispatch import opt_outs_file
from quanwang.campaigns.models import Campaign, DispatchStep, Offer, Segment, TaskOutcome
from quanwang.campaigns.policy import SHANGHAI
from quanwang.campaigns.rules import describe
from quanwang.campaigns.sandbox.models import Direction, SandboxMessage
from quanwang.core.choices import JobKind, JobStatus
from quanwang.core.jobs import execute_job
from quanwang.core.models import Job, OrgUnit
from quanwang.core.services.demo import DEMO_PASSWORD
from tests.browser.conftest import submit_login
from tests.campaigns.sandboxing import served_sandbox
from tests.processes import database_shared_with_processes
from tests.web import test_every_page_zh as zh_check

# The smallest demo that gives every role data: the grid manager's grid has ~180 customers,
# 10 of them in the segment below. Built in ~20 s of CPU.
SUBSCRIBERS, MONTHS, SEED = 2_000, 9, 7
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# A loaded 2-core machine: issuing freezes the audience, a job page waits on a worker.
TIMEOUT_MS = 30_000
# The segment as the builder must save it: 否 is False (defect 1), not True.
RULE = {
    "all": [
        {"field": "plan_5g", "op": "is", "value": False},
        {"field": "device_5g", "op": "is", "value": True},
    ]
}
OFFER_CODE = "GZ-5G-RED-10"
CAMPAIGN = "5G终端客户升档（端到端测试）"
SMS_TEXT = "尊敬的客户，您的手机已支持5G，升级5G套餐即领10元红包"


@dataclass
class Demo:
    url: str
    seconds: float


@pytest.fixture
def demo(transactional_db: None, settings: Any, browser: Any) -> Iterator[Demo]:
    """A fresh demo operator on a shared database, the console serving it on a free port and
    the sandbox gateways on another, in demo mode with no channel configured."""
    from pytest_django.live_server_helper import LiveServer

    settings.QUANWANG_DEMO = True
    settings.QUANWANG_CHANNELS = {}
    with database_shared_with_processes(settings):
        server = LiveServer("localhost")
        try:
            with served_sandbox(settings, console_url=server.url):
                started = time.perf_counter()
                call_command(
                    "demo", subscribers=SUBSCRIBERS, months=MONTHS, seed=SEED, stdout=io.StringIO()
                )
                yield Demo(url=server.url, seconds=time.perf_counter() - started)
        finally:
            server.stop()
            connections.close_all()


@dataclass
class Visits:
    """Every page a user opens: checked for English, screenshotted in order."""

    browser: Any
    url: str
    folder: Path
    shots: list[Path] = field(default_factory=list)
    english: list[str] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)

    def open_as(self, username: str, *, phone: bool = False) -> Any:
        """A browser of `username`'s own (no shared cookies), logged in through the form."""
        context = self.browser.new_context(
            base_url=self.url,
            locale="zh-CN",
            viewport=PHONE if phone else DESKTOP,
            is_mobile=phone,
            has_touch=phone,
        )
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        answer = submit_login(page, username=username, password=DEMO_PASSWORD)
        assert answer.ok, username
        assert page.locator("input[name=password]").count() == 0, f"{username} not logged in"
        self.look(page, f"{username}-home")
        return page

    def go(self, page: Any, path: str, name: str) -> Any:
        answer = page.goto(path)
        assert answer is not None, path
        assert answer.status == 200, (path, answer.status)
        return self.look(page, name)

    def look(self, page: Any, name: str) -> Any:
        """Keep the page's picture, and note the English words it shows (all are reported
        together at the end, so one untranslated page does not hide the others)."""
        page.wait_for_load_state("load")
        shot = self.folder / f"{len(self.shots) + 1:02d}-{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        self.shots.append(shot)
        found = zh_check.untranslated(page.content(), zh_check.ALLOWED_WORDS | data_words())
        if found:
            texts = " | ".join(dict.fromkeys(found))
            self.english.append(f"{urlsplit(page.url).path} ({shot.name}): {texts}")
        return page

    def assert_chinese(self) -> None:
        assert not self.english, "English words on the pages:\n" + "\n".join(self.english)

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def data_words() -> frozenset[str]:
    """Latin letters the demo's own data shows: org unit codes (GD, GZ…) and the logins'
    names (admin, shown in the campaign's history)."""
    codes = [*OrgUnit.objects.values_list("code", flat=True)]
    codes += get_user_model().objects.values_list("username", flat=True)
    return frozenset(part for code in codes for part in re.findall(r"[A-Za-z]{2,}", code))


@pytest.fixture
def visits(demo: Demo, browser: Any, artifacts: Path) -> Iterator[Visits]:
    seen = Visits(browser=browser, url=demo.url, folder=artifacts)
    try:
        yield seen
    finally:
        seen.close()


def patient_expect() -> Any:
    """Playwright's `expect`, waiting TIMEOUT_MS instead of its 5 s (an htmx answer on a loaded
    machine), without changing the default of the other browser tests."""
    from playwright.sync_api import expect

    patient = type(expect)()
    patient.set_options(timeout=TIMEOUT_MS)
    return patient


def shanghai(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


def job_of(page: Any) -> Job:
    """The job whose page the browser is on."""
    found = re.search(r"/jobs/(\d+)/", page.url)
    assert found, page.url
    return Job.objects.get(pk=int(found.group(1)))


def run_job(job: Job, *, at: dt.datetime | None = None) -> Job:
    """Run a queued job here, as the worker would, at `at` (the dispatch clock) if given."""
    if at is None:
        done = execute_job(job_id=job.pk)
    else:
        with clock.frozen_at(at):
            done = execute_job(job_id=job.pk)
    assert done.status == JobStatus.SUCCEEDED, done.error
    return done


# --- the steps ---------------------------------------------------------------------------------


def city_offer(visits: Visits, page: Any, today: dt.date) -> Offer:
    visits.go(page, "/campaigns/offers/", "offers")
    with page.expect_navigation():
        page.click("#new-offer")
    visits.look(page, "offer-new")
    page.fill("input[name=code]", OFFER_CODE)
    page.fill("input[name=name]", "本市5G升档红包10元")
    page.select_option("select[name=offer_type]", "red_packet")
    page.fill("input[name=cost_per_taker]", "10")
    page.fill("input[name=monthly_revenue_change]", "30")
    page.fill("input[name=valid_from]", str(today))
    page.fill("input[name=valid_until]", str(today + dt.timedelta(days=90)))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    visits.look(page, "offer-saved")
    return Offer.objects.get(code=OFFER_CODE)


def build_segment(visits: Visits, page: Any) -> Segment:
    expect = patient_expect()

    visits.go(page, "/campaigns/segments/", "segments")
    rows = page.locator("#conditions > table > tbody > tr.condition")
    page.click("#add-condition")
    first = rows.nth(0)
    first.locator("select.field").select_option("plan_5g")
    expect(first.locator("select.op")).to_have_value("is")
    # 否: the customers NOT on a 5G plan.
    first.locator("select.value-bool").select_option("false")
    page.click("#add-condition")
    second = rows.nth(1)
    second.locator("select.field").select_option("device_5g")
    expect(second.locator("select.value-bool")).to_have_value("true")
    expect(page.locator("#preview-count")).to_be_visible()
    # the live preview reads the rule back in Chinese: not on a 5G plan, and a 5G phone
    expect(page.locator("#preview-text")).to_have_text(describe(RULE, language="zh"))
    visits.look(page, "segment-builder")
    page.fill("#id_name", "5G终端未办5G套餐")
    with page.expect_navigation():
        page.click("#segment-form button[type=submit]")
    visits.look(page, "segment-saved")
    segment = Segment.objects.get(name="5G终端未办5G套餐")
    [version] = segment.versions.all()
    assert version.rule == RULE
    return segment


def design_campaign(visits: Visits, page: Any, *, segment: Segment, offer: Offer) -> Campaign:
    expect = patient_expect()

    today = timezone.localdate()
    version = segment.versions.get()
    visits.go(page, "/campaigns/new/", "campaign-new")
    page.fill("input[name=name]", CAMPAIGN)
    page.select_option("select[name=campaign_type]", "migrate_5g")
    page.fill(
        "textarea[name=hypothesis]",
        "已用5G手机但未办5G套餐的客户，短信告知并由网格经理上门，可促成升档",
    )
    page.fill("input[name=objective_metric]", "升档客户数")
    page.fill("input[name=objective_target]", "20")
    page.fill("input[name=objective_deadline]", str(today + dt.timedelta(days=30)))
    page.select_option("select[name=segment_version]", str(version.pk))
    page.select_option("select[name=offers]", [str(offer.pk)])
    page.check("input[name=channels][value=sms]")
    page.check("input[name=channels][value=task]")
    page.fill("input[name=starts_on]", str(today))
    page.fill("input[name=ends_on]", str(today + dt.timedelta(days=30)))
    page.fill("input[name=budget]", "5000")
    page.click("#preview-estimate")
    expect(page.locator("#estimate-preview")).not_to_be_empty()
    visits.look(page, "campaign-estimate")
    with page.expect_navigation():
        page.click("#campaign-form button[type=submit]")
    visits.look(page, "campaign-draft")
    campaign = Campaign.objects.get(name=CAMPAIGN)
    assert campaign.state == CampaignState.DRAFT
    assert list(campaign.offers.all()) == [offer]
    assert sorted(campaign.channels) == [Channel.SMS, Channel.TASK]
    page.fill("#move-form textarea[name=comment]", "请审批")
    # A loss is submitted only with the marketer's acknowledgement (defect 8).
    if page.locator("#acknowledge-loss input[type=checkbox]").count():
        page.check("#acknowledge-loss input[type=checkbox]")
    with page.expect_navigation():
        page.click("#move-submit")
    visits.look(page, "campaign-submitted")
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SUBMITTED
    return campaign


def approve_from_todos(visits: Visits, page: Any, campaign: Campaign) -> None:
    expect = patient_expect()

    expect(page.locator("#todos")).to_be_visible()
    expect(page.locator("#nav-todos .badge")).not_to_have_text("0")
    with page.expect_navigation():
        page.click(f"#todo-campaign-{campaign.pk}")
    visits.look(page, "approval")
    page.fill("#move-form textarea[name=comment]", "同意")
    with page.expect_navigation():
        page.click("#move-approve")
    visits.look(page, "approved")
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.APPROVED
    visits.go(page, "/", "admin-home-after")
    assert page.locator(f"#todo-campaign-{campaign.pk}").count() == 0


def dispatch(visits: Visits, page: Any, campaign: Campaign, *, step: str, channel: Channel,
             text: str, at: dt.datetime, name: str) -> DispatchStep:  # fmt: skip
    visits.go(page, f"/campaigns/{campaign.pk}/", f"campaign-before-{step}")
    page.fill("input[name=step]", step)
    page.select_option("select[name=channel]", str(channel))
    page.fill("textarea[name=text]", text)
    with page.expect_navigation():
        page.click(f"form[action='/campaigns/{campaign.pk}/dispatch/'] button[type=submit]")
    job = run_job(job_of(page), at=at)
    page.reload()
    visits.look(page, name)
    assert job.result is not None
    return DispatchStep.objects.get(campaign=campaign, step=step)


def issue_and_send(visits: Visits, page: Any, campaign: Campaign, today: dt.date) -> None:
    visits.go(page, f"/campaigns/{campaign.pk}/", "campaign-approved")
    with page.expect_navigation():
        page.click("#move-issue")
    visits.look(page, "issued")
    with page.expect_navigation():
        page.click("#move-start")
    visits.look(page, "running")
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.RUNNING
    tasks = dispatch(
        visits, page, campaign, step="t1", channel=Channel.TASK,
        text="上门介绍5G套餐与10元红包", at=shanghai(today, 10), name="task-step-sent",
    )  # fmt: skip
    assert (tasks.planned or 0) > 0
    sms = dispatch(
        visits, page, campaign, step="s1", channel=Channel.SMS, text=SMS_TEXT,
        at=shanghai(today, 10), name="sms-step-sent",
    )  # fmt: skip
    assert sms.sent > 0
    assert sms.failed == 0
    visits.go(page, f"/campaigns/{campaign.pk}/", "campaign-running")
    assert page.locator("#dispatch-steps #step-t1").count() == 1
    assert page.locator("#dispatch-steps #step-s1").count() == 1


def county_roll_up(visits: Visits, page: Any, campaign: Campaign) -> None:
    expect = patient_expect()

    county = OrgUnit.objects.get(code="GD-GZ-BY")
    # The campaign is in their list with their own quota, and its page opens (defect 6: "还没有
    # 营销案" in the list, 404 on the page).
    visits.go(page, "/campaigns/", "county-campaign-list")
    listed = page.locator(f"#campaigns tr[data-campaign='{campaign.pk}']")
    expect(listed.locator("td.my-quota")).to_contain_text(county.name)
    with page.expect_navigation():
        listed.locator("a").first.click()
    visits.look(page, "county-campaign")
    row = page.locator(f"#quotas tr[data-unit='{county.code}']")
    expect(row).to_have_count(1)
    assert "rolled-up" in (row.get_attribute("class") or "")
    assert int(row.locator("td.target").inner_text().replace(",", "")) > 0
    assert row.locator(".pace-bar").count() == 1
    # and the grids under the county hold the quotas it sums; no other county is shown
    grids = page.locator(f"#quotas tr.level-grid[data-unit^='{county.code}-']")
    assert grids.count() >= 1
    units = page.locator("#quotas tbody tr").evaluate_all("rows => rows.map(r => r.dataset.unit)")
    assert all(unit.startswith(county.code) for unit in units), units
    # A city campaign is the city's to move and send: the county reads it only.
    assert page.locator("#move-form").count() == 0
    assert page.locator(f"form[action='/campaigns/{campaign.pk}/dispatch/']").count() == 0


def overflow(page: Any) -> int:
    """How many pixels the page is wider than the screen (0: no horizontal scrolling)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def record_outcomes(visits: Visits, phone: Any, campaign: Campaign) -> list[str]:
    """The grid manager records three outcomes on the phone; returns who accepted."""
    expect = patient_expect()

    visits.go(phone, f"/campaigns/tasks/?campaign={campaign.pk}", "phone-task-list")
    assert overflow(phone) == 0
    cards = phone.locator(f"#tasks tbody tr[id^='task-{campaign.pk}-']")
    assert cards.count() >= 3
    # only the manager's own grid's customers, the grid named, its code on hover
    grid = OrgUnit.objects.get(code="GD-GZ-BY-001")
    places = cards.locator("span.grid").evaluate_all(
        "spans => spans.map(s => [s.title, s.textContent])"
    )
    assert {tuple(p) for p in places} == {(grid.code, grid.name)}
    ids = [str(cards.nth(i).get_attribute("id")).rsplit("-", 1)[1] for i in range(3)]
    phone.evaluate("window.notReloaded = true")
    for subscriber, outcome, note in zip(
        ids,
        (ContactOutcome.ACCEPTED, ContactOutcome.REFUSED, ContactOutcome.ACCEPTED),
        ("已办理5G套餐", "暂不需要", "下月生效"),
        strict=True,
    ):
        card = phone.locator(f"#task-{campaign.pk}-{subscriber}")
        card.locator("input[name=note]").fill(note)
        card.locator(f"button[name=outcome][value={outcome}]").tap()
        expect(card.locator("td.outcome")).to_contain_text(note)
    expect(phone.locator("#count-accepted .num")).to_have_text("2")
    assert phone.evaluate("window.notReloaded") is True
    visits.look(phone, "phone-outcomes-recorded")
    assert overflow(phone) == 0
    recorded = TaskOutcome.objects.filter(campaign=campaign).order_by("subscriber_id")
    assert {(r.subscriber_id, r.outcome) for r in recorded} == {
        (ids[0], ContactOutcome.ACCEPTED),
        (ids[1], ContactOutcome.REFUSED),
        (ids[2], ContactOutcome.ACCEPTED),
    }
    assert {r.recorded_by.get_username() for r in recorded} == {"grid_manager"}
    return [ids[0], ids[2]]


def sandbox_opt_out(visits: Visits, page: Any, campaign: Campaign, today: dt.date) -> None:
    expect = patient_expect()

    visits.go(page, "/campaigns/promotion/", "promotion")
    assert page.locator("#channel-sms .status-sandbox").count() == 1
    with page.expect_navigation():
        page.click("#sandbox-link")
    visits.look(page, "sandbox-inbox")
    sent = SandboxMessage.objects.filter(
        campaign=campaign, channel=Channel.SMS, direction=Direction.TO_CUSTOMER
    )
    step = DispatchStep.objects.get(campaign=campaign, step="s1")
    assert sent.count() == step.sent
    # The newest message is on top: its customer replies TD from their phone.
    message = sent.order_by("-pk").first()
    assert message is not None
    assert message.subscriber_id
    card = page.locator(f"#conversation-{message.pk}")
    with page.expect_navigation():
        card.locator("button[name=quick][value=TD]").click()
    visits.look(page, "sandbox-td-reply")
    expect(page.locator("ul.messages li.success")).to_contain_text("TD")
    expect(page.locator(".bubble.reply", has_text="TD")).to_have_count(1)
    # The webhook records the opt-out (the page waits 3 s for it; a loaded machine may take
    # longer)
    opted_out = (message.subscriber_id, str(Channel.SMS))
    assert eventually(lambda: opted_out in opt_outs()), f"{opted_out} not in {opt_outs()}"
    # The next SMS step, the day after, leaves the customer out: 退订 is permanent.
    again = dispatch(
        visits, page, campaign, step="s2", channel=Channel.SMS, text=SMS_TEXT + "（再次提醒）",
        at=shanghai(today + dt.timedelta(days=1), 10), name="sms-step-2-sent",
    )  # fmt: skip
    assert again.excluded.get(str(ExclusionRule.OPTED_OUT), 0) >= 1
    second = SandboxMessage.objects.filter(campaign=campaign, text__contains="再次提醒")
    assert message.subscriber_id not in set(second.values_list("subscriber_id", flat=True))


def opt_outs() -> set[tuple[str, str]]:
    if not opt_outs_file().exists():
        return set()
    return {(r["subscriber_id"], r["channel"]) for r in pq.read_table(opt_outs_file()).to_pylist()}


def eventually(check: Callable[[], bool], *, seconds: float = TIMEOUT_MS / 1000) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def responses_csv(campaign: Campaign, takers: list[str], folder: Path) -> Path:
    """Orders in the window: the customers who accepted on the task list and a few more of the
    treated, and fewer of the control group."""
    audience = (
        duckdb.connect()
        .execute(
            "SELECT subscriber_id, in_control FROM read_parquet(?) ORDER BY 1",
            [campaign.audience_path],
        )
        .fetchall()
    )
    treated = [s for s, control in audience if not control]
    control = [s for s, control in audience if control]
    buyers = list(dict.fromkeys(takers + treated[: len(treated) // 3])) + control[:1]
    target = folder / "订单.csv"
    with target.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["campaign_id", "subscriber_id", "responded_on", "revenue"])
        writer.writerows([campaign.pk, s, str(timezone.localdate()), "50"] for s in buyers)
    return target


def evaluate(visits: Visits, page: Any, campaign: Campaign, takers: list[str], tmp: Path) -> None:
    expect = patient_expect()

    visits.go(page, f"/campaigns/{campaign.pk}/", "campaign-before-close")
    form = page.locator(f"form[action='/campaigns/{campaign.pk}/responses/']")
    form.locator("input[type=file]").set_input_files(str(responses_csv(campaign, takers, tmp)))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    visits.look(page, "responses-loaded")
    expect(page.locator("#response-report")).to_be_visible()
    page.fill("#move-form textarea[name=comment]", "活动结束")
    with page.expect_navigation():
        page.click("#move-close")
    visits.look(page, "closed")
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.CLOSED
    with page.expect_navigation():
        page.click("#evaluate")
    page.wait_for_selector("#evaluation[data-state=live]")
    visits.look(page, "evaluation-running")
    [job] = Job.objects.filter(kind=JobKind.EVALUATE_CAMPAIGN, params__campaign_id=campaign.pk)
    run_job(job)
    # The card follows the job and reloads the page when it ends.
    page.wait_for_selector("#evaluation[data-state=evaluated]")
    for dimension in ("value_tier", "org_unit", "channel"):
        page.wait_for_selector(f"#chart-{dimension} canvas")
    visits.look(page, "evaluated")
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.EVALUATED
    assert page.locator("#evaluation-verdict").count() == 1
    assert page.locator("#evaluation-uplift").inner_text().strip()
    assert page.locator("#evaluation-estimate tbody tr").count() >= 2
    # the response form is closed once evaluated
    assert form.count() == 0


# --- the test ----------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_closed_loop_from_a_fresh_demo(
    demo: Demo, visits: Visits, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    today = timezone.localdate()
    started = time.perf_counter()
    users = get_user_model().objects
    assert users.filter(username__in=["admin", "city_marketer", "county_manager",
                                      "grid_manager"]).count() == 4  # fmt: skip

    # 1. The city marketer: a city offer, a segment with a 否 condition, a campaign using both
    # on SMS and grid tasks, submitted for approval.
    marketer = visits.open_as("city_marketer")
    offer = city_offer(visits, marketer, today)
    assert offer.org_unit.code == "GD-GZ"
    segment = build_segment(visits, marketer)
    campaign = design_campaign(visits, marketer, segment=segment, offer=offer)

    # 2. The province admin approves it from the to-dos on the home page.
    admin = visits.open_as("admin")
    approve_from_todos(visits, admin, campaign)

    # 3. The city marketer issues and starts it, and sends its task and SMS steps.
    issue_and_send(visits, marketer, campaign, today)

    # 4. The county manager reads the county's roll-up on the campaign page.
    county = visits.open_as("county_manager")
    county_roll_up(visits, county, campaign)

    # 5. The grid manager records outcomes on a phone.
    phone = visits.open_as("grid_manager", phone=True)
    takers = record_outcomes(visits, phone, campaign)

    # 6. The sandbox has the SMS; a TD reply opts the customer out.
    sandbox_opt_out(visits, marketer, campaign, today)

    # 7. Responses loaded, the campaign closed and evaluated, the results read on its page.
    evaluate(visits, marketer, campaign, takers, tmp_path)

    # and no page on the way showed English
    visits.assert_chinese()

    with capsys.disabled():
        print(
            f"\nclosed loop: demo built in {demo.seconds:.0f} s, browser steps in "
            f"{time.perf_counter() - started:.0f} s, {len(visits.shots)} screenshots"
        )
