from pathlib import Path

from django.core.management import call_command

from quanwang.data.schema import TABLES


def test_the_committed_data_model_doc_matches_the_schema() -> None:
    committed = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"

    call_command("datamodel", "--check", "--output", str(committed))


def test_every_column_has_a_chinese_and_an_english_label() -> None:
    unlabelled = [
        f"{t.name}.{c.name}" for t in TABLES.values() for c in t.columns if not (c.zh and c.en)
    ]

    assert unlabelled == []


def test_every_reference_points_at_a_real_column() -> None:
    broken = [
        f"{t.name}.{c.name}"
        for t in TABLES.values()
        for c in t.columns
        if c.references and c.references[1] not in TABLES[c.references[0]].by_name
    ]

    assert broken == []
