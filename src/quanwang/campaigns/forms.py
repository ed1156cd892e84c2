"""Console forms of the campaigns app; the services check the rules."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from quanwang.campaigns.choices import CampaignType, Channel
from quanwang.campaigns.models import Offer, SegmentVersion


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
    objective_deadline = forms.DateField(
        label=_("Objective: deadline"), widget=forms.DateInput(attrs={"type": "date"})
    )
    segment_version = forms.ModelChoiceField(
        label=_("Segment"), queryset=SegmentVersion.objects.none()
    )
    offers = forms.ModelMultipleChoiceField(
        label=_("Offers"), queryset=Offer.objects.none(), required=False
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"), choices=Channel.choices, widget=forms.CheckboxSelectMultiple
    )
    starts_on = forms.DateField(
        label=_("Starts on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(label=_("Ends on"), widget=forms.DateInput(attrs={"type": "date"}))
    budget = forms.DecimalField(
        label=_("Budget (yuan)"), max_digits=14, decimal_places=2, min_value=0
    )
    control_share = forms.DecimalField(
        label=_("Control group share"), initial="0.10", max_digits=4, decimal_places=3
    )
    seed = forms.IntegerField(label=_("Random seed"), initial=1, min_value=0)

    def __init__(self, *args: Any, segments: Any, offers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["segment_version"]
        field.queryset = segments
        field.label_from_instance = lambda v: f"{v.segment.name} v{v.number} · {v.text_zh}"
        offer_field: Any = self.fields["offers"]
        offer_field.queryset = offers


class MoveForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class EstimateForm(forms.Form):
    """Overrides of the estimate's assumptions; empty fields keep the default."""

    reach = forms.FloatField(label=_("Reach"), required=False, min_value=0, max_value=1)
    take_rate_low = forms.FloatField(
        label=_("Take rate, low"), required=False, min_value=0, max_value=1
    )
    take_rate_expected = forms.FloatField(
        label=_("Take rate, expected"), required=False, min_value=0, max_value=1
    )
    take_rate_high = forms.FloatField(
        label=_("Take rate, high"), required=False, min_value=0, max_value=1
    )
    incremental_monthly_revenue = forms.FloatField(
        label=_("Incremental monthly revenue per taker"), required=False
    )
    months = forms.FloatField(
        label=_("Months of benefit"), required=False, min_value=0, max_value=60
    )
    offer_cost_per_taker = forms.FloatField(
        label=_("Offer cost per taker"), required=False, min_value=0
    )
    contact_cost = forms.FloatField(
        label=_("Contact cost per treated customer"), required=False, min_value=0
    )

    def overrides(self) -> dict[str, float]:
        return {k: v for k, v in self.cleaned_data.items() if v is not None}


class DispatchForm(forms.Form):
    step = forms.SlugField(label=_("Step"), initial="s1", max_length=40)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    text = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 3}))


class ResponseUploadForm(forms.Form):
    file = forms.FileField(
        label=_(
            "Orders and acceptances (CSV, XLSX): campaign_id, subscriber_id, responded_on, revenue"
        )
    )
