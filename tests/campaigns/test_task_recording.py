"""Recording a task's outcome in place (issue 15): the htmx answer is the row and the counts,
errors show inside the row, and a double tap counts one attempt."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from quanwang.campaigns.choices import ContactOutcome
from quanwang.campaigns.models import Campaign, TaskOutcome
from quanwang.campaigns.services import transition
from quanwang.campaigns.tasks import REPEAT_WINDOW, TaskState, record_outcome, task_list
from quanwang.core.choices import Role
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import (
    TEN_AM,
    TODAY,
    approved,
    dispatch_tasks,
    load_city_warehouse,
    marketer,
)

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_ACCEPT_LANGUAGE": "en"}
RECORD = "/campaigns/tasks/record/"


@pytest.fixture
def tasked(tree: factories.Tree, city: Snapshot, tmp_path: Path) -> Campaign:
    load_city_warehouse(tree, tmp_path)
    designer = marketer(tree)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )
    dispatch_tasks(designer, campaign)
    return campaign


@pytest.fixture
def manager(tree: factories.Tree) -> Any:
    return factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)


def _first(user: Any) -> str:
    return task_list(user=user).rows[0].subscriber_id


def _post(client: Any, campaign: Campaign, customer: str, **fields: str) -> Any:
    data = {"campaign": str(campaign.pk), "subscriber_id": customer, "back": ""} | fields
    return client.post(RECORD, data, **HTMX)


def _row(html: str, campaign: Campaign, customer: str) -> str:
    found = re.search(rf'<tr id="task-{campaign.pk}-{customer}".*?</tr>', html, re.S)
    assert found, html
    return found.group(0)


def test_an_htmx_recording_answers_with_the_updated_row_and_the_counts(
    tasked: Campaign, manager: Any, client: Any
) -> None:
    # Given grid A's manager on their list filtered to what is not yet recorded
    client.force_login(manager)
    customer = _first(manager)
    waiting = task_list(user=manager).counts[TaskState.NOT_RECORDED]

    # When they tap "accepted" on a row, with htmx
    answer = _post(
        client, tasked, customer, outcome="accepted", note="办理续约", back="outcome=not_recorded"
    )

    # Then the answer is that row, updated (no redirect), and the counts, out of band
    html = answer.content.decode()
    assert answer.status_code == 200
    row = _row(html, tasked, customer)
    assert "Accepted" in row
    assert "办理续约" in row
    assert "1 attempt" in row
    counts = re.search(r'<section class="stats" id="task-counts" hx-swap-oob="true">.*?</section>',
                       html, re.S)  # fmt: skip
    assert counts
    assert re.search(r'id="count-accepted"><a href="[^"]*outcome=accepted"><span class="num">1<',
                     counts.group(0))  # fmt: skip
    assert f'<span class="num">{waiting - 1}</span>' in counts.group(0)
    assert "messages" not in html
    assert TaskOutcome.objects.get().outcome == ContactOutcome.ACCEPTED


def test_a_double_tap_counts_one_attempt_and_a_second_outcome_another(
    tasked: Campaign, manager: Any, client: Any
) -> None:
    client.force_login(manager)
    customer = _first(manager)

    # When the same outcome is posted twice in a row (a double tap), then another one
    first = _post(client, tasked, customer, outcome="unreachable", note="")
    second = _post(client, tasked, customer, outcome="unreachable", note="")
    twice = TaskOutcome.objects.get().attempts
    _post(client, tasked, customer, outcome="contacted", note="")

    # Then the repeat changed nothing, and the different outcome is a second attempt
    assert (first.status_code, second.status_code) == (200, 200)
    assert twice == 1
    assert "1 attempt" in _row(second.content.decode(), tasked, customer)
    row = TaskOutcome.objects.get()
    assert (row.outcome, row.attempts) == (ContactOutcome.CONTACTED, 2)


def test_a_tap_on_the_replaced_row_with_its_note_empty_is_no_second_attempt(
    tasked: Campaign, manager: Any, client: Any
) -> None:
    # Given an acceptance recorded with a note from a row
    client.force_login(manager)
    customer = _first(manager)
    _post(client, tasked, customer, outcome="accepted", note="办理续约")

    # When the second tap of a double tap lands on the row that replaced it (note empty)
    answer = _post(client, tasked, customer, outcome="accepted", note="")

    # Then it is the same contact: one attempt, the note kept
    row = TaskOutcome.objects.get()
    assert (row.attempts, row.note) == (1, "办理续约")
    assert "办理续约" in _row(answer.content.decode(), tasked, customer)


def test_a_different_note_soon_after_is_another_attempt(tasked: Campaign, manager: Any) -> None:
    customer = _first(manager)
    at = TEN_AM + dt.timedelta(hours=1)
    for note, moment in (("无人接听", at), ("再次无人接听", at + REPEAT_WINDOW / 3)):
        record_outcome(
            actor=manager, campaign=tasked, subscriber_id=customer,
            outcome=ContactOutcome.UNREACHABLE, note=note, at=moment,
        )  # fmt: skip

    row = TaskOutcome.objects.get()
    assert (row.attempts, row.note) == (2, "再次无人接听")


def test_the_same_outcome_again_after_the_window_is_another_attempt(
    tasked: Campaign, manager: Any
) -> None:
    customer = _first(manager)
    at = TEN_AM + dt.timedelta(hours=1)
    for moment in (at, at + REPEAT_WINDOW / 2, at + REPEAT_WINDOW * 2):
        record_outcome(
            actor=manager, campaign=tasked, subscriber_id=customer,
            outcome=ContactOutcome.UNREACHABLE, at=moment,
        )  # fmt: skip

    assert TaskOutcome.objects.get().attempts == 2


def test_a_repeat_by_another_user_is_another_attempt(
    tasked: Campaign, manager: Any, tree: factories.Tree
) -> None:
    customer = _first(manager)
    colleague = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    at = TEN_AM + dt.timedelta(hours=1)
    for actor in (manager, colleague):
        record_outcome(
            actor=actor, campaign=tasked, subscriber_id=customer,
            outcome=ContactOutcome.UNREACHABLE, at=at,
        )  # fmt: skip

    assert TaskOutcome.objects.get().attempts == 2


def test_a_refused_recording_shows_its_error_inside_the_row(
    tasked: Campaign, manager: Any, client: Any
) -> None:
    client.force_login(manager)
    customer = _first(manager)

    answer = _post(client, tasked, customer, outcome="accepted", note="长" * 201)

    # Then the row comes back with the error in it and the note kept; nothing is stored
    assert answer.status_code == 422
    row = _row(answer.content.decode(), tasked, customer)
    assert 'class="has-error"' in row
    assert re.search(r'<p class="error" role="alert">[^<]*200', row)
    assert 'value="' + "长" * 201 + '"' in row
    assert "task-counts" not in answer.content.decode()
    assert not TaskOutcome.objects.exists()


def test_a_task_of_a_closed_campaign_answers_with_the_reason_in_its_place(
    tasked: Campaign, manager: Any, client: Any, tree: factories.Tree
) -> None:
    client.force_login(manager)
    customer = _first(manager)
    designer = marketer(tree)
    for move in ("start", "close"):
        transition(actor=designer, campaign=Campaign.objects.get(), move=move)

    answer = _post(client, tasked, customer, outcome="accepted")

    assert answer.status_code == 422
    row = _row(answer.content.decode(), tasked, customer)
    assert 'role="alert"' in row
    assert "is closed" in row.lower()
    assert not TaskOutcome.objects.exists()


def test_without_htmx_the_form_still_records_and_goes_back(
    tasked: Campaign, manager: Any, client: Any
) -> None:
    client.force_login(manager)
    customer = _first(manager)

    answer = client.post(
        RECORD,
        {"campaign": tasked.pk, "subscriber_id": customer, "outcome": "refused", "back": "page=1"},
    )

    assert answer.status_code == 302
    assert answer["Location"] == "/campaigns/tasks/?page=1"
    assert TaskOutcome.objects.get().outcome == ContactOutcome.REFUSED


def test_the_page_has_one_form_per_row_wired_for_htmx_and_a_plain_post(
    tasked: Campaign, manager: Any, client: Any
) -> None:
    client.force_login(manager)

    html = client.get("/campaigns/tasks/").content.decode()

    rows = task_list(user=manager).rows
    forms = re.findall(r'<form method="post" action="/campaigns/tasks/record/"[^>]*>', html)
    assert len(forms) == len(rows) > 0
    assert all('hx-post="/campaigns/tasks/record/"' in f for f in forms)
    assert all('hx-target="closest tr"' in f and 'hx-swap="outerHTML"' in f for f in forms)
    assert "campaigns/tasks.css" in html


def _css_labels(html: str) -> list[str]:
    """The column headings a phone shows on each card (CSS variables, hex escapes undone)."""
    return [
        re.sub(r"\\([0-9a-f]+) ", lambda m: chr(int(m.group(1), 16)), value)
        for value in re.findall(r'--label-[a-z]+: "([^"]*)";', html)
    ]


def _english_words(html: str) -> set[str]:
    """Words in Latin letters in the page's main part, as a user reads it (text, placeholders,
    labels and the cards' headings; not codes in hover titles), but for the file format's
    name."""
    main = html[html.find("<main") :] if "<main" in html else html
    main = re.sub(r"<(script|style)\b.*?</\1>", " ", main, flags=re.S)
    shown = re.findall(r'(?:placeholder|aria-label)="([^"]*)"', main) + _css_labels(html)
    text = re.sub(r"<[^>]+>", " ", main)
    words = set(re.findall(r"[A-Za-z]{2,}", " ".join([text, *shown])))
    return words - {"XLSX"}


def test_the_task_list_and_a_recordings_answer_read_in_chinese(
    tasked: Campaign, manager: Any, client: Any
) -> None:
    client.force_login(manager)
    customer = _first(manager)

    page = client.get("/campaigns/tasks/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    answer = client.post(
        RECORD,
        {"campaign": tasked.pk, "subscriber_id": customer, "outcome": "accepted", "back": ""},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    ).content.decode()
    refused = client.post(
        RECORD,
        {"campaign": tasked.pk, "subscriber_id": customer, "outcome": "accepted",
         "note": "长" * 201, "back": ""},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    ).content.decode()  # fmt: skip

    assert "优先级" in page
    assert "网格 / 网点" in _css_labels(page)
    assert "已接受" in answer
    assert _english_words(page) == set()
    assert _english_words(answer) == set()
    assert _english_words(refused) == set()
