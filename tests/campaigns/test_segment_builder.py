"""The segment builder's server side: yes and no as booleans (a typed 否 selects the "no"
customers), saved segments opened, edited as new versions, copied and deleted, province
segments used below, the field catalogue, and the pages in Chinese."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import ibis
import pyarrow as pa
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from quanwang.campaigns.models import Campaign, Segment, SegmentVersion
from quanwang.campaigns.rule_fields import CATALOGUE, HIDDEN, FieldGroup, builder_fields
from quanwang.campaigns.rule_words import NO_WORDS, YES_WORDS
from quanwang.campaigns.rules import RuleError, check_rule, compile_rule, normalise_rule, yes_no
from quanwang.campaigns.saved_segments import copy_segment, create_segment
from quanwang.campaigns.segments import preview, risk_band_labels, save_segment
from quanwang.campaigns.services import create_campaign
from quanwang.core.choices import Role
from quanwang.insight.catalog import LABELS
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import EXPIRING, TODAY, design
from tests.campaigns.sandboxing import ALLOWED_WORDS, english_words

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
ARPU_100 = {"field": "arpu_3m", "op": ">=", "value": 100}
# Codes and units a Chinese page may show: the field labels name ARPU, MOU and DOU.
PAGE_WORDS = ALLOWED_WORDS | {"ARPU", "MOU", "DOU", "GB", "CLV", "PageRank", "JSON", "CSV", "IPTV"}


def not_expiring(value: Any) -> dict[str, Any]:
    return {"all": [{"field": "contract_expiring_3m", "op": "is", "value": value}]}


def city_marketer(tree: factories.Tree, unit: Any = None) -> Any:
    return factories.user(role=Role.CITY_MARKETER, at=unit or tree.city_a)


def save_new(client: Client, name: str, rule: Any) -> Any:
    return client.post(
        reverse("campaigns:segments"),
        {"name": name, "description": "", "rule": json.dumps(rule, ensure_ascii=False)},
    )


def save_edit(client: Client, segment: Segment, rule: Any, *, base: int) -> Any:
    return client.post(
        reverse("campaigns:segment", args=[segment.pk]),
        {"name": segment.name, "description": "", "base": base, "rule": json.dumps(rule)},
    )


# ---- Defect 1: 否 in a yes/no condition


@pytest.mark.parametrize("typed", ["否", " 否 ", "false", "FALSE", "0", 0, False])
def test_no_saved_from_the_console_selects_the_no_customers(
    tree: factories.Tree, city: Snapshot, client: Client, typed: Any
) -> None:
    # Given a city marketer, and a city where 25 of grid A's 100 customers have a contract
    # ending within 3 months
    user = city_marketer(tree)
    client.force_login(user)

    # When they save "合约3个月内到期 is 否", typed in any of the ways people write no
    response = save_new(client, "未到期", not_expiring(typed))

    # Then the saved rule holds false, reads as the negation, and selects the other 75
    assert response.status_code == 302
    version = SegmentVersion.objects.get(segment__name="未到期")
    assert version.rule == not_expiring(False)
    assert version.text_zh == "非合约3个月内到期"
    assert preview(user=user, rule=version.rule).count == 75


@pytest.mark.parametrize("typed", ["是", "true", "1", 1, True])
def test_yes_saved_from_the_console_selects_the_yes_customers(
    tree: factories.Tree, city: Snapshot, client: Client, typed: Any
) -> None:
    user = city_marketer(tree)
    client.force_login(user)

    save_new(client, "到期", not_expiring(typed))

    version = SegmentVersion.objects.get(segment__name="到期")
    assert version.rule == not_expiring(True)
    assert preview(user=user, rule=version.rule).count == 25


def test_a_yes_no_word_that_is_neither_is_refused_and_nothing_is_saved(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    client.force_login(city_marketer(tree))

    response = save_new(client, "也许", not_expiring("也许"))

    assert response.status_code == 200
    assert "合约3个月内到期" in " ".join(response.context["form"].errors["rule"])
    assert not Segment.objects.exists()


def test_the_live_preview_of_a_typed_no_counts_and_reads_the_no_customers(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    client.force_login(city_marketer(tree))

    response = client.post(
        reverse("campaigns:segment-preview"), {"rule": json.dumps(not_expiring("否"))}, **ZH
    )

    assert response.context["preview"].count == 75
    assert response.context["text"] == "非合约3个月内到期"


@given(st.one_of(st.text(max_size=6), st.integers(-3, 3), st.booleans(), st.none()))
def test_yes_no_gives_a_boolean_exactly_for_the_words_of_yes_and_no(value: Any) -> None:
    word = value.strip().lower() if isinstance(value, str) else None
    result = yes_no(value)

    if isinstance(value, bool):
        assert result is value
    elif isinstance(value, int) and not isinstance(value, bool) and value in {0, 1}:
        assert result is bool(value)
    elif word in YES_WORDS:
        assert result is True
    elif word in NO_WORDS:
        assert result is False
    else:
        assert result == value
        assert not isinstance(result, bool)


@given(st.text(max_size=6))
def test_normalising_touches_only_yes_no_conditions(text: str) -> None:
    columns = {"arpu_3m": "DOUBLE", "plan_id": "VARCHAR", "is_bundle": "BOOLEAN"}
    rule = {
        "any": [
            {"field": "plan_id", "op": "=", "value": text},
            {"not": {"field": "is_bundle", "op": "is", "value": text}},
            {"field": "arpu_3m", "op": ">", "value": text},
        ]
    }

    normalised = normalise_rule(rule, columns=columns)

    assert normalised["any"][0] == rule["any"][0]
    assert normalised["any"][2] == rule["any"][2]
    assert normalised["any"][1]["not"]["value"] == yes_no(text)
    assert rule["any"][1]["not"]["value"] == text  # the caller's rule is not changed


# ---- Versions, copies, deletion


def test_an_edit_adds_a_version_and_the_campaign_keeps_the_one_it_used(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given a province segment (v1) a campaign was designed on
    designer = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    first = save_segment(actor=designer, name="合约到期", rule=EXPIRING, org_unit=tree.province)
    campaign = create_campaign(
        actor=designer,
        org_unit=tree.province,
        design=design(tree, segment_version=first),
        today=TODAY,
    )
    client.force_login(designer)

    # When its owner saves an edit of v1
    response = save_edit(client, first.segment, {"all": [EXPIRING, ARPU_100]}, base=1)

    # Then v2 holds the edit, v1 is unchanged, and the campaign still uses v1
    assert response.status_code == 302
    versions = {v.number: v for v in first.segment.versions.all()}
    assert sorted(versions) == [1, 2]
    assert versions[1].rule == EXPIRING
    assert versions[2].text_zh == "合约3个月内到期 且 近3月ARPU ≥ 100"
    campaign.refresh_from_db()
    assert campaign.segment_version_id == first.pk
    page = client.get(reverse("campaigns:segment", args=[first.segment_id]))
    assert [(v.number, n) for v, n in page.context["versions"]] == [(2, 0), (1, 1)]


def test_a_save_sent_twice_adds_one_version(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given a city marketer's segment at v1
    client.force_login(city_marketer(tree))
    save_new(client, "高价值", ARPU_100)
    save_new(client, "高价值", ARPU_100)
    segment = Segment.objects.get(name="高价值")
    assert segment.versions.count() == 1

    # When the same edit of v1 is sent twice (a double click)
    edited = {"all": [ARPU_100, EXPIRING]}
    first = save_edit(client, segment, edited, base=1)
    second = save_edit(client, segment, edited, base=1)

    # Then there is one new version, and both answers lead to it
    assert [v.number for v in segment.versions.all()] == [2, 1]
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]


def test_an_edit_of_an_older_version_is_refused_naming_the_newer_one(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given a segment someone else moved to v2 after it was opened at v1
    client.force_login(city_marketer(tree))
    save_new(client, "高价值", ARPU_100)
    segment = Segment.objects.get(name="高价值")
    save_edit(client, segment, {"all": [ARPU_100, EXPIRING]}, base=1)

    # When a different edit of v1 is saved
    response = save_edit(client, segment, not_expiring(False), base=1)

    # Then it is refused with the reason, and no v3 exists
    assert response.status_code == 200
    assert "2" in " ".join(response.context["form"].errors["rule"])
    assert segment.versions.count() == 2


def test_a_new_segment_may_not_take_a_name_its_unit_already_uses(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    client.force_login(city_marketer(tree))
    save_new(client, "高价值", ARPU_100)

    response = save_new(client, "高价值", EXPIRING)

    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert SegmentVersion.objects.count() == 1


def test_a_copy_is_a_segment_of_ones_own_unit_with_the_same_rule(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given a province segment and a city marketer of city A
    source = save_segment(actor=None, name="合约到期", rule=EXPIRING, org_unit=tree.province)
    client.force_login(city_marketer(tree))

    # When they copy it, twice (a double click)
    first = client.post(reverse("campaigns:segment-copy", args=[source.segment_id]))
    again = client.post(reverse("campaigns:segment-copy", args=[source.segment_id]))

    # Then one copy of city A holds the rule as its v1, and opens for editing
    copy = Segment.objects.get(org_unit=tree.city_a)
    assert first["Location"] == again["Location"] == reverse("campaigns:segment", args=[copy.pk])
    assert copy.copied_from == source
    assert copy.name.startswith("合约到期")
    assert copy.name != "合约到期"
    assert [(v.number, v.rule) for v in copy.versions.all()] == [(1, EXPIRING)]
    assert client.get(first["Location"]).context["can_change"] is True


def test_a_copy_gets_a_name_free_in_its_unit(tree: factories.Tree, city: Snapshot) -> None:
    source = save_segment(actor=None, name="合约到期", rule=EXPIRING, org_unit=tree.province)
    maker = city_marketer(tree)

    names = {
        copy_segment(actor=maker, pk=source.segment_id, org_unit=tree.city_a).name,
        copy_segment(actor=None, pk=source.segment_id, org_unit=tree.city_a).name,
    }

    assert len(names) == 2


def test_an_unused_segment_is_deleted_and_one_in_use_is_kept_with_the_reason(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given a province admin's two segments, one of them used by a campaign
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    unused = save_segment(actor=admin, name="无用", rule=ARPU_100, org_unit=tree.province)
    used = save_segment(actor=admin, name="合约到期", rule=EXPIRING, org_unit=tree.province)
    create_campaign(
        actor=admin, org_unit=tree.province, design=design(tree, segment_version=used), today=TODAY
    )
    client.force_login(admin)

    # When they delete each
    gone = client.post(reverse("campaigns:segment-delete", args=[unused.segment_id]), follow=True)
    kept = client.post(reverse("campaigns:segment-delete", args=[used.segment_id]), follow=True)

    # Then the unused one is gone; the used one stays, and the page says why
    assert not Segment.objects.filter(pk=unused.segment_id).exists()
    assert gone.redirect_chain[-1][0] == reverse("campaigns:segments")
    assert Segment.objects.filter(pk=used.segment_id).exists()
    assert "合约到期" in next(str(m) for m in kept.context["messages"])
    assert Campaign.objects.get().segment_version == used


def test_the_delete_refusal_is_in_chinese(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    used = save_segment(actor=admin, name="合约到期", rule=EXPIRING, org_unit=tree.province)
    create_campaign(
        actor=admin, org_unit=tree.province, design=design(tree, segment_version=used), today=TODAY
    )
    client.force_login(admin)

    kept = client.post(
        reverse("campaigns:segment-delete", args=[used.segment_id]), follow=True, **ZH
    )

    [message] = [str(m) for m in kept.context["messages"]]
    assert english_words(f"<main>{message}</main>") == []


# ---- Scope: province segments below, other cities' nowhere


def test_a_province_segment_is_used_read_only_below_and_another_citys_is_404(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given a province segment, one of city A and one of city B
    province = save_segment(actor=None, name="省级", rule=EXPIRING, org_unit=tree.province)
    own = save_segment(actor=None, name="甲市", rule=ARPU_100, org_unit=tree.city_a)
    other = save_segment(actor=None, name="乙市", rule=ARPU_100, org_unit=tree.city_b)

    # When city A's marketer looks, edits and deletes
    client.force_login(city_marketer(tree))
    listed = {
        row["segment"].name for row in client.get(reverse("campaigns:segments")).context["rows"]
    }
    choices = set(
        client.get(reverse("campaigns:new")).context["form"].fields["segment_version"].queryset
    )
    opened = client.get(reverse("campaigns:segment", args=[province.segment_id]))
    edited = save_edit(client, province.segment, ARPU_100, base=1)
    deleted = client.post(reverse("campaigns:segment-delete", args=[province.segment_id]))

    # Then the province's and their own are listed and usable in a campaign, the province's
    # read-only (no edit, no delete); city B's is not found anywhere
    assert listed == {"省级", "甲市"}
    assert choices == {province, own}
    assert opened.status_code == 200
    assert opened.context["can_change"] is False
    assert edited.status_code == 404
    assert deleted.status_code == 302
    assert province.segment.versions.count() == 1
    assert Segment.objects.filter(pk=province.segment_id).exists()
    for url in ("campaigns:segment", "campaigns:segment-copy", "campaigns:segment-delete"):
        method = client.get if url == "campaigns:segment" else client.post
        assert method(reverse(url, args=[other.segment_id])).status_code == 404, url


def test_a_county_manager_uses_the_segments_of_its_city_and_province(
    tree: factories.Tree, city: Snapshot
) -> None:
    from quanwang.campaigns.saved_segments import visible_segments

    save_segment(actor=None, name="省级", rule=EXPIRING, org_unit=tree.province)
    save_segment(actor=None, name="甲市", rule=ARPU_100, org_unit=tree.city_a)
    save_segment(actor=None, name="乙市", rule=ARPU_100, org_unit=tree.city_b)
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    assert {s.name for s in visible_segments(county)} == {"省级", "甲市"}


def test_a_city_can_preview_a_province_segment_naming_a_province_id_list(
    tree: factories.Tree, city: Snapshot, tmp_path: Any
) -> None:
    from quanwang.campaigns.segments import upload_list

    path = tmp_path / "ids.csv"
    path.write_text("subscriber_id\nS000\nS150\n")
    listed = upload_list(actor=None, name="省名单", path=path, org_unit=tree.province)
    version = create_segment(
        actor=None, name="省名单客户", rule={"list": listed.pk}, org_unit=tree.province
    )

    result = preview(user=city_marketer(tree), rule=version.rule)

    assert result.count == 1  # S000: S150 lies in city B


# ---- The preview and the catalogue in Chinese


def test_the_preview_names_tiers_in_chinese(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    client.force_login(city_marketer(tree))

    response = client.post(
        reverse("campaigns:segment-preview"), {"rule": json.dumps(EXPIRING)}, **ZH
    )

    tiers = dict(response.context["preview"].tiers)
    assert set(tiers) <= {"主顾客", "大顾客", "普通顾客", "小顾客", "未分层"}
    assert sum(tiers.values()) == 25


def test_the_risk_bands_are_named_with_their_ranges() -> None:
    assert risk_band_labels() == [
        "Very low risk (0–1%)", "Low risk (1–2%)", "Medium risk (2–5%)",
        "High risk (5–10%)", "Very high risk (≥ 10%)",
    ]  # fmt: skip


def test_every_wide_table_column_has_a_group_in_the_catalogue() -> None:
    assert set(LABELS) - HIDDEN - set(CATALOGUE) == set()
    groups = {info.group for info in CATALOGUE.values()}
    assert groups == set(FieldGroup) - {FieldGroup.OTHER}


def test_the_builder_offers_tiers_as_chinese_codes_and_shares_in_per_cent(
    city: Snapshot,
) -> None:
    with translation.override("zh-hans"):
        fields = {f["name"]: f for f in builder_fields(city.columns)}

    assert fields["value_tier"]["choices"] == [
        ["key", "主顾客"], ["large", "大顾客"], ["regular", "普通顾客"], ["small", "小顾客"],
    ]  # fmt: skip
    assert fields["value_tier"]["ops"][:2] == ["in", "not_in"]
    assert fields["contract_expiring_3m"]["ops"] == ["is"]
    assert fields["offnet_share_3m"]["scale"] == 100
    assert fields["arpu_3m"]["kind"] == "number"
    assert fields["arpu_3m"]["unit"]
    assert "subscriber_id" not in fields


def test_the_segment_pages_speak_chinese(
    tree: factories.Tree, city: Snapshot, client: Client
) -> None:
    # Given a city marketer with a segment of their own and one of the province
    own = save_segment(actor=None, name="甲市高价值", rule=ARPU_100, org_unit=tree.city_a)
    province = save_segment(
        actor=None, name="省级未到期", rule=not_expiring(False), org_unit=tree.province
    )
    client.force_login(city_marketer(tree))

    # When they open the list, their segment and the province's, and preview in Chinese
    pages = {
        "list": client.get(reverse("campaigns:segments"), **ZH),
        "own": client.get(reverse("campaigns:segment", args=[own.segment_id]), **ZH),
        "province": client.get(reverse("campaigns:segment", args=[province.segment_id]), **ZH),
        "preview": client.post(
            reverse("campaigns:segment-preview"), {"rule": json.dumps(ARPU_100)}, **ZH
        ),
    }

    # Then no English word shows (codes and units aside), and the column is headed 运算符
    for name, page in pages.items():
        assert page.status_code == 200, name
        assert [w for w in english_words(page.content.decode()) if w not in PAGE_WORDS] == [], name
    config = pages["list"].context["builder"]
    assert config["text"]["operator"] == "运算符"
    assert config["ops"][">="] == "大于等于"


# ---- Dates


def test_a_date_column_compares_with_dates_and_refuses_other_text() -> None:
    columns = {"contract_end_date": "DATE"}
    table = ibis.memtable(
        pa.table({"d": [dt.date(2024, 1, 5), dt.date(2024, 7, 1), None]}).rename_columns(
            ["contract_end_date"]
        )
    )
    rule = {"field": "contract_end_date", "op": "between", "value": ["2024-06-01", "2024-12-31"]}

    check_rule(rule, columns=columns)
    chosen = table.filter(compile_rule(rule, table, {})).to_pyarrow()

    assert chosen.column(0).to_pylist() == [dt.date(2024, 7, 1)]
    with pytest.raises(RuleError, match="year-month-day"):
        check_rule(
            {"field": "contract_end_date", "op": ">", "value": "2024-13-01"}, columns=columns
        )
