"""The system account that commands without `--user` run as: created once, even when two
commands start at the same moment on a new database (CI saw the second one fail on the
unique username before this was a get-or-create)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError
from django.db import connection

from quanwang.core.terminal import SYSTEM_USERNAME, system_actor
from tests import factories
from tests.concurrency import at_once


def test_the_system_account_is_created_once_and_then_reused(db: None) -> None:
    # given a new database: the first command creates the account
    first = system_actor()
    # when a second command asks for it
    second = system_actor()
    # then it is the same unusable superuser
    assert first.pk == second.pk
    assert get_user_model().objects.filter(username=SYSTEM_USERNAME).count() == 1
    assert second.is_superuser
    assert not second.is_staff
    assert not second.has_usable_password()


def test_a_disabled_system_account_is_refused(db: None) -> None:
    # given the system account, switched off by an administrator
    account = system_actor()
    account.is_active = False
    account.save()
    # then a command without --user does not run as it
    with pytest.raises(CommandError, match=SYSTEM_USERNAME):
        system_actor()


def test_a_person_called_system_keeps_refusing(db: None) -> None:
    factories.user(username=SYSTEM_USERNAME)
    with pytest.raises(CommandError, match=SYSTEM_USERNAME):
        system_actor()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a second writer")
def test_commands_starting_at_once_on_a_new_database_share_one_system_account() -> None:
    model = get_user_model()
    for _round in range(5):
        # given a database with no system account yet
        model.objects.filter(username=SYSTEM_USERNAME).delete()
        # when four commands look it up at the same moment
        results: list[Any] = at_once(*[system_actor] * 4)
        # then none fails and they all run as the one account
        assert not [r for r in results if isinstance(r, Exception)], results
        assert len({r.pk for r in results}) == 1
        assert model.objects.filter(username=SYSTEM_USERNAME).count() == 1
