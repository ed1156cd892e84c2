"""The funnel kept per data version, and the pages and sections that show it: the grids' list,
a grid's page with its stores, the store, grid and partner sections; scoping and Chinese."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import translation

from quanwang.channels.choices import StoreType
from quanwang.channels.funnel import sections
from quanwang.channels.funnel.demo import build_demo
from quanwang.channels.funnel.services import kept
from quanwang.channels.funnel.services.decompose import Factor
from quanwang.channels.models import Store
from quanwang.core.choices import Role
from quanwang.data.importer import import_file
from tests import factories

TRAFFIC_HEADER = (
    "store_id,month,footfall,buyers,transactions,revenue,referrals,referred_buyers,"
    "referred_transactions,referred_revenue\n"
)
STORES_HEADER = "store_id,name,store_type,grid_id\n"


def load(directory: Path, **tables: str) -> None:
    for table, text in tables.items():
        path = directory / f"{table}.csv"
        path.write_text(text, encoding="utf-8")
        import_file(table_name=table, path=path)


def make_store(unit: Any, store_id: str, **extra: Any) -> Store:
    return Store.objects.create(
        store_id=store_id,
        name=extra.pop("name", f"网点{store_id}"),
        store_type=StoreType.PARTNER,
        org_unit=unit,
        grid_id=unit.code,
        **extra,
    )


@pytest.fixture
def world(tree: factories.Tree, tmp_path: Path) -> factories.Tree:
    """Stores SA1 and SA2 in grid A, SB in grid B, with two months of traffic (SA2 only the
    second), in the warehouse and in the store file."""
    load(
        tmp_path,
        grids="grid_id,name,grid_type,county_code\n"
        f"{tree.grid_a.code},甲网格,沿街,{tree.county_a.code}\n"
        f"{tree.grid_b.code},乙网格,沿街,{tree.county_b.code}\n",
        stores=STORES_HEADER
        + f"SA1,甲一店,合作店,{tree.grid_a.code}\nSA2,甲二店,代理商,{tree.grid_a.code}\n"
        f"SB,乙店,合作店,{tree.grid_b.code}\n",
        store_traffic=TRAFFIC_HEADER
        + "SA1,2024-05,1000,200,240,48000,50,20,24,6000\n"
        + "SA1,2024-06,800,200,240,50400,60,24,30,7500\n"
        + "SA2,2024-06,300,60,60,9000,0,0,0,0\n"
        + "SB,2024-05,500,100,110,22000,10,5,5,1000\n"
        + "SB,2024-06,0,0,0,0,0,0,0,0\n",
    )
    make_store(tree.grid_a, "SA1", name="甲一店")
    make_store(tree.grid_a, "SA2", name="甲二店")
    make_store(tree.grid_b, "SB", name="乙店")
    return tree


# -- kept per data version -----------------------------------------------------------------


def test_the_funnel_is_worked_out_for_every_store_and_grid(world: factories.Tree) -> None:
    # Given two months of store traffic
    # When the nightly step runs
    result = kept.build_funnel()
    funnels = kept.current_funnels()

    # Then each store and grid has its months, and the change of the worked example is
    # decomposed to the fen (docs/channels/funnel.md)
    assert result == result | {"stores": 3, "grids": 2, "months": 2}
    assert funnels is not None
    counts, parts = funnels.store("SA1", "2024-06")  # type: ignore[misc]
    assert counts.total_fen == 5_790_000
    assert parts is not None
    assert parts[Factor.FOOTFALL] == -1_108_000
    assert sum(parts.values()) == 390_000


def test_a_grid_adds_up_its_stores_and_a_new_store_has_no_decomposition(
    world: factories.Tree,
) -> None:
    # Given the funnel kept
    kept.build_funnel()
    funnels = kept.current_funnels()
    assert funnels is not None

    # Then grid A's June is SA1 and SA2 together, decomposed against SA1's May
    grid_counts, grid_parts = funnels.grid(world.grid_a.code, "2024-06")  # type: ignore[misc]
    assert grid_counts.footfall == 1100
    assert grid_counts.total_fen == 5_790_000 + 900_000
    assert grid_parts is not None
    assert sum(grid_parts.values()) == 5_790_000 + 900_000 - 5_400_000
    # and SA2, which had no May, has June's counts but no decomposition
    assert funnels.store("SA2", "2024-06")[1] is None  # type: ignore[index]
    assert funnels.store("SA2", "2024-05") is None


def test_a_new_import_is_a_new_version_and_is_built_on_first_read(
    world: factories.Tree, tmp_path: Path
) -> None:
    # Given the funnel kept for the data as it was
    kept.build_funnel()
    before = kept.current_funnels()
    assert before is not None

    # When a correction of SB's June is imported
    load(tmp_path, store_traffic=TRAFFIC_HEADER + "SB,2024-06,400,80,80,16000,0,0,0,0\n")
    after = kept.current_funnels()

    # Then the page's first read builds the new version, with the corrected figures
    assert after is not None
    assert after.version != before.version
    assert after.store("SB", "2024-06")[0].total_fen == 1_600_000  # type: ignore[index]


def test_no_traffic_means_no_section_and_an_empty_list(tree: factories.Tree) -> None:
    # Given a warehouse without store traffic
    store = make_store(tree.grid_a, "S0")

    # Then the sections add nothing and the nightly step keeps an empty funnel
    user = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    assert sections.store_section(store=store, user=user, month=None) is None
    assert sections.grid_section(grid=tree.grid_a, user=user, month=None) is None
    assert kept.build_funnel()["months"] == 0


def test_the_demo_keeps_the_funnel(world: factories.Tree) -> None:
    # When the demo's funnel step runs
    said: list[str] = []
    build_demo(say=said.append)

    # Then the current version is kept, and it said so
    assert (kept.folder() / f"{kept.data_version()}.json").is_file()
    assert said
    assert said[0].startswith("funnel:")


@pytest.mark.django_db(transaction=True)
def test_two_first_readers_at_once_build_the_version_once(
    tree: factories.Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given fresh traffic and no funnel kept yet, and a count of the builds (a spy on the
    # real step, which still runs)
    load(tmp_path, store_traffic=TRAFFIC_HEADER + "S1,2024-06,10,1,1,100,0,0,0,0\n")
    built: list[int] = []
    original = kept.build_funnel

    def counting(**kwargs: Any) -> Any:
        built.append(1)
        return original(**kwargs)

    monkeypatch.setattr(kept, "build_funnel", counting)

    # When two readers ask at once
    found: list[Any] = []

    def read() -> None:
        found.append(kept.current_funnels())
        connection.close()

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then it was built once; the reader that found it being built saw the newest kept (none
    # yet) or the new one
    assert len(built) == 1
    assert any(f is not None for f in found)
    assert [p.suffix for p in kept.folder().iterdir() if not p.name.startswith(".")] == [".json"]


# -- pages ----------------------------------------------------------------------------------


# The Chinese of these pages comes with the project's .po files (tests/web checks every page
# in zh-hans); these tests read the English.
def _en(client: Client, url: str) -> Any:
    return client.get(url, HTTP_ACCEPT_LANGUAGE="en")


def test_a_grid_manager_sees_their_grid_with_its_stores(world: factories.Tree, login: Any) -> None:
    # Given grid A's manager
    client = login(factories.user(role=Role.GRID_MANAGER, at=world.grid_a))

    # When they open the funnel list and their grid's page
    index = _en(client, reverse("channels:funnel-index"))
    page = _en(client, reverse("channels:funnel-grid", args=[world.grid_a.code]) + "?month=2024-06")

    # Then the list shows their grid only, the grid page its stores with the biggest mover, and
    # the chart data
    assert index.status_code == 200
    text = index.content.decode()
    assert world.grid_a.name in text
    assert world.grid_b.name not in text
    assert page.status_code == 200
    html = page.content.decode()
    assert "甲一店" in html
    assert "甲二店" in html
    assert "乙店" not in html
    assert "Footfall" in html
    assert "Conversion" in html
    data = json.loads(re.search(r'id="funnel-data-grid-\d+"[^>]*>(.*?)</script>', html).group(1))  # type: ignore[union-attr]
    assert [s[0] for s in data["funnel"]["walk_in"]["stages"]] == [
        "Footfall",
        "Buyers",
        "Transactions",
    ]
    assert data["waterfall"]["end"][1] == 66900.0


def test_another_grids_manager_and_a_partner_get_404(world: factories.Tree, login: Any) -> None:
    # Given grid B's manager and a partner's login of store SA1
    outsider = login(factories.user(role=Role.GRID_MANAGER, at=world.grid_b))
    url = reverse("channels:funnel-grid", args=[world.grid_a.code])

    # When they open grid A's funnel
    # Then it does not exist for them; nor does an unknown grid
    assert outsider.get(url).status_code == 404
    assert outsider.get(reverse("channels:funnel-grid", args=["NOPE"])).status_code == 404
    partner = factories.user(role=Role.CHANNEL_PARTNER, at=world.grid_a)
    Store.objects.get(store_id="SA1").partners.add(partner)
    partner_client = login(partner)
    assert partner_client.get(url).status_code == 404
    assert partner_client.get(reverse("channels:funnel-index")).status_code == 404


def test_the_store_section_shows_the_funnel_and_what_moved_it(world: factories.Tree) -> None:
    # Given store SA1 and a user who may see it
    store = Store.objects.get(store_id="SA1")
    user = factories.user(role=Role.GRID_MANAGER, at=world.grid_a)

    # When its section is rendered for June
    # (in English: the factors' labels are worked out with the figures)
    with translation.override("en"):
        context = sections.store_section(store=store, user=user, month="2024-06")
        assert context is not None
        html = render_to_string("channels/funnel/_store_section.html", context)

    # Then it names the biggest mover (footfall, -¥11,080) and shows both charts' places
    assert context["funnel"].biggest_mover.factor is Factor.FOOTFALL
    assert "Biggest mover: Footfall." in html
    assert 'data-funnel-chart="funnel"' in html
    assert 'data-funnel-chart="waterfall"' in html


def test_a_month_without_figures_says_so(world: factories.Tree) -> None:
    # Given store SA2, which has no May, and a bad month
    store = Store.objects.get(store_id="SA2")
    user = factories.user(role=Role.GRID_MANAGER, at=world.grid_a)

    # Then May says there are no figures, and a malformed month falls back to the newest
    may = sections.store_section(store=store, user=user, month="2024-05")
    assert may is not None
    assert may["funnel"] is None
    assert may["asked_month"] == "2024-05"
    bad = sections.store_section(store=store, user=user, month="x' OR 1=1")
    assert bad is not None
    assert bad["funnel"].month == "2024-06"
    with translation.override("en"):
        html = render_to_string("channels/funnel/_store_section.html", may)
    assert "2024-05" in html


def test_the_grid_and_partner_sections_render(world: factories.Tree) -> None:
    # Given grid B (whose June had no sales at all) and a partner of SA1 and SA2
    user = factories.user(role=Role.GRID_MANAGER, at=world.grid_b)
    grid = sections.grid_section(grid=world.grid_b, user=user, month=None)
    stores = list(Store.objects.filter(store_id__in=["SA1", "SA2"]).order_by("store_id"))
    partner = sections.partner_section(stores=stores, user=user)

    # Then grid B's loss is put down to the factors that went to zero, adding up
    assert grid is not None
    assert partner is not None
    loss = grid["funnel"].contributions
    assert sum(c.amount for c in loss) == grid["funnel"].change == -23000
    with translation.override("en"):
        html = render_to_string("channels/funnel/_grid_section.html", grid)
        partner_html = render_to_string("channels/funnel/_partner_section.html", partner)
    assert reverse("channels:funnel-grid", args=[world.grid_b.code]) in html
    assert "甲一店" in partner_html
    assert "甲二店" in partner_html
