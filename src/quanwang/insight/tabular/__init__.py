"""Binary classifiers on any table: a file or a warehouse table, described by a training spec.

The canonical churn model (churn.py) knows the wide table. This one knows nothing in advance:
a JSON spec, in the style of the import mappings, names the target column and its positive
values, the id, and optionally the features, their kinds, derived columns and the split:

    {"id": "customerID",
     "target": {"from": "Churn", "positive": ["Yes"]},
     "exclude": ["gender"],
     "categorical": ["SeniorCitizen"],
     "columns": {"charge_per_month": {"expr": "TRY_CAST(TotalCharges AS DOUBLE) / tenure"}},
     "split": {"folds": 5, "seed": 7}}

reading.py reads the input through DuckDB into text and number columns; features.py infers
each feature's kind and builds the matrix and labels; selection.py chooses between a
regularised logistic regression and LightGBM by stratified k-fold cross-validation and
calibrates the chosen one on its out-of-fold scores; model.py is the saved model and its
registry (var/insight/models/<name>/); training.py trains and scores. docs/model-training.md
describes it all.
"""

from quanwang.insight.tabular.features import FeatureKind
from quanwang.insight.tabular.model import (
    Calibration,
    CalibrationMethod,
    ModelKind,
    Scores,
    TabularModel,
    Trained,
    check_name,
    find_model,
    model_registry,
)
from quanwang.insight.tabular.reading import (
    ImportedMapping,
    InputKind,
    TrainingInput,
    load_mapping,
    training_input,
)
from quanwang.insight.tabular.training import (
    MeasuredOn,
    check_score_path,
    score_model,
    train_model,
    write_scores,
)

__all__ = [
    "Calibration",
    "CalibrationMethod",
    "FeatureKind",
    "ImportedMapping",
    "InputKind",
    "MeasuredOn",
    "ModelKind",
    "Scores",
    "TabularModel",
    "Trained",
    "TrainingInput",
    "check_name",
    "check_score_path",
    "find_model",
    "load_mapping",
    "model_registry",
    "score_model",
    "train_model",
    "training_input",
    "write_scores",
]
