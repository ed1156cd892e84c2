"""What the data pages show of the warehouse's codes: tables and columns under their label in
the page's language, subscriber status and payment type by their label, grids by name with the
code on hover, amounts in yuan."""

from __future__ import annotations

import re
from pathlib import Path

from django.test import Client
from django.utils import translation

from quanwang.core.choices import Role
from quanwang.data import labels
from quanwang.data.schema import TABLES
from tests import factories


def test_a_table_and_a_column_are_labelled_in_the_page_language() -> None:
    plans = TABLES["plans"]

    with translation.override("zh-hans"):
        chinese = (labels.label(plans), labels.label(plans.by_name["monthly_fee"]))
    with translation.override("en"):
        english = (labels.label(plans), labels.label(plans.by_name["monthly_fee"]))

    assert chinese == ("套餐", "月费(元)")
    assert english == ("Plans", "Monthly fee (yuan)")


def test_coded_values_are_shown_by_their_label_and_others_as_they_are() -> None:
    with translation.override("en"):
        assert labels.value_label("status", "active") == "Active"
        assert labels.value_label("payment_type", "prepaid") == "Prepaid"
        assert labels.value_label("segment", "个人") == "个人"
        assert labels.value_label("status", "unknown-code") == "unknown-code"
        assert labels.value_label("status", None) == ""


def test_the_import_page_names_each_table_in_one_language(
    tree: factories.Tree, client: Client
) -> None:
    # Given a province admin, who may import every table
    client.force_login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))

    # When the import page is read in Chinese and in English
    chinese = client.get("/data/import/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    with translation.override("en"):
        english = client.get("/data/import/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # Then each names the tables in its own language only (the code beside them)
    assert "套餐 <code>plans</code>" in chinese
    assert "Plans" not in chinese
    assert "Plans <code>plans</code>" in english
    assert "套餐" not in english


def test_the_customer_360_shows_status_payment_and_grid_by_name(
    tree: factories.Tree, client: Client, tmp_path: Path
) -> None:
    # Given a subscriber of grid A (active, postpaid, on a 129-yuan plan) and their marketer
    factories.warehouse_customers(tree, tmp_path)
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))

    # When their 360 page and the search that finds them are read
    with translation.override("en"):
        page = client.get("/customers/SA1/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        found = client.get("/customers/?q=SA1", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get("/customers/SA1/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    # Then the codes are shown by their labels, the grid by its name with its code on hover,
    # and the fee in yuan
    assert "<dd>个人 · Postpaid</dd>" in page
    assert re.search(r"<dd>Active\s*</dd>", page)
    assert f'<span title="{tree.grid_a.code}">甲网格</span>' in page
    assert "129.00 yuan" in page
    assert "<td>Active</td>" in found
    assert f'<span title="{tree.grid_a.code}">甲网格</span>' in found
    assert "postpaid" not in chinese
    assert "active" not in chinese.split("<main>")[1]
