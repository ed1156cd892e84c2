"""The model `quanwang train-model` chooses against a plain logistic regression, on the same
held-out rows of a table (docs/model-training.md records the results on public churn tables).

    .venv/bin/python bench/compare_train_model.py telco.csv \\
        --spec '{"id": "customerID", "target": {"from": "Churn", "positive": ["Yes"]}}' \\
        --seeds 0 1 2 3 4

For each seed: the spec's split becomes {"validation_share": 0.25, "seed": seed}, so the
trainer cross-validates and refits on a stratified 75% and is measured on the other 25%. On
the same 75%, with the same features read the same way, two plain logistic regressions are
fitted (one-hot categories, standardised numbers, missing numbers as the mean plus a
was-missing column): one unpenalised, one with scikit-learn's defaults (C=1, 100 iterations).
Prints a Markdown table of the three test AUCs per seed, and their means.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def compare(path: Path, spec_text: str, seed: int, share: float) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from quanwang.insight.tabular import train_model, training_input
    from quanwang.insight.tabular.features import (
        feature_levels,
        infer_kinds,
        matrix,
        split_rows,
        target_labels,
    )
    from quanwang.insight.tabular.model import LinearDesign
    from quanwang.insight.tabular.reading import read
    from quanwang.insight.training_spec import Role, load_spec, parse_spec

    given = load_spec(text=spec_text).raw
    spec = parse_spec(given | {"split": {"validation_share": share, "seed": seed}})
    data = training_input(text=str(path))
    model = train_model(data=data, spec=spec, name="compare").model
    cv = model.metrics["cv"]

    # The same rows and features, read and split by the trainer's own functions.
    frame, wanted = read(
        data=data, spec=spec, mapping=None, features=None, roles=[Role.TARGET, Role.ID]
    )
    kinds = infer_kinds(frame, spec)
    levels = feature_levels(frame, kinds, spec)
    features = [f for f in wanted if f in kinds]
    labels, known = target_labels(frame, spec)
    parts = split_rows(frame, spec, labels, known)
    values = matrix(frame, features, levels)
    design = LinearDesign.fit(values[parts.fitting], features, levels)
    train_x, test_x = design.transform(values[parts.fitting]), design.transform(values[parts.test])
    plain = {}
    for label, regression in (
        ("unpenalised", LogisticRegression(C=np.inf, max_iter=5000)),
        ("default", LogisticRegression()),
    ):
        fitted = regression.fit(train_x, labels[parts.fitting])
        plain[label] = float(roc_auc_score(labels[parts.test], fitted.decision_function(test_x)))
    chosen = cv["candidates"][cv["chosen"]]
    return {
        "seed": seed,
        "training_rows": model.metrics["training_rows"],
        "test_rows": model.metrics["test_rows"],
        "chosen": chosen,
        "chosen_cv_auc": chosen["auc_mean"],
        "chosen_test_auc": model.metrics["auc"],
        "plain_unpenalised_test_auc": plain["unpenalised"],
        "plain_default_test_auc": plain["default"],
    }


def _label(candidate: dict[str, Any]) -> str:
    if candidate["kind"] == "logistic":
        return f"logistic C={candidate['C']:g}"
    return (
        f"LightGBM {candidate['num_leaves']} leaves, rate {candidate['learning_rate']:g},"
        f" {candidate['rounds']} rounds"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", type=Path)
    parser.add_argument("--spec", required=True, help="JSON, or a JSON file")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--share", type=float, default=0.25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="quanwang-compare-") as var:
        os.environ["QUANWANG_VAR_DIR"] = var
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
        import django

        django.setup()
        results = [compare(args.table, args.spec, seed, args.share) for seed in args.seeds]
    print("| seed | chosen | CV AUC | test AUC | plain LR, unpenalised | plain LR, default |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['seed']} | {_label(r['chosen'])} | {r['chosen_cv_auc']:.4f} |"
            f" {r['chosen_test_auc']:.4f} | {r['plain_unpenalised_test_auc']:.4f} |"
            f" {r['plain_default_test_auc']:.4f} |"
        )
    means = {
        key: np.mean([r[key] for r in results])
        for key in ("chosen_test_auc", "plain_unpenalised_test_auc", "plain_default_test_auc")
    }
    print(
        f"| mean | | | {means['chosen_test_auc']:.4f} |"
        f" {means['plain_unpenalised_test_auc']:.4f} | {means['plain_default_test_auc']:.4f} |"
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
