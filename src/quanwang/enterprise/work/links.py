"""Links to pages other parts own, found by name so that this part does not depend on their
routes landing first: None when the page does not exist (yet)."""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

#: The account 360 page (enterprise.accounts), by enterprise ID.
ACCOUNT_PAGE = "enterprise:accounts-detail"


def account_url(account: Any) -> str | None:
    try:
        return reverse(ACCOUNT_PAGE, args=[account.enterprise_id])
    except NoReverseMatch:
        return None
