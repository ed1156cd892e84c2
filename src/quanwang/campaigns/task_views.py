"""Console pages of the task lists (任务清单): the grids', stores' and account managers' share
of each campaign's task steps, highest priority first, and the outcome of each contact
recorded in place (htmx; a plain form post without JS)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from quanwang.campaigns import tasks as task_services
from quanwang.campaigns.choices import ContactOutcome
from quanwang.campaigns.forms import TaskFilterForm, TaskOutcomeForm
from quanwang.campaigns.tasks import TaskFilters, TaskState
from quanwang.core.choices import Action, Resource
from quanwang.core.error_views import form_errors_text
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.querysets import has_grant

TASK_FILTERS = ("campaign", "grid", "account_manager", "store", "outcome", "page")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: An htmx answer whose form had an error: swapped in all the same (base.html's htmx-config).
UNPROCESSABLE = 422


def _task_guard(request: HttpRequest, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=Resource.CAMPAIGN_TASK, action=action):
        raise Http404


def _tasks_url(query: str) -> str:
    """The task list with the filters found in `query` (and nothing else)."""
    given = QueryDict(query)
    kept = QueryDict(mutable=True)
    for key in TASK_FILTERS:
        if given.get(key):
            kept[key] = given[key]
    encoded = kept.urlencode()
    return reverse("campaigns:tasks") + (f"?{encoded}" if encoded else "")


def _changed(query: QueryDict, **changes: str) -> str:
    """`query` with some filters changed (an empty value drops one), back on the first page."""
    changed = query.copy()
    changed.pop("page", None)
    for key, value in changes.items():
        changed[key] = value
    return changed.urlencode()


def _task_filters(
    request: HttpRequest, reach: task_services.TaskReach | None = None
) -> tuple[TaskFilterForm, TaskFilters]:
    form = TaskFilterForm(
        request.GET or None,
        choices=task_services.filter_choices(user=request.user, reach=reach),
    )
    valid = form.is_bound and form.is_valid()
    return form, form.filters() if valid else TaskFilters()


def _filters_in(query: QueryDict) -> TaskFilters:
    """The filters of a list's address as posted back by a row: read, not checked against the
    user's choices (the service refuses a grid, manager or campaign out of their reach)."""
    campaign = query.get("campaign", "")
    state = query.get("outcome", "")
    return TaskFilters(
        campaign_id=int(campaign) if campaign.isdigit() else None,
        grid=query.get("grid") or None,
        account_manager=query.get("account_manager") or None,
        store=query.get("store", "").strip()[:40] or None,
        state=TaskState(state) if state in TaskState.values else None,
    )


def _counts_context(
    query: QueryDict, counts: dict[TaskState, int], active: TaskState | None
) -> dict[str, Any]:
    return {
        "listed": sum(counts.values()),
        "counts": [
            {
                "state": state,
                "n": n,
                "url": _tasks_url(_changed(query, outcome=str(state))),
                "active": state == active,
            }
            for state, n in counts.items()
        ],
        "all_url": _tasks_url(_changed(query, outcome="")),
    }


#: The columns of a row (their cells' classes) and their headings: on a phone each cell shows
#: its heading before it (campaigns/tasks.css, from the CSS variables `_labels_css` sets).
COLUMNS = (
    ("priority", (gettext_lazy("Priority"),)),
    ("campaign", (gettext_lazy("Campaign"),)),
    ("customer", (gettext_lazy("Customer"),)),
    ("place", (gettext_lazy("Grid"), gettext_lazy("Store"))),
    ("tier", (gettext_lazy("Value tier"),)),
    ("risk", (gettext_lazy("Churn risk"),)),
    ("deadline", (gettext_lazy("Deadline"),)),
    ("outcome", (gettext_lazy("Outcome"),)),
)


def _css_string(text: str) -> str:
    """`text` as a CSS string: every ASCII character but letters and digits hex-escaped, so
    that no quote, backslash or `</style>` can end it."""
    return (
        '"' + "".join(c if not c.isascii() or c.isalnum() else f"\\{ord(c):x} " for c in text) + '"'
    )


def _labels_css() -> str:
    """The columns' headings as CSS variables of the task table, once a page: the cards on a
    phone label their cells with them (a `data-label` on each cell cost a template lookup on
    every cell of every row)."""
    variables = " ".join(
        f"--label-{name}: {_css_string(' / '.join(str(h) for h in headings))};"
        for name, headings in COLUMNS
    )
    return f".task-table {{ {variables} }}"


def _row_context(request: HttpRequest, back: str) -> dict[str, Any]:
    """What every row needs, worked out once for the page, not for each of its rows: the
    parts of its form that are the same on every row are rendered here."""
    record_url = reverse("campaigns:task-record")
    note = _("Note")
    return {
        "form_open": format_html(
            '<form method="post" action="{}" class="task-record" hx-post="{}" '
            'hx-target="closest tr" hx-swap="outerHTML" hx-sync="this:drop" '
            'hx-disabled-elt="find fieldset">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<input type="hidden" name="back" value="{}">',
            record_url,
            record_url,
            get_token(request),
            back,
        ),
        "note_input": format_html(
            '<input type="text" name="note" maxlength="200" placeholder="{}" aria-label="{}">',
            note,
            note,
        ),
        "note_label": note,
        "outcome_buttons": format_html_join(
            "",
            '<button type="submit" name="outcome" value="{}">{}</button>',
            ContactOutcome.choices,
        ),
        "account_manager_label": _("Account manager"),
        "no_store": _("no store"),
        # The customer 360's address less its ID: one reverse() for the page, not a row.
        "customer_base": reverse("data:customer-detail", args=["0"]).removesuffix("0/"),
        "back": back,
        "can_record": has_grant(
            request.user, resource=Resource.CAMPAIGN_TASK, action=Action.CHANGE
        ),
        "can_open_customer": has_grant(
            request.user, resource=Resource.CUSTOMER, action=Action.VIEW
        ),
    }


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    _task_guard(request)
    # The user's scope and campaigns, once for the filters and the list.
    reach = task_services.task_reach(user=request.user)
    form, filters = _task_filters(request, reach)
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        number = 1
    try:
        result = task_services.task_list(
            user=request.user, filters=filters, page=number, reach=reach
        )
    except ServiceError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        result = task_services.task_list(user=request.user, page=number, reach=reach)
    # The service pages the rows itself; the Paginator only numbers the pages for the template.
    numbering: Paginator[Any] = Paginator(range(result.total), result.page_size)
    page = Page(result.rows, result.page, numbering)
    return render(
        request,
        "campaigns/task_list.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "result": result,
            **_counts_context(request.GET, result.counts, filters.state),
            **_row_context(request, request.GET.urlencode()),
            # Safe: every character that could end the CSS string or the style is escaped.
            "labels_css": mark_safe(_labels_css()),
            # An account manager's enterprise reminders (care moments, visits due) above the list.
            "enterprise_reminders": _enterprise_reminders(request),
        },
    )


def _enterprise_reminders(request: HttpRequest) -> list[Any]:
    from quanwang.enterprise.sections import Page, render_sections

    return render_sections(page=Page.HOME, request=request, user=request.user)


def _recorded_row(
    request: HttpRequest,
    form: TaskOutcomeForm,
    error: str | None,
    reach: task_services.TaskReach,
) -> HttpResponse:
    """The htmx answer to a recording: the task's row again (its error inside it), and, when
    it was recorded, the counts above the list for the list's filters (out of band)."""
    back = str(form.data.get("back", ""))
    campaign = str(form.data.get("campaign", ""))
    subscriber_id = str(form.data.get("subscriber_id", ""))
    query = QueryDict(back)
    filters = _filters_in(query)
    row, counts = None, dict.fromkeys(TaskState, 0)
    if campaign.isdigit() and subscriber_id:
        row, counts = task_services.task_row(
            user=request.user,
            campaign_id=int(campaign),
            subscriber_id=subscriber_id,
            filters=filters,
            reach=reach,
        )
    context = {
        **_row_context(request, back),
        **_counts_context(query, counts, filters.state),
        "t": row,
        "rows": [row] if row else [],
        "error": error,
        "note": form.data.get("note", ""),
        "row_id": f"task-{campaign}-{subscriber_id}",
        # Rendered without the request: the console's context (navigation, to-dos) is not
        # wanted in a fragment, and the row's form has its CSRF token (`_row_context`).
    }
    html = render_to_string("campaigns/_task_recorded.html", context)
    failed = error is not None or row is None
    return HttpResponse(html, status=UNPROCESSABLE if failed else 200)


@login_required
@require_POST
def task_record(request: HttpRequest) -> HttpResponse:
    """Record one contact's outcome from a row of the list: with htmx, answered with the row
    (`_recorded_row`); without, redirected back to the list's filters with a message."""
    _task_guard(request, Action.CHANGE)
    in_place = request.headers.get("HX-Request") == "true"
    # The user's lists, once for the recording and the row and counts it answers with.
    reach = task_services.task_reach(user=request.user)
    form = TaskOutcomeForm(request.POST)
    back = _tasks_url(request.POST.get("back", ""))
    error: str | None = None
    if not form.is_valid():
        error = form_errors_text(form)
    else:
        data = form.cleaned_data
        try:
            task_services.record_task(
                actor=request.user,
                campaign_id=data["campaign"],
                subscriber_id=data["subscriber_id"],
                outcome=data["outcome"],
                note=data["note"],
                reach=reach,
            )
        except NotFound:
            error = _("This campaign has no task list where you record outcomes.")
        except ServiceError as exc:
            error = exc.message
    if in_place:
        return _recorded_row(request, form, error, reach)
    if error is not None:
        messages.error(request, error)
    else:
        data = form.cleaned_data
        messages.success(
            request,
            _("%(customer)s: %(outcome)s recorded.")
            % {
                "customer": data["subscriber_id"],
                "outcome": ContactOutcome(data["outcome"]).label,
            },
        )
    return redirect(back)


@login_required
def task_xlsx(request: HttpRequest) -> HttpResponse:
    _task_guard(request)
    form, filters = _task_filters(request)
    try:
        if form.is_bound and not form.is_valid():
            raise ServiceError(form.errors.as_text())
        content = task_services.export_xlsx(user=request.user, filters=filters)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(_tasks_url(request.GET.urlencode()))
    safe = re.sub(
        r"[^0-9A-Za-z_.-]+", "_", filters.grid or filters.account_manager or filters.store or "grid"
    )
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="tasks-{safe}.xlsx"'
    return response
