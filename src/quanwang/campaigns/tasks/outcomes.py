"""Recording what came of each task's contact, and the outcomes as the closed loop reads them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.campaigns.choices import CampaignState, Channel, ContactOutcome
from quanwang.campaigns.dispatch import TASK_HISTORY_SCHEMA
from quanwang.campaigns.issuing import ACCOUNT_MANAGER
from quanwang.campaigns.models import Campaign, TaskOutcome
from quanwang.campaigns.tasks.scope import (
    OPEN_STATES,
    TaskReach,
    TaskScope,
    campaigns_in_reach,
    same_scope,
    task_scope,
    task_steps,
)
from quanwang.campaigns.tasks.tables import campaign_table, cursor, task_of
from quanwang.core.choices import Action, OrgLevel
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit, Staff

#: Outcomes that mean the customer was reached (an unreachable customer was only tried).
REACHED = (ContactOutcome.CONTACTED, ContactOutcome.ACCEPTED, ContactOutcome.REFUSED)
NOTE_LENGTH = 200  # TaskOutcome.note's max_length
#: A contact time this far ahead of the server's clock is a typo, not clock skew.
FUTURE_SLACK = dt.timedelta(minutes=5)
#: The same outcome recorded again by the same user this soon after, with the same note or
#: none, is the same contact sent twice (a double tap, a form sent again, a tap on the row
#: that replaced the first, its note field empty), not a second attempt.
REPEAT_WINDOW = dt.timedelta(seconds=30)


def task_campaign(*, user: Any, pk: int) -> Campaign:
    """A campaign with a task list in the grids where the user records outcomes, in any
    state (record_outcome says when it is closed); NotFound otherwise."""
    return _task_campaign(scope=task_scope(user, Action.CHANGE), pk=pk)


def _task_campaign(*, scope: TaskScope, pk: int) -> Campaign:
    found = campaigns_in_reach(scope=scope, campaign_id=pk, open_only=False)
    if not found:
        raise NotFound()
    return found[0]


def _task_of(campaign: Campaign, subscriber_id: str) -> dict[str, Any] | None:
    """The customer's row on the campaign's task list (grid, store and account manager; a
    customer on two task steps as under the first), or None; read from the kept table."""
    steps = task_steps(campaign.pk)
    if not steps or not campaign.audience_path:
        return None
    table = campaign_table(
        campaign_id=campaign.pk,
        plans=[(s.step, s.plan) for s in steps],
        audience=campaign.audience_path,
    )
    con = cursor()
    try:
        found = task_of(con, table, subscriber_id)
    finally:
        con.close()
    if found is None:
        return None
    return {"grid_id": found[0], "store_id": found[1], ACCOUNT_MANAGER: found[2]}


def record_task(
    *,
    actor: Any,
    campaign_id: int,
    subscriber_id: str,
    outcome: ContactOutcome | str,
    note: str,
    reach: TaskReach | None = None,
) -> TaskOutcome:
    """`record_outcome` for a campaign named by its key, as the task list posts it: NotFound
    when the campaign has no task list where the actor records outcomes. `reach`: the
    actor's task lists (`task_reach`) when the caller has them, reused where the actor
    records wherever they list (`same_scope`) rather than worked out again."""
    if reach is not None and same_scope(actor, Action.VIEW, Action.CHANGE):
        scope = reach.scope
        listed = next((c for c in reach.campaigns if c.pk == campaign_id), None)
    else:
        scope, listed = task_scope(actor, Action.CHANGE), None
    # A campaign not on the lists (closed since) is looked up to say why it takes no outcome.
    campaign = listed or _task_campaign(scope=scope, pk=campaign_id)
    return _record(
        actor=actor,
        scope=scope,
        campaign=campaign,
        subscriber_id=subscriber_id,
        outcome=outcome,
        note=note,
        at=None,
    )


def record_outcome(
    *,
    actor: Any,
    campaign: Campaign,
    subscriber_id: str,
    outcome: ContactOutcome | str,
    note: str = "",
    at: dt.datetime | None = None,
) -> TaskOutcome:
    """Record what came of contacting one customer of the campaign's task list. One row per
    campaign and customer: the latest contact (by `at`) sets the outcome and note, and every
    recording counts one more attempt, but for the same outcome sent again by the same user
    within `REPEAT_WINDOW` with the same note or none (a double tap), which changes nothing."""
    return _record(
        actor=actor,
        scope=task_scope(actor, Action.CHANGE),
        campaign=campaign,
        subscriber_id=subscriber_id,
        outcome=outcome,
        note=note,
        at=at,
    )


def _checked(
    outcome: ContactOutcome | str, note: str, at: dt.datetime | None
) -> tuple[ContactOutcome, str, dt.datetime]:
    if outcome not in ContactOutcome.values:
        raise ServiceError(
            _("%(outcome)s is not a contact outcome: use contacted, accepted, refused or "
              "unreachable.") % {"outcome": outcome or "''"},
            field="outcome",
        )  # fmt: skip
    note = note.strip()
    if len(note) > NOTE_LENGTH:
        raise ServiceError(
            _("The note is %(length)d characters long; keep it to %(limit)d.")
            % {"length": len(note), "limit": NOTE_LENGTH},
            field="note",
        )
    moment = at or timezone.now()
    if timezone.is_naive(moment):
        raise ServiceError(_("Give the contact time with its time zone."), field="at")
    if moment > timezone.now() + FUTURE_SLACK:
        raise ServiceError(_("The contact time is in the future."), field="at")
    return ContactOutcome(outcome), note, moment


def _record(
    *,
    actor: Any,
    scope: TaskScope,
    campaign: Campaign,
    subscriber_id: str,
    outcome: ContactOutcome | str,
    note: str,
    at: dt.datetime | None,
) -> TaskOutcome:
    chosen, note, moment = _checked(outcome, note, at)
    # Who the customer is on the list is read before the campaign is locked: the plans do
    # not change, and the lock (a write lock on SQLite) is held as briefly as can be.
    task = _task_of(campaign, subscriber_id)
    if task is None:
        raise ServiceError(
            _("Customer %(id)s is not on this campaign's task list.") % {"id": subscriber_id},
            field="subscriber_id",
        )
    employee_no = task[ACCOUNT_MANAGER]
    manager = (
        Staff.objects.select_related("org_unit").filter(employee_no=employee_no).first()
        if employee_no
        else None
    )
    if not scope.holds(task):
        if employee_no:
            message = _(
                "Customer %(id)s is on the task list of account manager %(manager)s, "
                "whose tasks you may not record."
            ) % {"id": subscriber_id, "manager": manager.name if manager else employee_no}
        elif scope.stores and scope.grids.grids == ():  # a partner's login: its stores only
            message = _("Customer %(id)s is not on your stores' task lists.") % {
                "id": subscriber_id
            }
        else:
            message = _("Customer %(id)s is in a grid whose tasks you may not record.") % {
                "id": subscriber_id
            }
        raise ServiceError(message, field="subscriber_id")
    if manager is not None:  # an account manager's customer: at the manager's own unit
        unit = manager.org_unit
    else:
        grid = (
            OrgUnit.objects.filter(level=OrgLevel.GRID, code=task["grid_id"]).first()
            if task["grid_id"]
            else None
        )
        unit = grid or campaign.org_unit
    with transaction.atomic():
        # The campaign row is locked so that closing it and recording on it do not interleave,
        # and so that two recordings of one customer count two attempts.
        locked = Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        if locked is None:
            raise NotFound()
        if locked.state not in OPEN_STATES:
            raise ServiceError(
                _("Campaign %(name)s is %(state)s: outcomes are recorded only while it is "
                  "issued or running.")
                % {"name": locked.name, "state": CampaignState(locked.state).label},
                field="campaign",
            )  # fmt: skip
        existing = (
            TaskOutcome.objects.select_for_update()
            .filter(campaign=locked, subscriber_id=subscriber_id)
            .first()
        )
        if existing is None:
            return TaskOutcome.objects.create(
                campaign=locked,
                subscriber_id=subscriber_id,
                org_unit=unit,
                store_id=task["store_id"] or "",
                account_manager=manager,
                outcome=chosen,
                note=note,
                attempts=1,
                recorded_by=actor,
                recorded_at=moment,
            )
        if _repeated(existing, actor=actor, outcome=chosen, note=note, moment=moment):
            return existing
        existing.attempts += 1
        fields = ["attempts"]
        # An older contact entered late counts as an attempt but does not undo a newer one.
        if moment >= existing.recorded_at:
            existing.outcome = chosen
            existing.note = note
            existing.recorded_by = actor
            existing.recorded_at = moment
            fields += ["outcome", "note", "recorded_by", "recorded_at"]
        existing.save(update_fields=fields)
        return existing


def _repeated(
    existing: TaskOutcome, *, actor: Any, outcome: ContactOutcome, note: str, moment: dt.datetime
) -> bool:
    """Whether this recording repeats the latest one: same user and outcome, the same note
    or none, within `REPEAT_WINDOW` of it."""
    return (
        existing.recorded_by_id == getattr(actor, "pk", None)
        and existing.outcome == outcome
        and note in ("", existing.note)
        and abs(moment - existing.recorded_at) < REPEAT_WINDOW
    )


def outcomes_table(*, campaign_id: int) -> pa.Table:
    """The campaign's recorded outcomes (subscriber_id, outcome), for its evaluation."""
    rows = list(
        TaskOutcome.objects.filter(campaign_id=campaign_id).values_list("subscriber_id", "outcome")
    )
    return pa.table(
        {
            "subscriber_id": pa.array([r[0] for r in rows], pa.string()),
            "outcome": pa.array([r[1] for r in rows], pa.string()),
        }
    )


def contact_log(*, since: dt.datetime | None = None) -> pa.Table:
    """Every recorded task outcome, all campaigns, as contact history for the contact policy
    (`dispatch.TASK_HISTORY_SCHEMA`): one contact per customer and campaign, at the latest
    recording (earlier attempts are counted in `attempts`, not here)."""
    outcomes = TaskOutcome.objects.all()
    if since is not None:
        outcomes = outcomes.filter(recorded_at__gte=since)
    rows = list(outcomes.values_list("subscriber_id", "recorded_at", "outcome"))
    return pa.table(
        {
            "subscriber_id": pa.array([r[0] for r in rows], pa.string()),
            "channel": pa.array([str(Channel.TASK)] * len(rows), pa.string()),
            "sent_at": pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC")),
            "outcome": pa.array([r[2] for r in rows], pa.string()),
        },
        schema=TASK_HISTORY_SCHEMA,
    )
