"""`quanwang train-model FILE_OR_TABLE --spec spec.json --name NAME`: a classifier on any table.

    quanwang train-model telco.csv --spec telco.json --name telco-churn --score-out scores.csv
    quanwang train-model subscribers --spec spec.json --name lines --mapping telco-churn
    quanwang train-model new.csv --name telco-churn --model latest --score-out new-scores.csv
    quanwang train-model --name telco-churn --list

See docs/model-training.md for the spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.terminal import command_actor
from quanwang.insight.churn import ModelError
from quanwang.insight.tabular import (
    ImportedMapping,
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
        "Train a yes/no model (LightGBM, calibrated) on any file or warehouse table, as a "
        "training spec describes it; or score a table with a saved model."
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
                self.stdout.write(
                    f"{model.model_id}  AUC {model.metrics['auc']:.3f}  {model.source}  "
                    f"{model.metrics['training_rows']:,}+{model.metrics['validation_rows']:,}"
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
        self.stdout.write(
            _(
                "Model %(name)s/%(model)s: AUC %(auc).3f on %(rows)d validation rows"
                " (%(rate).1f%% positive), trained on %(training)d."
            )
            % {
                "name": model.name,
                "model": model.model_id,
                "auc": metrics["auc"],
                "rows": metrics["validation_rows"],
                "rate": 100 * metrics["validation_positive_rate"],
                "training": metrics["training_rows"],
            }
        )
        lift = " ".join(f"{value:.2f}" for value in metrics["lift_by_decile"])
        self.stdout.write(_("Lift by decile, highest scores first: %(lift)s") % {"lift": lift})
        top = ", ".join(f"{feature} {share:.1f}%" for feature, share in model.top_features[:5])
        self.stdout.write(_("Top features (share of gain): %(top)s") % {"top": top})
        self.stdout.write(_("Saved to %(path)s") % {"path": model.path})
