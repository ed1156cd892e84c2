"""Every operation of the served OpenAPI schema, fuzzed by schemathesis as two real users: no
input, valid or not, gets a server error, and every answer is one the schema lists.

It runs in both CI passes (SQLite and PostgreSQL) through `make test`. The examples per
operation are bounded (QUANWANG_FUZZ_EXAMPLES, default 25) so the module stays around a
minute on two cores. Nothing is excluded: the inbound SMS webhook is fuzzed with the
gateway's secret instead of a user's token.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from quanwang.core.choices import Role
from quanwang.core.services.tokens import create_token
from tests import factories

EXAMPLES = int(os.environ.get("QUANWANG_FUZZ_EXAMPLES", "25"))
INBOUND_SECRET = "fuzz-inbound-secret"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# The schema as /api/v1/openapi.json serves it (no database is needed to serve it); each
# operation becomes its own test, called through the WSGI application.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def keep_the_test_connection() -> Iterator[None]:
    """Keep the test's database connection across calls, as Django's test client does: the
    WSGI handler otherwise closes it after each request, and the test transaction with it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def inbound_sms(settings: Any) -> None:
    settings.QUANWANG_CHANNELS = {
        "sms": {"url": "http://127.0.0.1:9/", "token": "t", "inbound_token": INBOUND_SECRET}
    }


def _headers(tree: factories.Tree, role: Role) -> dict[str, str]:
    at = tree.province if role == Role.PROVINCE_ADMIN else tree.grid_a
    user = factories.user(role=role, at=at)
    factories.staff(at=tree.grid_a)
    factories.staff(at=tree.grid_b)
    _token, secret = create_token(user=user, name="fuzz")
    return {"Authorization": f"Bearer {secret}", "X-Quanwang-Inbound-Token": INBOUND_SECRET}


@pytest.fixture
def province_admin(tree: factories.Tree) -> dict[str, str]:
    """Headers with a real API token of a province administrator: reads and writes all."""
    return _headers(tree, Role.PROVINCE_ADMIN)


@pytest.fixture
def grid_manager(tree: factories.Tree) -> dict[str, str]:
    """Headers with a real API token of a grid manager: reads little, changes nothing."""
    return _headers(tree, Role.GRID_MANAGER)


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


@schema.parametrize()
@FUZZ
def test_no_input_from_a_province_admin_gets_a_server_error(
    case: Any, province_admin: dict[str, str]
) -> None:
    case.call_and_validate(headers=province_admin, checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_no_input_from_a_grid_manager_gets_a_server_error(
    case: Any, grid_manager: dict[str, str]
) -> None:
    case.call_and_validate(headers=grid_manager, checks=CHECKS)
