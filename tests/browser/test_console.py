"""The console as a person uses it: real Chromium, real login form, real htmx."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from quanwang.core.choices import Role
from quanwang.core.jobs import execute_job
from quanwang.core.models import Job, RoleAssignment
from quanwang.core.navigation import Capability
from tests import factories
from tests.browser.conftest import TIMEOUT_MS, start_in_background, submit_login

CAPABILITY_NAV = "nav.capabilities > .cap > a"
GRID_ROWS = 2000


def in_language(code: str, text: Any) -> str:
    """`text` (a msgid or lazy label) as the console shows it in language `code`."""
    with translation.override(code):
        return str(translation.gettext(text) if isinstance(text, str) else text)


def capability_names(code: str) -> list[str]:
    return [in_language(code, c.label) for c in Capability]


def table_codes(page: Any) -> set[str]:
    return set(page.locator("main table tbody tr td:first-child").all_inner_texts())


def mark_document(page: Any) -> None:
    """Tag the loaded document: the tag survives htmx swaps but not a page load."""
    page.evaluate("window.__quanwang_no_reload = true")


def document_kept(page: Any) -> bool:
    return page.evaluate("window.__quanwang_no_reload === true")


@pytest.mark.browser
@pytest.mark.parametrize("browser_locale", ["zh-CN", "de-DE"])
def test_login_page_is_chinese_when_no_language_was_chosen(
    browser: Any, live_server: Any, browser_locale: str
) -> None:
    # given a browser that asks for Chinese, or for a language the console lacks
    context = browser.new_context(base_url=live_server.url, locale=browser_locale)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        # when it opens the login page
        page.goto("/login/")

        # then the page is Simplified Chinese
        assert page.get_attribute("html", "lang") == "zh-hans"
        heading = page.locator("main h1").inner_text()
        assert heading == in_language("zh-hans", "Log in")
        assert heading != "Log in"
        assert page.locator(".lang-switch button.active").inner_text() == "简体中文"
    finally:
        context.close()


@pytest.mark.browser
def test_login_refuses_a_wrong_password_and_lands_on_home_with_the_right_one(
    page: Any, live_server: Any, tree: factories.Tree, tmp_path: Path
) -> None:
    # given a county manager
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a, username="li.county")

    # when they log in with a wrong password
    submit_login(page, username="li.county", password="not-the-password")

    # then the login form is shown again with an error, and they are not in
    assert page.url.endswith("/login/")
    assert page.locator("ul.errors li").count() == 1
    assert page.locator(CAPABILITY_NAV).count() == 0

    # when they log in with the right password
    submit_login(page, username=manager.username, password=factories.PASSWORD)

    # then they land on the home page, with the five capabilities in the navigation
    assert page.url == f"{live_server.url}/"
    assert page.locator(CAPABILITY_NAV).all_inner_texts() == capability_names("zh-hans")
    assert page.locator(".account .username").inner_text() == "li.county"
    screenshot = tmp_path / "home.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 0
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.browser
def test_language_buttons_switch_the_console_to_english_and_back(
    page: Any, log_in: Any, tree: factories.Tree
) -> None:
    # given a user on the home page, in Chinese
    log_in(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))
    assert page.get_attribute("html", "lang") == "zh-hans"

    # when they press "English"
    with page.expect_navigation():
        page.click(".lang-switch button[value=en]")

    # then the same page is in English
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator(CAPABILITY_NAV).all_inner_texts() == capability_names("en")
    assert page.locator("main h1").inner_text() == "Marketing operations"
    assert page.locator(".lang-switch button.active").inner_text() == "English"

    # when they press "简体中文"
    with page.expect_navigation():
        page.click(".lang-switch button[value=zh-hans]")

    # then it is Chinese again
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert page.locator(CAPABILITY_NAV).all_inner_texts() == capability_names("zh-hans")
    assert page.locator("main h1").inner_text() == in_language("zh-hans", "Marketing operations")


def grid_csv(rows: int, *, parent_code: str) -> bytes:
    lines = ["code,name,name_en,level,parent_code"]
    lines += [f"G{i:04d},导入网格{i:04d},Grid {i:04d},grid,{parent_code}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def progress_snapshot(page: Any) -> list[str]:
    """(data-status, progress bar width, done/total) of the job card as now drawn."""
    return page.evaluate(
        """() => {
            const card = document.querySelector('#job-progress');
            const bar = card.querySelector('.progress-bar');
            const count = card.querySelector('#job-count');
            return [card.dataset.status, bar ? bar.style.width : '',
                    count ? count.textContent.trim() : ''];
        }"""
    )


@pytest.mark.browser
def test_org_unit_import_shows_live_progress_until_it_succeeds(
    page: Any, log_in: Any, tree: factories.Tree
) -> None:
    # given a county manager on the import page, with a CSV of many grids under their county
    log_in(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))
    page.goto("/org-units/import/")
    page.set_input_files(
        "input[name=file]",
        files=[
            {
                "name": "grids.csv",
                "mimeType": "text/csv",
                "buffer": grid_csv(GRID_ROWS, parent_code=tree.county_a.code),
            }
        ],
    )

    # when they start the import
    with page.expect_navigation():
        page.click("main form button[type=submit]")

    # then a queued job is shown and was handed to the task queue
    job = Job.objects.get()
    assert page.url.endswith(f"/jobs/{job.pk}/")
    assert page.get_attribute("#job-progress", "data-status") == "queued"
    assert job.task_result_id

    # when a worker runs it (slowed a little per row so that polling catches it midway)
    mark_document(page)
    worker = start_in_background(
        lambda: execute_job(job_id=job.pk, listener=lambda _job: time.sleep(0.002))
    )
    seen: list[list[str]] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        snapshot = progress_snapshot(page)
        if not seen or seen[-1] != snapshot:
            seen.append(snapshot)
        if snapshot[0] not in {"queued", "running"}:
            break
        page.wait_for_timeout(100)
    worker.finish(timeout=10)

    # then the bar was redrawn in place while the job ran, and it ends succeeded at 100%
    partial = [s for s in seen if s[0] == "running" and s[2] and s[2] != f"{GRID_ROWS}/{GRID_ROWS}"]
    assert len({s[2] for s in partial}) >= 2, f"no live progress seen: {seen}"
    assert all(s[1] == f"{int(s[2].split('/')[0]) * 100 // GRID_ROWS}%" for s in partial), seen
    error = page.locator("#job-error").all_inner_texts()
    assert seen[-1] == ["succeeded", "100%", f"{GRID_ROWS}/{GRID_ROWS}"], (seen, error)
    assert document_kept(page)
    assert page.get_attribute("#job-progress", "hx-get") is None
    job.refresh_from_db()
    assert (job.result["created"], job.result["quarantined"]) == (GRID_ROWS, 0), job.result
    assert str(GRID_ROWS) in page.locator("#job-progress dl.result dd").all_inner_texts()

    # and the imported grids are in the org-unit list, under the county
    page.goto("/org-units/?q=G1999")
    row = page.locator("main table tbody tr")
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "G1999"
    assert cells[1] == "导入网格1999"
    assert cells[3] == tree.county_a.name


@pytest.mark.browser
def test_revealing_a_mobile_number_happens_in_place_and_is_audited(
    page: Any, log_in: Any, tree: factories.Tree
) -> None:
    # given a county manager looking at a staff member of their county
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a, username="wang.county")
    auditor = factories.user(role=Role.AUDITOR, at=tree.province)
    member = factories.staff(at=tree.grid_a, mobile="13812345678", employee_no="E77777")
    log_in(manager)
    page.goto(f"/staff/{member.pk}/")

    # then the number is masked
    assert page.locator("#mobile").inner_text() == "138****5678"
    assert "13812345678" not in page.content()

    # when they give a reason and ask for the full number
    mark_document(page)
    page.fill("#reveal [name=reason]", "回访核实工单")
    page.click("#reveal button[type=submit]")

    # then the full number appears in place, without a page load
    assert page.locator("#reveal .full-mobile").inner_text() == "13812345678"
    assert document_kept(page)
    assert page.url.endswith(f"/staff/{member.pk}/")

    # and the auditor finds that view, with its reason, in the audit log
    page.context.clear_cookies()
    log_in(auditor)
    page.goto("/audit/")
    row = page.locator("main table tbody tr", has_text="wang.county")
    assert row.count() == 1
    assert "回访核实工单" in row.inner_text()
    assert "E77777 138****5678" in row.inner_text()
    assert "13812345678" not in page.content()


@pytest.mark.browser
def test_scope_switcher_narrows_the_org_unit_list(
    page: Any, log_in: Any, tree: factories.Tree
) -> None:
    # given a user who manages county A and grid B, looking at the org-unit list
    user = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    county_role = RoleAssignment.objects.get(user=user)
    RoleAssignment.objects.create(user=user, role=Role.GRID_MANAGER, org_unit=tree.grid_b)
    log_in(user)
    page.goto("/org-units/")
    assert table_codes(page) == {"CA-1", "CA-1-G1", "CB-1-G1"}

    # when they pick county A in the scope switcher
    with page.expect_navigation():
        page.select_option("select#scope", value=str(county_role.pk))

    # then the same list shows only county A's units
    assert page.url.endswith("/org-units/")
    assert page.locator("select#scope").input_value() == str(county_role.pk)
    assert table_codes(page) == {"CA-1", "CA-1-G1"}

    # when they go back to all their scopes
    with page.expect_navigation():
        page.select_option("select#scope", value="")

    # then everything is listed again
    assert table_codes(page) == {"CA-1", "CA-1-G1", "CB-1-G1"}


@pytest.mark.browser
def test_five_wrong_passwords_lock_the_login_even_for_the_right_one(
    page: Any, tree: factories.Tree
) -> None:
    # given a user, and four wrong passwords that only give the usual error
    factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a, username="zhao.locked")
    for _attempt in range(4):
        response = submit_login(page, username="zhao.locked", password="wrong-password")
        assert response.status == 200
        assert page.locator("ul.errors li").count() == 1
    locked_heading = in_language("zh-hans", "Too many failed logins")

    # when the fifth wrong password is sent
    response = submit_login(page, username="zhao.locked", password="wrong-password")

    # then the lockout page is shown
    assert response.status == 429
    assert page.locator("main h1").inner_text() == locked_heading
    assert page.locator("input[name=password]").count() == 0

    # when the right password is sent while locked
    response = submit_login(page, username="zhao.locked", password=factories.PASSWORD)

    # then it is refused too, and the user is not logged in
    assert response.status == 429
    assert page.locator("main h1").inner_text() == locked_heading
    page.goto("/")
    assert "/login/" in page.url


@pytest.mark.browser
def test_customer_360_is_found_by_search_and_draws_its_usage_chart(
    page: Any, log_in: Any, tree: factories.Tree, tmp_path: Path
) -> None:
    # given a grid manager whose grid holds a subscriber with two months of usage
    ids = factories.warehouse_customers(tree, tmp_path)
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    log_in(manager)

    # when they search for the subscriber and open the result
    page.goto("/customers/")
    page.fill("input[name=q]", ids[tree.grid_a.code])
    page.click("form.filters button[type=submit]")
    page.click(f"main table a:has-text('{ids[tree.grid_a.code]}')")

    # then the 360 page shows the masked number, the call circle and a drawn chart
    page.wait_for_selector("#usage-chart canvas", timeout=TIMEOUT_MS)
    heading = page.locator("main h1").inner_text()
    assert "138****0001" in heading
    assert "13812340001" not in page.content()
    assert "移动" in page.locator("main table").first.inner_text()

    # and a subscriber of another grid is not found at all
    page.goto(f"/customers/?q={ids[tree.grid_b.code]}")
    assert "FOREIGNMARK" not in page.content()
