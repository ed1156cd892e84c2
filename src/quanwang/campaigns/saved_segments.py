"""Saved segments as people use them: open, edit (each change a new version), copy, delete.

Who may do what comes from the one permission table (core.permissions), read through
`restrict`: a segment's unit and the units above it may change it (Action.CHANGE over its unit),
and the units below may use it in their campaigns and copy it (segments.usable). Deleting an
unused segment takes the same grant as changing it: until a campaign uses it, it is still
work in progress of its unit. A campaign keeps the version it was designed with, so a version
in use is never changed and its segment never deleted.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, QuerySet
from django.utils.translation import gettext as _

from quanwang.campaigns.models import Campaign, Segment, SegmentVersion
from quanwang.campaigns.segments import add_version, newest_snapshot, prepared, usable
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.services.orgs import units_granting

NAME_LENGTH = 100


def visible_segments(user: Any) -> QuerySet[Segment]:
    """The segments `user` may open and use: their units' and those of the units above."""
    return usable(Segment.objects.all(), user).select_related("org_unit", "copied_from__segment")


def usable_versions(user: Any) -> QuerySet[SegmentVersion]:
    """The versions a campaign of `user` may be designed on."""
    return SegmentVersion.objects.filter(segment__in=visible_segments(user)).select_related(
        "segment"
    )


def changeable_segments(user: Any) -> QuerySet[Segment]:
    return Segment.objects.restrict(user, Action.CHANGE)


def can_change(user: Any, segment: Segment) -> bool:
    return changeable_segments(user).filter(pk=segment.pk).exists()


def campaigns_per_version(segment: Segment) -> Counter[int]:
    """How many campaigns were designed on each version (by version id), whoever's they are."""
    return Counter(
        Campaign.objects.filter(segment_version__segment=segment).values_list(
            "segment_version_id", flat=True
        )
    )


def in_use(segment: Segment) -> bool:
    return Campaign.objects.filter(segment_version__segment=segment).exists()


def _name_taken(*, name: str, org_unit: OrgUnit) -> ServiceError:
    return ServiceError(
        _("%(unit)s already has a segment named %(name)s: open it, or choose another name.")
        % {"unit": org_unit.name, "name": name},
        field="name",
    )


def create_segment(
    *, actor: Any, name: str, rule: dict[str, Any], org_unit: OrgUnit, description: str = ""
) -> SegmentVersion:
    """A new segment's first version. The name is the unit's own: a second segment of that name
    is refused, unless it is this very one sent again (same rule), whose version is returned."""
    rule = prepared(rule, user=actor, snapshot=newest_snapshot())
    try:
        with transaction.atomic():
            segment, created = Segment.objects.select_for_update().get_or_create(
                org_unit=org_unit,
                name=name,
                defaults={"description": description, "created_by": actor},
            )
            newest = segment.versions.order_by("-number").first()
            if not created and (newest is None or newest.rule != rule):
                raise _name_taken(name=name, org_unit=org_unit)
            return add_version(segment=segment, rule=rule, actor=actor)
    except IntegrityError:
        # Sent twice at once: the other request created it; answer as a replay would.
        existing = Segment.objects.get(org_unit=org_unit, name=name)
        newest = existing.versions.order_by("-number").first()
        if newest is None or newest.rule != rule:
            raise _name_taken(name=name, org_unit=org_unit) from None
        return newest


def save_version(
    *,
    actor: Any,
    pk: int,
    base: int,
    rule: dict[str, Any],
    name: str,
    description: str = "",
) -> SegmentVersion:
    """Save an edit of segment `pk` opened at version `base`: a new version when the rule
    changed, the newest version when it did not (a form sent twice adds one version). An edit
    of an older version than the newest is refused: someone saved in between."""
    segment = _changeable(actor, pk)
    rule = prepared(rule, user=actor, snapshot=newest_snapshot())
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        newest = segment.versions.order_by("-number").first()
        changed = newest is None or newest.rule != rule
        if changed and newest is not None and newest.number != base:
            raise ServiceError(
                _(
                    "Version %(newest)s of %(name)s was saved after you opened version "
                    "%(base)s: open the segment again and make your change there."
                )
                % {"newest": newest.number, "name": segment.name, "base": base},
                field="rule",
            )
        _rename(segment, name=name, description=description)
        return add_version(segment=segment, rule=rule, actor=actor)


def _rename(segment: Segment, *, name: str, description: str) -> None:
    if (segment.name, segment.description) == (name, description):
        return
    if (
        name != segment.name
        and Segment.objects.filter(org_unit=segment.org_unit, name=name).exists()
    ):
        raise _name_taken(name=name, org_unit=segment.org_unit)
    segment.name, segment.description = name, description
    segment.save(update_fields=["name", "description", "updated_at"])


def _changeable(actor: Any, pk: int) -> Segment:
    """Segment `pk` if `actor` may change it; ServiceError if they only see it (a unit above
    owns it); Segment.DoesNotExist if they do not see it at all."""
    if actor is None:
        return Segment.objects.get(pk=pk)
    found = changeable_segments(actor).filter(pk=pk).first()
    if found is not None:
        return found
    seen = visible_segments(actor).get(pk=pk)
    raise ServiceError(
        _("%(name)s belongs to %(unit)s: copy it to change it.")
        % {"name": seen.name, "unit": seen.org_unit.name}
    )


def _copy_name(name: str, *, org_unit: OrgUnit) -> str:
    taken = set(
        Segment.objects.filter(org_unit=org_unit, name__startswith=name[:40]).values_list(
            "name", flat=True
        )
    )
    base = name[: NAME_LENGTH - 12]
    candidate = _("%(name)s (copy)") % {"name": base}
    number = 2
    while candidate in taken:
        candidate = _("%(name)s (copy %(n)s)") % {"name": base, "n": number}
        number += 1
    return candidate


def copy_segment(*, actor: Any, pk: int, org_unit: OrgUnit) -> Segment:
    """A segment of `org_unit` holding the newest rule of segment `pk` (one the actor sees: their
    own or one from above) as its version 1, to change freely. Sent twice, the untouched copy
    made the first time is returned."""
    source = (Segment.objects.all() if actor is None else visible_segments(actor)).get(pk=pk)
    if (
        actor is not None
        and not units_granting(user=actor, resource=Resource.CAMPAIGN, action=Action.ADD)
        .filter(pk=org_unit.pk)
        .exists()
    ):
        raise ServiceError(_("You may not create segments in %(unit)s.") % {"unit": org_unit.name})
    newest = source.versions.order_by("-number").first()
    if newest is None:
        raise ServiceError(_("%(name)s has no version to copy.") % {"name": source.name})
    with transaction.atomic():
        # An untouched copy of this version already made here by the same person.
        for earlier in Segment.objects.select_for_update().filter(
            org_unit=org_unit, copied_from=newest, created_by=actor
        ):
            versions = list(earlier.versions.all())
            if len(versions) == 1 and versions[0].rule == newest.rule:
                return earlier
        copy = Segment.objects.create(
            org_unit=org_unit,
            name=_copy_name(source.name, org_unit=org_unit),
            description=source.description,
            created_by=actor,
            copied_from=newest,
        )
        add_version(segment=copy, rule=newest.rule, actor=actor)
    return copy


def delete_segment(*, actor: Any, pk: int) -> str:
    """Delete segment `pk` and its versions, while no campaign uses any of them; its name."""
    segment = _changeable(actor, pk)
    refused = ServiceError(
        _(
            "%(name)s is used by a campaign and cannot be deleted; the campaign keeps the "
            "version it was designed with. Copy it to make a new segment."
        )
        % {"name": segment.name}
    )
    try:
        with transaction.atomic():
            locked = Segment.objects.select_for_update().get(pk=segment.pk)
            if in_use(locked):
                raise refused
            locked.delete()
    except ProtectedError:
        # A campaign designed on it in the meantime (Campaign.segment_version is PROTECT).
        raise refused from None
    return segment.name
