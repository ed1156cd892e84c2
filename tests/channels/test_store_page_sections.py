"""The store page (channels.stores) shows what the other parts know of the store, each part's
section rendered with its own figures: the funnel of its traffic, its visits. (A section that
rendered with an empty context once showed "no traffic" and "no visits" for a store that had
both.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.urls import reverse

from quanwang.core.choices import Role
from tests import factories
from tests.channels.test_funnel_pages import world  # noqa: F401 (the fixture)
from tests.channels.test_visits_helpers import logged


def test_the_store_page_shows_the_stores_funnel_and_visits(
    world: factories.Tree,  # noqa: F811
    login: Any,
    tmp_path: Path,
) -> None:
    # Given store SA1 with two months of traffic, and a visit logged by its grid's manager
    from quanwang.channels.models import Store

    shop = Store.objects.get(store_id="SA1")
    manager = factories.user(role=Role.GRID_MANAGER, at=world.grid_a)
    visit = logged(manager, shop, dt.date.today() - dt.timedelta(days=2))

    # When the manager opens the store page for June, in English
    page = login(manager).get(
        reverse("channels:stores-detail", args=[shop.store_id]) + "?month=2024-06",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    # Then the funnel section shows June's figures and the visits section the visit
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-funnel-chart="waterfall"' in html
    assert "The store has no traffic figures" not in html
    assert reverse("channels:visits-detail", args=[visit.pk]) in html
