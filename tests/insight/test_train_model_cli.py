"""`quanwang train-model` prints its cross-validation table, in the user's language, and
`quanwang --help` lists the training commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django.utils import translation

from quanwang.insight.tabular import find_model
from tests.insight.test_train_model import SPEC, linear, write_csv

CANDIDATE_LINE = re.compile(r"^  (.+?)\s+(0\.\d{3}) ± (0\.\d{3})(.*)$")


def _train(tmp_path: Path, language: str) -> tuple[str, str]:
    path = write_csv(tmp_path / "train.csv", linear(rows=1000, seed=1))
    out, err = StringIO(), StringIO()
    with translation.override(language):
        call_command(
            "train-model", str(path), "--spec", json.dumps(SPEC), "--name", "cli",
            "--score-out", str(tmp_path / "scores.csv"), stdout=out, stderr=err,
        )  # fmt: skip
    return out.getvalue(), err.getvalue()


def test_the_command_prints_each_candidates_cv_auc_and_marks_the_chosen(tmp_path: Path) -> None:
    # When a model is trained from the command, in English
    text, _err = _train(tmp_path, "en")

    # Then it prints the folds, a line per candidate with its AUC mean ± std, and the choice
    lines = text.splitlines()
    assert lines[0] == (
        "Cross-validation, 5 stratified folds of 1000 training rows (seed 7); AUC mean ± std:"
    )
    rows = [CANDIDATE_LINE.match(line) for line in lines[1:10]]
    assert all(rows), lines[1:10]
    cv = find_model(name="cli").metrics["cv"]
    for row, candidate in zip(rows, cv["candidates"], strict=True):
        assert row is not None
        assert float(row[2]) == round(candidate["auc_mean"], 3)
        assert float(row[3]) == round(candidate["auc_std"], 3)
    assert [row[4] if row else "" for row in rows].count("  ← chosen") == 1
    chosen = rows[cv["chosen"]]
    assert chosen is not None
    assert chosen[4] == "  ← chosen"
    assert [row[1] for row in rows if row][:3] == [
        "logistic regression, C=0.1",
        "logistic regression, C=1",
        "logistic regression, C=10",
    ]
    assert re.fullmatch(
        r"LightGBM, 7 leaves, learning rate 0\.05, \d+ rounds", rows[3][1] if rows[3] else ""
    )
    assert lines[10].startswith(f"Chosen: {chosen[1]}; refitted on all 1000 training rows")
    assert re.fullmatch(
        r"Model cli/\S+: AUC 0\.\d{3} by cross-validation \(\d+\.\d% positive\)\.", lines[11]
    )
    assert lines[12].startswith("Brier score")
    # ... and the scores file has the id column the docs name
    header = (tmp_path / "scores.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == '"id","probability"'


def test_the_cv_table_is_in_chinese_for_a_chinese_user(tmp_path: Path) -> None:
    text, _err = _train(tmp_path, "zh-hans")

    lines = text.splitlines()
    assert lines[0].startswith("交叉验证：1000 行训练数据分层分为 5 折")
    assert lines[1].startswith("  逻辑回归，C=0.1")
    assert re.match(r"  LightGBM，7 个叶子，学习率 0\.05，\d+ 轮", lines[4])
    assert sum("← 选中" in line for line in lines) == 1
    assert lines[10].startswith("选中：")
    assert "布赖尔分数" in text
    assert not re.search(r"\b(chosen|folds|rounds|leaves|regression)\b", text)


def test_the_list_names_each_models_kind(tmp_path: Path) -> None:
    _train(tmp_path, "en")
    out = StringIO()

    call_command("train-model", "--name", "cli", "--list", stdout=out)

    model = find_model(name="cli")
    auc = f"{model.metrics['auc']:.3f}"
    assert out.getvalue().split() == [
        model.model_id, "AUC", auc, str(model.kind), "train.csv", "1,000+0"
    ]  # fmt: skip


def test_quanwang_help_lists_the_training_commands(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment["QUANWANG_VAR_DIR"] = str(tmp_path / "var")

    for language in ("en", "zh"):
        result = subprocess.run(
            [sys.executable, "-m", "quanwang.cli", "--help", "--lang", language],
            capture_output=True, text=True, env=environment, timeout=120, check=True,
        )  # fmt: skip
        listed = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")]
        assert {"train-model", "train-churn"} <= set(listed), result.stdout
