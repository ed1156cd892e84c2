"""Console pages of the demo's sandbox: its inbox, and a customer's simulated reply. Only in
demo mode (404 otherwise); seen by those who see campaigns, replies sent by those who
dispatch them (the grants of Resource.CAMPAIGN in core.permissions)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.campaigns.choices import Channel
from quanwang.campaigns.sandbox import inbox as inbox_services
from quanwang.campaigns.sandbox import mode
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.querysets import has_grant

#: The replies offered as buttons: TD opts out, Y accepts (campaigns.opt_out).
QUICK_REPLIES = ("TD", "Y")


def _guard(request: HttpRequest, action: Action = Action.VIEW) -> None:
    if not mode.demo_mode() or not has_grant(
        request.user, resource=Resource.CAMPAIGN, action=action
    ):
        raise Http404


def _channel(raw: str | None) -> Channel:
    values = {c.value: c for c in inbox_services.INBOX_CHANNELS}
    return values.get(raw or "", Channel.SMS)


@login_required
def sandbox_inbox(request: HttpRequest) -> HttpResponse:
    _guard(request)
    channel = _channel(request.GET.get("channel"))
    number = request.GET.get("number", "").strip()[:20]
    page = inbox_services.inbox(
        user=request.user, channel=channel, number=number, page=request.GET.get("page")
    )
    return render(
        request,
        "sandbox/inbox.html",
        {
            "page": page,
            "channel": channel,
            "tabs": [(c, c == channel) for c in inbox_services.INBOX_CHANNELS],
            "number": number,
            "can_reply": channel == Channel.SMS
            and has_grant(request.user, resource=Resource.CAMPAIGN, action=Action.CHANGE),
            "quick_replies": QUICK_REPLIES,
            "query": urlencode({"channel": channel.value, "number": number}),
        },
    )


@login_required
@require_POST
def sandbox_reply(request: HttpRequest) -> HttpResponse:
    _guard(request, Action.CHANGE)
    try:
        result = inbox_services.send_reply(
            user=request.user,
            message_id=int(request.POST.get("message", "0") or 0),
            # A quick reply's button, else what was typed.
            text=request.POST.get("quick") or request.POST.get("text", ""),
        )
    except (NotFound, ValueError) as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(number)s replied “%(text)s”: %(outcome)s")
            % {
                "number": result.shown_as,
                "text": result.text,
                "outcome": result.outcome,
            },
        )
    back = request.POST.get("back", "")
    query = back if back.startswith("channel=") else ""
    return redirect(f"{reverse('campaigns:sandbox-inbox')}?{query}")
