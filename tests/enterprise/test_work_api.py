"""The work API: the due list, a visit logged once per key, another scope's account 404, and a
manager's appraisal facts."""

from __future__ import annotations

import json
import uuid

from django.test import Client
from django.utils import timezone

from quanwang.core.services.tokens import create_token
from quanwang.enterprise.models import EnterpriseVisit
from tests import factories
from tests.enterprise.work_world import build


def _auth(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_the_api_lists_due_logs_once_and_hides_others(tree: factories.Tree, client: Client) -> None:
    world = build(tree)
    _token, secret = create_token(user=world.am_user, name="phone")
    due = client.get("/api/v1/enterprise/visits/due", **_auth(secret)).json()
    assert {d["account_id"] for d in due} == {world.a.pk, world.b.pk, world.c.pk}
    body = {
        "account_id": world.a.pk,
        "idempotency_key": str(uuid.uuid4()),
        "purpose": "needs",
        "outcome": "了解需求",
    }
    url = "/api/v1/enterprise/visits"
    first = client.post(url, json.dumps(body), content_type="application/json", **_auth(secret))
    again = client.post(url, json.dumps(body), content_type="application/json", **_auth(secret))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["visited_on"] == timezone.localdate().isoformat()
    assert EnterpriseVisit.objects.count() == 1
    theirs = body | {"account_id": world.far.pk, "idempotency_key": str(uuid.uuid4())}
    refused = client.post(url, json.dumps(theirs), content_type="application/json", **_auth(secret))
    assert refused.status_code == 404
    bad = body | {"idempotency_key": str(uuid.uuid4()), "outcome": " "}
    answer = client.post(url, json.dumps(bad), content_type="application/json", **_auth(secret))
    assert answer.status_code == 422
    assert answer.json()["field"] == "outcome"
    month = timezone.localdate().strftime("%Y-%m")
    facts = client.get(
        f"/api/v1/enterprise/managers/{world.am.pk}/appraisal?month={month}", **_auth(secret)
    ).json()
    assert facts["visits_done"] == 1
    other = client.get(
        f"/api/v1/enterprise/managers/{world.other.pk}/appraisal?month={month}", **_auth(secret)
    )
    assert other.status_code == 404
