"""Console forms of the campaigns app; the services check the rules."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from quanwang.campaigns.choices import CampaignType, Channel, ContactOutcome, Targeting, TaskSplit
from quanwang.campaigns.estimate import SHARES
from quanwang.campaigns.models import Campaign, Offer, SegmentVersion
from quanwang.campaigns.services.design import Design
from quanwang.campaigns.tasks import TaskChoices, TaskFilters, TaskState
from quanwang.core.forms import DayInput


class RuleField(forms.CharField):
    """A segment rule as JSON text; the builder on the page writes it."""

    widget = forms.Textarea(attrs={"rows": 6, "class": "mono", "spellcheck": "false"})

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return None
        try:
            rule = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("Not valid JSON (line %(line)d, column %(col)d)."),
                params={"line": exc.lineno, "col": exc.colno},
            ) from exc
        if not isinstance(rule, dict):
            raise forms.ValidationError(_("A rule is a JSON object."))
        return rule


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    rule = RuleField(label=_("Rule (JSON)"))


class SegmentEditForm(SegmentForm):
    """An edit of a saved segment, opened at version `base` (saving adds the next version)."""

    base = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class PreviewForm(forms.Form):
    rule = RuleField(label=_("Rule (JSON)"))


class ListUploadForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    file = forms.FileField(label=_("File of subscriber IDs (CSV, XLSX)"))


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    campaign_type = forms.ChoiceField(label=_("Type"), choices=CampaignType.choices)
    hypothesis = forms.CharField(
        label=_("Strategy hypothesis"), widget=forms.Textarea(attrs={"rows": 3})
    )
    objective_metric = forms.CharField(label=_("Objective: metric"), max_length=100)
    objective_target = forms.DecimalField(
        label=_("Objective: target"), max_digits=14, decimal_places=2
    )
    objective_deadline = forms.DateField(label=_("Objective: deadline"), widget=DayInput())
    segment_version = forms.ModelChoiceField(
        label=_("Segment"), queryset=SegmentVersion.objects.none()
    )
    offers = forms.ModelMultipleChoiceField(
        label=_("Offers"), queryset=Offer.objects.none(), required=False
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"), choices=Channel.choices, widget=forms.CheckboxSelectMultiple
    )
    starts_on = forms.DateField(label=_("Starts on"), widget=DayInput())
    ends_on = forms.DateField(label=_("Ends on"), widget=DayInput())
    budget = forms.DecimalField(
        label=_("Budget (yuan)"), max_digits=14, decimal_places=2, min_value=0
    )
    # Typed as a percentage (10, not 0.10); `clean_control_share` makes it a share.
    control_share = forms.DecimalField(
        label=_("Control group share (%)"),
        initial=10,
        min_value=1,
        max_value=50,
        max_digits=4,
        decimal_places=1,
        help_text=_(
            "Customers held back from every contact, to measure what the campaign changed: "
            "type 10 for a tenth of the segment."
        ),
    )
    # Shown under the advanced settings: the default serves almost every campaign.
    seed = forms.IntegerField(
        label=_("Random seed"),
        initial=1,
        min_value=0,
        required=False,
        help_text=_(
            "Decides which customers fall in the control group; the same number draws the "
            "same group again. Keep the default unless you must repeat an earlier draw."
        ),
    )
    # Optional, so a form posted without them designs a campaign over the whole segment.
    targeting = forms.ChoiceField(
        label=_("Targeting"), choices=Targeting.choices, initial=Targeting.SEGMENT, required=False
    )
    targeting_share = forms.DecimalField(
        label=_("Share of the segment to target by uplift (%)"),
        initial=30,
        min_value=1,
        max_value=100,
        max_digits=4,
        decimal_places=1,
        required=False,
        help_text=_(
            "Uplift targeting keeps this share of the segment, highest uplift first: type 30 "
            "for 30 percent."
        ),
    )
    uplift_source = forms.ModelChoiceField(
        label=_("Learn the uplift from"),
        queryset=Campaign.objects.none(),
        required=False,
        help_text=_("An evaluated campaign: its treated and control results train the model."),
    )
    # Optional, so a form posted without it splits the task lists by grid and store.
    task_split = forms.ChoiceField(
        label=_("Task lists"),
        choices=TaskSplit.choices,
        initial=TaskSplit.GRID,
        required=False,
        help_text=_(
            "For the task channel: split by account manager, the members of an enterprise "
            "with an account manager go to that manager's task list and quota."
        ),
    )

    def __init__(
        self, *args: Any, segments: Any, offers: Any, sources: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["segment_version"]
        field.queryset = segments
        field.label_from_instance = lambda v: f"{v.segment.name} v{v.number} · {v.text_zh}"
        offer_field: Any = self.fields["offers"]
        offer_field.queryset = offers
        # Whose offer it is: the unit's own, or one from the levels above.
        offer_field.label_from_instance = lambda o: f"{o.code} {o.name} · {o.org_unit.name}"
        # Only evaluated campaigns the user may see (services.uplift_sources).
        source_field: Any = self.fields["uplift_source"]
        source_field.queryset = sources if sources is not None else Campaign.objects.none()
        source_field.label_from_instance = lambda c: (
            f"#{c.pk} {c.name} ({c.get_campaign_type_display()})"
        )

    def clean_targeting(self) -> Targeting:
        return Targeting(self.cleaned_data.get("targeting") or Targeting.SEGMENT)

    def clean_task_split(self) -> TaskSplit:
        return TaskSplit(self.cleaned_data.get("task_split") or TaskSplit.GRID)

    def clean_targeting_share(self) -> Decimal:
        percent = self.cleaned_data.get("targeting_share")
        return Decimal("0.300") if percent is None else _share(percent)

    def clean_control_share(self) -> Decimal:
        return _share(self.cleaned_data["control_share"])

    def clean_seed(self) -> int:
        seed = self.cleaned_data.get("seed")
        return 1 if seed is None else seed

    def design(self) -> Design:
        """The design the valid form describes (the service checks it)."""
        data = self.cleaned_data
        return Design(
            name=data["name"],
            campaign_type=CampaignType(data["campaign_type"]),
            hypothesis=data["hypothesis"],
            objective_metric=data["objective_metric"],
            objective_target=data["objective_target"],
            objective_deadline=data["objective_deadline"],
            segment_version=data["segment_version"],
            offers=list(data["offers"]),
            channels=[Channel(c) for c in data["channels"]],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            budget=data["budget"],
            control_share=data["control_share"],
            seed=data["seed"],
            targeting=data["targeting"],
            targeting_share=data["targeting_share"],
            uplift_source=data["uplift_source"],
            task_split=data["task_split"],
        )


def _share(percent: Decimal) -> Decimal:
    """10 (percent) → 0.100 (a share, as the campaign stores it)."""
    return (percent / 100).quantize(Decimal("0.001"))


def _percent(share: Decimal) -> Decimal:
    """0.100 → 10 (as the form shows it)."""
    return (share * 100).quantize(Decimal("0.1")).normalize()


def campaign_initial(campaign: Campaign) -> dict[str, Any]:
    """The form's fields filled from a saved campaign, to edit it."""
    return {
        "name": campaign.name,
        "campaign_type": campaign.campaign_type,
        "hypothesis": campaign.hypothesis,
        "objective_metric": campaign.objective_metric,
        "objective_target": campaign.objective_target,
        "objective_deadline": campaign.objective_deadline,
        "segment_version": campaign.segment_version_id,
        "offers": [o.pk for o in campaign.offers.all()],
        "channels": list(campaign.channels),
        "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on,
        "budget": campaign.budget,
        "control_share": _percent(campaign.control_share),
        "seed": campaign.seed,
        "targeting": campaign.targeting,
        "targeting_share": _percent(campaign.targeting_share),
        "uplift_source": campaign.uplift_source_id,
        "task_split": campaign.task_split,
    }


class MoveForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    # Asked only of a campaign whose estimate expects a loss (services.lifecycle).
    acknowledge_loss = forms.BooleanField(
        label=_("I know this campaign is expected to lose money"), required=False
    )


class EstimateForm(forms.Form):
    """Overrides of the estimate's assumptions; empty fields keep the default. Shares are typed
    as percentages (6 for 6%) and money in 元; `overrides` gives them as the estimate takes
    them. Given the campaign's stored estimate, only its assumptions are asked, each with its
    current value as the placeholder."""

    reach = forms.FloatField(label=_("Reach (%)"), required=False, min_value=0, max_value=100)
    take_rate_low = forms.FloatField(
        label=_("Acceptance rate, low (%)"), required=False, min_value=0, max_value=100
    )
    take_rate_expected = forms.FloatField(
        label=_("Acceptance rate, expected (%)"), required=False, min_value=0, max_value=100
    )
    take_rate_high = forms.FloatField(
        label=_("Acceptance rate, high (%)"), required=False, min_value=0, max_value=100
    )
    uplift_low = forms.FloatField(
        label=_("Predicted uplift, low (%)"), required=False, min_value=-100, max_value=100
    )
    uplift_expected = forms.FloatField(
        label=_("Predicted uplift, expected (%)"), required=False, min_value=-100, max_value=100
    )
    uplift_high = forms.FloatField(
        label=_("Predicted uplift, high (%)"), required=False, min_value=-100, max_value=100
    )
    mean_arpu = forms.FloatField(label=_("Mean monthly ARPU (yuan)"), required=False, min_value=0)
    monthly_churn_risk = forms.FloatField(
        label=_("Monthly churn risk (%)"), required=False, min_value=0, max_value=100
    )
    incremental_monthly_revenue = forms.FloatField(
        label=_("Monthly revenue added per customer who accepts (yuan)"), required=False
    )
    months = forms.FloatField(
        label=_("Months of benefit"), required=False, min_value=0, max_value=60
    )
    offer_cost_per_taker = forms.FloatField(
        label=_("Offer cost per customer who accepts (yuan)"), required=False, min_value=0
    )
    contact_cost = forms.FloatField(
        label=_("Contact cost per treated customer (yuan)"), required=False, min_value=0
    )

    def __init__(self, *args: Any, estimate: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = {a["name"]: a["value"] for a in (estimate or {}).get("assumptions", [])}
        if not current:
            return
        for name in list(self.fields):
            if name not in current:
                del self.fields[name]  # e.g. the take rates of a campaign targeted by uplift
                continue
            value = float(current[name]) * (100 if name in SHARES else 1)
            self.fields[name].widget.attrs["placeholder"] = f"{value:.6g}"

    def overrides(self) -> dict[str, float]:
        return {
            name: value / 100 if name in SHARES else value
            for name, value in self.cleaned_data.items()
            if value is not None
        }


class DispatchForm(forms.Form):
    step = forms.SlugField(label=_("Step"), initial="s1", max_length=40)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    text = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 3}))


RESPONSE_COLUMNS = ("campaign_id", "subscriber_id", "responded_on", "revenue")


class ResponseUploadForm(forms.Form):
    file = forms.FileField(label=_("Orders and acceptances (CSV, XLSX)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The file's column names are what it must say, not words to translate: shown as code.
        columns = format_html_join("、", "<code>{}</code>", ((c,) for c in RESPONSE_COLUMNS))
        self.fields["file"].help_text = format_html(gettext("Columns: {}"), columns)


class PlainSelect(forms.Select):
    """A select of plain options rendered in Python: a province's task list offers hundreds of
    grids, and Django's template per option took about 20 ms of every page view."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        chosen = set(self.format_value(value))
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (key, mark_safe(" selected") if str(key) in chosen else "", label)
                for key, label in self.choices
            ),
        )
        final = self.build_attrs(self.attrs, attrs)
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final), options)


class TaskFilterForm(forms.Form):
    """The task list's filters (GET); the choices are the user's campaigns and grids."""

    campaign = forms.TypedChoiceField(
        label=_("Campaign"), coerce=int, required=False, widget=PlainSelect
    )
    grid = forms.ChoiceField(label=_("Grid"), required=False, widget=PlainSelect)
    account_manager = forms.ChoiceField(
        label=_("Account manager"), required=False, widget=PlainSelect
    )
    store = forms.CharField(label=_("Store"), max_length=40, required=False)
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False, choices=[("", _("All")), *TaskState.choices]
    )

    def __init__(self, *args: Any, choices: TaskChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        campaign: Any = self.fields["campaign"]
        campaign.choices = [("", _("All")), *choices.campaigns]
        grid: Any = self.fields["grid"]
        grid.choices = [("", _("All")), *choices.grids]
        manager: Any = self.fields["account_manager"]
        manager.choices = [("", _("All")), *choices.account_managers]
        if not choices.account_managers:  # no campaign of theirs is split by account manager
            del self.fields["account_manager"]

    def filters(self) -> TaskFilters:
        data = self.cleaned_data
        return TaskFilters(
            campaign_id=data.get("campaign") or None,
            grid=data.get("grid") or None,
            account_manager=data.get("account_manager") or None,
            store=(data.get("store") or "").strip() or None,
            state=TaskState(data["outcome"]) if data.get("outcome") else None,
        )


class TaskOutcomeForm(forms.Form):
    """One contact's outcome, posted from a row of the task list."""

    campaign = forms.IntegerField(widget=forms.HiddenInput)
    subscriber_id = forms.CharField(max_length=40, widget=forms.HiddenInput)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ContactOutcome.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)
    back = forms.CharField(required=False, widget=forms.HiddenInput)


class StoreQuotaForm(forms.Form):
    """One store's share of an issued campaign (下发到网点); the service checks the sums."""

    store = forms.ChoiceField(label=_("Store"), widget=PlainSelect)
    audience = forms.IntegerField(
        label=_("Customers to contact"),
        min_value=0,
        help_text=_("Of the store's grid's treated customers; 0 customers and 0 takers remove "
                    "the store's quota."),
    )  # fmt: skip
    target = forms.IntegerField(label=_("Takers expected"), min_value=0)
    deadline = forms.DateField(
        label=_("Deadline"),
        required=False,
        widget=DayInput(),
        help_text=_("Empty: the deadline of the quota it is a share of."),
    )

    def __init__(self, *args: Any, stores: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        store: Any = self.fields["store"]
        store.choices = stores
