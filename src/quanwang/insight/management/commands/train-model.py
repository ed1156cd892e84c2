"""`quanwang train-model FILE_OR_TABLE --spec spec.json --name NAME`: a classifier on any table.

    quanwang train-model telco.csv --spec telco.json --name telco-churn --score-out scores.csv
    quanwang train-model subscribers --spec spec.json --name lines --mapping telco-churn
    quanwang train-model new.csv --name telco-churn --model latest --score-out new-scores.csv
    quanwang train-model --name telco-churn --list

Training prints the cross-validation table (each candidate's AUC mean ± std over the folds),
the chosen model, its calibration and where it was saved. See docs/model-training.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.terminal import command_actor
from quanwang.insight.churn import ModelError
from quanwang.insight.tabular import (
    CalibrationMethod,
    ImportedMapping,
    MeasuredOn,
    ModelKind,
    TabularModel,
    check_score_path,
    find_model,
    load_mapping,
    model_registry,
    score_model,
    train_model,
    training_input,
    write_scores,
)
from quanwang.insight.training_spec import load_spec


class Command(BaseCommand):
    help = _(
        "Train a yes/no model on any file or warehouse table, as a training spec describes it:"
        " logistic regression or LightGBM, chosen by cross-validation, then calibrated; or"
        " score a table with a saved model."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "source", nargs="?", help=_("a .csv, .xlsx or .parquet file, or a warehouse table")
        )
        parser.add_argument(
            "--spec", help=_("the training spec: a JSON file, or JSON itself starting with {")
        )
        parser.add_argument(
            "--name", required=True, help=_("the model's name, e.g. telco-churn (its registry)")
        )
        parser.add_argument(
            "--mapping", help=_("read the source through this saved import mapping")
        )
        parser.add_argument(
            "--encoding", help=_("the CSV's encoding, e.g. gbk (default: detected)")
        )
        parser.add_argument(
            "--score-out",
            type=Path,
            help=_("write each row's probability to this .csv or .parquet"),
        )
        parser.add_argument(
            "--model",
            help=_("score with this saved model (an id, or latest) instead of training one"),
        )
        parser.add_argument(
            "--list", action="store_true", help=_("list the models of this name and stop")
        )
        parser.add_argument("--user", help=_("Run as this user (default: system)"))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._handle(options)
        except ModelError as exc:
            raise CommandError(str(exc)) from exc

    def _handle(self, options: dict[str, Any]) -> None:
        name = options["name"]
        if options["list"]:
            for model in model_registry(name).list():
                metrics = model.metrics
                # Models saved before cross-validation held out validation rows.
                held_out = metrics.get("test_rows", metrics.get("validation_rows", 0))
                self.stdout.write(
                    f"{model.model_id}  AUC {metrics['auc']:.3f}  {model.kind}  {model.source}  "
                    f"{metrics['training_rows']:,}+{held_out:,}"
                )
            return
        if not options["source"]:
            raise CommandError(_("Name the file or warehouse table to read."))
        score_out = options["score_out"]
        if score_out is not None:
            check_score_path(score_out)  # before a long training, not after
        data = training_input(text=options["source"], encoding=options["encoding"])
        user = options["user"]
        if options["model"]:
            if score_out is None:
                raise CommandError(_("Scoring with --model needs --score-out."))
            model_id = None if options["model"] == "latest" else options["model"]
            model = find_model(name=name, model_id=model_id)
            mapping = self._mapping(user, options["mapping"] or model.mapping)
            scores, notes = score_model(model=model, data=data, mapping=mapping)
            self._notes(notes)
            rows = write_scores(scores=scores, path=score_out)
            self.stdout.write(
                _("Scored %(rows)d rows with %(model)s into %(path)s.")
                % {"rows": rows, "model": model.model_id, "path": score_out}
            )
            return
        if not options["spec"]:
            raise CommandError(_("Give the training spec: --spec spec.json"))
        spec = load_spec(text=options["spec"])
        trained = train_model(
            data=data, spec=spec, name=name, mapping=self._mapping(user, options["mapping"])
        )
        self._notes(trained.model.notes)
        self._report(trained.model)
        if score_out is not None:
            rows = write_scores(scores=trained.scores, path=score_out)
            self.stdout.write(
                _("Scores of %(rows)d rows written to %(path)s.")
                % {"rows": rows, "path": score_out}
            )

    @staticmethod
    def _mapping(user: str | None, name: str | None) -> ImportedMapping | None:
        """The saved mapping `name`, as `user` may see it. Only a mapping needs the database
        (a file trains and scores without one), so the user is looked up only then."""
        if not name:
            return None
        actor, _org_unit = command_actor(user)
        return load_mapping(actor=actor, name=name)

    def _notes(self, notes: list[str]) -> None:
        for note in notes:
            self.stderr.write(_("Note: %(note)s") % {"note": note})

    def _report(self, model: TabularModel) -> None:
        metrics = model.metrics
        self._cv_table(metrics["cv"])
        self.stdout.write(
            _(
                "Chosen: %(model)s; refitted on all %(rows)d training rows, calibrated by"
                " %(method)s on its out-of-fold scores."
            )
            % {
                "model": candidate_label(metrics["cv"]["candidates"][metrics["cv"]["chosen"]]),
                "rows": metrics["training_rows"],
                "method": calibration_label(CalibrationMethod(metrics["calibration_method"])),
            }
        )
        values = {
            "name": model.name,
            "model": model.model_id,
            "auc": metrics["auc"],
            "rows": metrics["test_rows"],
            "rate": 100 * metrics["positive_rate"],
        }
        if MeasuredOn(metrics["measured_on"]) is MeasuredOn.TEST:
            line = _(
                "Model %(name)s/%(model)s: AUC %(auc).3f on %(rows)d held-out test rows"
                " (%(rate).1f%% positive)."
            )
        else:
            line = _(
                "Model %(name)s/%(model)s: AUC %(auc).3f by cross-validation"
                " (%(rate).1f%% positive)."
            )
        self.stdout.write(line % values)
        self.stdout.write(
            _("Brier score %(calibrated).4f calibrated, %(raw).4f uncalibrated.")
            % {"calibrated": metrics["brier"], "raw": metrics["brier_uncalibrated"]}
        )
        lift = " ".join(f"{value:.2f}" for value in metrics["lift_by_decile"])
        self.stdout.write(_("Lift by decile, highest scores first: %(lift)s") % {"lift": lift})
        top = ", ".join(f"{feature} {share:.1f}%" for feature, share in model.top_features[:5])
        if model.kind is ModelKind.LOGISTIC:
            self.stdout.write(_("Top features (share of weight): %(top)s") % {"top": top})
        else:
            self.stdout.write(_("Top features (share of gain): %(top)s") % {"top": top})
        self.stdout.write(_("Saved to %(path)s") % {"path": model.path})

    def _cv_table(self, cv: dict[str, Any]) -> None:
        if cv["rows"] < cv["sampled_from"]:
            heading = _(
                "Cross-validation, %(folds)d stratified folds of a sample of %(rows)d of the"
                " %(total)d training rows (seed %(seed)d); AUC mean ± std:"
            )
        else:
            heading = _(
                "Cross-validation, %(folds)d stratified folds of %(rows)d training rows"
                " (seed %(seed)d); AUC mean ± std:"
            )
        self.stdout.write(
            heading
            % {
                "folds": cv["folds"],
                "rows": cv["rows"],
                "total": cv["sampled_from"],
                "seed": cv["seed"],
            }
        )
        labels = [candidate_label(candidate) for candidate in cv["candidates"]]
        width = max(len(label) for label in labels)
        for index, (label, candidate) in enumerate(zip(labels, cv["candidates"], strict=True)):
            mark = _("  ← chosen") if index == cv["chosen"] else ""
            self.stdout.write(
                f"  {label.ljust(width)}  {candidate['auc_mean']:.3f} ± {candidate['auc_std']:.3f}"
                f"{mark}"
            )


def candidate_label(candidate: dict[str, Any]) -> str:
    """A candidate of the cross-validation table, in the user's language."""
    if ModelKind(candidate["kind"]) is ModelKind.LOGISTIC:
        return _("logistic regression, C=%(c)g") % {"c": candidate["C"]}
    return _("LightGBM, %(leaves)d leaves, learning rate %(rate)g, %(rounds)d rounds") % {
        "leaves": candidate["num_leaves"],
        "rate": candidate["learning_rate"],
        "rounds": candidate["rounds"],
    }


def calibration_label(method: CalibrationMethod) -> str:
    if method is CalibrationMethod.ISOTONIC:
        return _("isotonic regression")
    return _("Platt scaling")
